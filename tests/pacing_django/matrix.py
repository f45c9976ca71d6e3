from tests.matrix import WorkspacePage

POLICY = ("cap", "window_hours")  # also read as GET: the summary follows what is typed

PAGES = {
    "pacing:index": WorkspacePage(post={"enabled": "on", "gap_minutes": "5"}, fields=POLICY),
    # environment_id comes from tests/tenants/matrix.py (the live environment).
    "pacing:policy": WorkspacePage(post={"enabled": "on", "gap_minutes": "5"}, fields=POLICY),
}
