"""Every hx-confirm names its dialog's buttons, so "Cancel" never means both "stop" and "go on".

The confirm dialog (templates/components/confirm.html, askConfirm in static/js/app.js) labels its buttons
from the asking element's data-confirm-ok and data-confirm-cancel; tests/e2e/test_campaigns.py clicks one.
"""

import re
from pathlib import Path

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"
TAG = re.compile(r"<[a-z][^<>]*?\shx-confirm=[^<>]*>", re.S)  # an opening tag carrying hx-confirm


def test_every_hx_confirm_names_both_actions():
    asking = [
        (path.relative_to(TEMPLATES), tag)
        for path in TEMPLATES.rglob("*.html")
        for tag in TAG.findall(path.read_text())
    ]
    assert asking, "no hx-confirm found: the pattern is stale"
    unnamed = [
        f"{path}: {' '.join(tag.split())[:90]}"
        for path, tag in asking
        if 'data-confirm-ok="' not in tag or 'data-confirm-cancel="' not in tag
    ]
    assert not unnamed, "hx-confirm without data-confirm-ok and data-confirm-cancel:\n" + "\n".join(unnamed)
