"""The checkout's own WSGI application (config.wsgi) for bench/callbacks.py, with two things added and no
app code changed: a no-op view (POST /bench/noop/: through every middleware, answers 204, touches nothing),
the rate the callbacks are measured against; and a count of each call's settlement (campaigns.outcomes.
call_settled, the one place a call's outcome becomes known) in a Redis hash, so the bench can prove each
call was settled exactly once across the server's worker processes."""

import os

import redis
from django.http import HttpResponse
from django.urls import clear_url_caches, path
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from config.wsgi import application as django_application

SETTLED = "bench:callbacks:settled"

_redis = redis.Redis.from_url(os.environ["BENCH_COUNT_REDIS_URL"])


@csrf_exempt
@require_POST
def noop(request):
    return HttpResponse(status=204)


def _count_settlements() -> None:
    from campaigns import outcomes

    settle = outcomes.call_settled

    def counted(*, call_id, attempt_id, outcome, at):
        _redis.hincrby(SETTLED, str(call_id), 1)
        return settle(call_id=call_id, attempt_id=attempt_id, outcome=outcome, at=at)

    outcomes.call_settled = counted  # looked up by name on each call (outcomes._recorded)


def _add_noop() -> None:
    from config import urls

    urls.urlpatterns.append(path("bench/noop/", noop))
    clear_url_caches()


_count_settlements()
_add_noop()
application = django_application
