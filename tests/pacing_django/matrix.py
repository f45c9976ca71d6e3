from tests.matrix import WorkspacePage

POLICY = ("cap", "window_hours")  # also read as GET: the summary follows what is typed
HOURS = ("hours_days", "hours_start", "hours_end")  # calling hours, in the same modal

PAGES = {
    "pacing:index": WorkspacePage(post={"enabled": "on", "gap_minutes": "5"}, fields=POLICY + HOURS),
    # environment_id comes from tests/tenants/matrix.py (the live environment).
    "pacing:policy": WorkspacePage(post={"enabled": "on", "gap_minutes": "5"}, fields=POLICY + HOURS),
}
