"""The sandbox provider's records in the database: the SandboxStore that connection_adapter() gives a
sandbox adapter, one account per connection.

Why here and not in the adapter: adapters speak the provider contract and stay free of Django (like the
Twilio and Telnyx ones, which keep their state at the provider); this small module is the sandbox's
"provider side", and the database is what every process shares. Each method is one atomic statement or
transaction: a number held twice is refused by the unique constraint, never by a Python lock.
"""

from __future__ import annotations

from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from providers.adapters.base import Routing
from providers.models import SandboxCall as CallRow
from providers.models import SandboxNumber, SandboxOrder
from providers.sandbox.adapter import SandboxCall


class DatabaseStore:
    def __init__(self, connection_id: int):
        self.connection_id = connection_id

    def _numbers(self):
        return SandboxNumber.objects.filter(connection_id=self.connection_id)

    def numbers(self) -> dict[str, Routing]:
        rows = self._numbers().order_by("e164").values_list("e164", "routing")
        return {e164: Routing.from_dict(routing) for e164, routing in rows}

    def number(self, e164: str) -> Routing | None:
        routing = self._numbers().filter(e164=e164).values_list("routing", flat=True).first()
        return None if routing is None else Routing.from_dict(routing)

    def add(self, e164: str, *, reference: str) -> bool:
        try:
            with transaction.atomic():
                SandboxNumber.objects.create(connection_id=self.connection_id, e164=e164)
                SandboxOrder.objects.create(connection_id=self.connection_id, e164=e164, reference=reference)
        except IntegrityError:
            return False
        return True

    def reroute(self, e164: str, routing: Routing) -> Routing | None:
        with transaction.atomic():
            row = self._numbers().select_for_update().filter(e164=e164).first()
            if row is None:
                return None
            previous = Routing.from_dict(row.routing)
            row.routing = routing.as_dict()
            row.save(update_fields=["routing"])
        return previous

    def remove(self, e164: str) -> None:
        self._numbers().filter(e164=e164).delete()

    def ordered(self, reference: str) -> list[str]:
        orders = SandboxOrder.objects.filter(connection_id=self.connection_id, reference=reference)
        return list(orders.order_by("pk").values_list("e164", flat=True))

    def call_to(self, call_id: str) -> str | None:
        rows = CallRow.objects.filter(connection_id=self.connection_id, call_id=call_id)
        return rows.values_list("to_e164", flat=True).first()

    def record_call(self, call: SandboxCall) -> bool:
        # One statement, as campaign workers dial a lot: recorded only if the account holds the caller ID.
        now = connection.ops.adapt_datetimefield_value(timezone.now())
        with connection.cursor() as cursor:
            cursor.execute(
                "INSERT INTO providers_sandboxcall"
                " (connection_id, call_id, from_e164, to_e164, webhook_url, reference, placed_at)"
                " SELECT %s, %s, %s, %s, %s, %s, %s WHERE EXISTS"
                " (SELECT 1 FROM providers_sandboxnumber WHERE connection_id = %s AND e164 = %s)",
                [
                    self.connection_id,
                    call.call_id,
                    call.from_e164,
                    call.to_e164,
                    call.webhook_url,
                    call.reference,
                    now,
                ]
                + [self.connection_id, call.from_e164],
            )
            return cursor.rowcount == 1


def placed_calls(connection) -> list[SandboxCall]:
    """The calls the sandbox placed for this connection, oldest first (the demo and tests read them)."""
    rows = CallRow.objects.filter(connection=connection).order_by("pk")
    return [SandboxCall(r.call_id, r.from_e164, r.to_e164, r.webhook_url, r.reference) for r in rows]
