from tests.matrix import WorkspacePage

PAGES = {
    "pacing:index": WorkspacePage(post={"enabled": "on", "gap_minutes": "5"}),
    # environment_id comes from tests/tenants/matrix.py (the live environment).
    "pacing:policy": WorkspacePage(post={"enabled": "on", "gap_minutes": "5"}),
}
