"""Another process acting on a sandbox account, as a worker or a restarted web process would. Run by
tests/providers_django/test_sandbox_account.py:

    python -m tests.providers_django.sandbox_process <connection id> owned
    python -m tests.providers_django.sandbox_process <connection id> buy <e164> <barrier dir>

`owned` prints the account's numbers and routing as JSON. `buy` says it is ready (a file in the barrier
directory), waits for the "go" file there so that racing processes buy at the same moment, then prints
"bought" or the provider's refusal.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import django


def main() -> int:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    django.setup()

    from providers.adapters.base import ProviderError
    from providers.models import ProviderConnection
    from providers.services import connection_adapter

    connection_id, action, *args = sys.argv[1:]
    adapter = connection_adapter(ProviderConnection.unscoped.get(pk=connection_id))
    if action == "owned":
        print(json.dumps({n.e164: n.routing.voice_url for n in adapter.list_owned()}))
        return 0
    e164, barrier = args[0], Path(args[1])
    from tests.helpers import wait_until

    (barrier / f"ready-{os.getpid()}").touch()
    wait_until((barrier / "go").exists, every=0.001)
    try:
        adapter.buy(e164, reference=f"process-{os.getpid()}")
    except ProviderError as exc:
        print(f"refused: {exc.code}")
    else:
        print("bought")
    return 0


if __name__ == "__main__":
    sys.exit(main())
