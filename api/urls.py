"""/api/v1/: the JSON API (api/base.py says how it authenticates and why Django Ninja)."""

from api import agents, bulk_buy, campaigns, connections, donotcall, inventory, jobs, numbers, pacing
from api.base import api

api.add_router("", bulk_buy.router)  # before numbers: /numbers/bulk-buy is not a number
api.add_router("", numbers.router)
api.add_router("", agents.router)
api.add_router("", donotcall.router)
api.add_router("", pacing.router)
api.add_router("", campaigns.router)
api.add_router("", connections.router)
api.add_router("", inventory.router)
api.add_router("", jobs.router)
