from tests.matrix import WorkspacePage

# Also read as GET: the summary follows what is typed. Four window rows, then the daily cap.
WINDOWS = tuple(f"{field}_{n}" for n in range(1, 5) for field in ("cap", "every", "unit"))
POLICY = (*WINDOWS, "daily_cap")
HOURS = ("hours_days", "hours_start", "hours_end")  # calling hours, in the same modal

PAGES = {
    "pacing:index": WorkspacePage(post={"enabled": "on", "gap_minutes": "5"}, fields=POLICY + HOURS),
    # environment_id comes from tests/tenants/matrix.py (the live environment).
    "pacing:policy": WorkspacePage(post={"enabled": "on", "gap_minutes": "5"}, fields=POLICY + HOURS),
}
