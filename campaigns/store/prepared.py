"""Prepared statements, for the hot path of status callbacks (hundreds a second while a campaign runs):
PostgreSQL spends several times longer planning the call's lookup (a three-table join) and the outcome's
statement than running them, on every callback. Django binds parameters on the client and never prepares
(so connection poolers work); these statements bind on the server and are prepared on their first run on
each connection (psycopg keeps them by connection, and prepares again on a new one). Only these few: one
fixed text each, run again and again. Other databases: Django's own cursor."""

from __future__ import annotations

from functools import cache

from django.db import connection


def prepared_cursor():
    """A Django cursor (its errors, query logging and execute wrappers as any other's) whose statements
    are bound on the server and prepared on the connection."""
    if connection.vendor != "postgresql":
        return connection.cursor()
    connection.close_if_health_check_failed()  # as connection.cursor() does
    connection.ensure_connection()
    with connection.wrap_database_errors:
        raw = _prepared_class()(connection.connection)
    return connection.make_debug_cursor(raw) if connection.queries_logged else connection.make_cursor(raw)


@cache
def _prepared_class():
    from django.db.backends.postgresql.base import ServerBindingCursor  # psycopg's: on PostgreSQL only

    class Prepared(ServerBindingCursor):
        def execute(self, query, params=None, **kwargs):
            return super().execute(query, params, prepare=True)

    return Prepared
