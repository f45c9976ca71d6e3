from phone_numbers.tags import tags_get_or_create
from tests.matrix import WorkspacePage

# Also read as GET: the summary follows what is typed. Four window rows, then the daily cap and the
# human cadence (random extra wait, warm-up ramp).
WINDOWS = tuple(f"{field}_{n}" for n in range(1, 5) for field in ("cap", "every", "unit"))
POLICY = (*WINDOWS, "daily_cap", "jitter_seconds", "ramp")
HOURS = ("hours_days", "hours_start", "hours_end")  # calling hours, in the same modal

PAGES = {
    "pacing:index": WorkspacePage(post={"enabled": "on", "gap_minutes": "5"}, fields=POLICY + HOURS),
    # environment_id comes from tests/tenants/matrix.py (the live environment).
    "pacing:policy": WorkspacePage(post={"enabled": "on", "gap_minutes": "5"}, fields=POLICY + HOURS),
    # A tag's own pacing (tag_name: below); "remove" drops it.
    "pacing:tag_index": WorkspacePage(post={"gap_minutes": "5"}, fields=(*POLICY, "remove")),
    "pacing:tag": WorkspacePage(post={"gap_minutes": "5"}, fields=(*POLICY, "remove")),
}


def values(workspace):
    tags_get_or_create(["outbound"])  # the campaigns' matrix tags its caller ID so too
    return {"tag_name": "outbound"}
