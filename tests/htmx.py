"""What tests read from htmx answers."""

import json


def written(response) -> list[str]:
    """The messages of a successful htmx write (tenants/http.py: finish); fails on any other answer."""
    assert response.status_code == 204, (response.status_code, response.content.decode()[:2000])
    triggers = json.loads(response.headers["HX-Trigger"])
    assert "written" in triggers, triggers
    return [toast["message"] for toast in triggers.get("toast", [])]
