"""/api/v1/: the JSON API (api/base.py says how it authenticates and why Django Ninja)."""

from api import numbers
from api.base import api

api.add_router("", numbers.router)
