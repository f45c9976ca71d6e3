"""Which API library (api/base.py): the same 50-row numbers list through Django's WSGI handler, Django REST
framework against Django Ninja, in one run (CPU time: the machine is shared). DRF is not a dependency:
`uv pip install djangorestframework` first. Usage: python bench/api_library.py [requests]"""

# ruff: noqa: E402 - Django is configured before the frameworks are imported
import io
import sys
import time

import django
from django.conf import settings

settings.configure(
    DEBUG=False,
    SECRET_KEY="x",
    ALLOWED_HOSTS=["*"],
    ROOT_URLCONF=__name__,
    INSTALLED_APPS=["django.contrib.contenttypes", "django.contrib.auth", "rest_framework", "ninja"],
    MIDDLEWARE=["django.middleware.common.CommonMiddleware"],
    REST_FRAMEWORK={
        "DEFAULT_AUTHENTICATION_CLASSES": [],
        "DEFAULT_PERMISSION_CLASSES": [],
        "UNAUTHENTICATED_USER": None,
        "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    },
)
django.setup()
from django.urls import path
from ninja import NinjaAPI, Schema
from rest_framework import serializers
from rest_framework.decorators import api_view
from rest_framework.response import Response

ROWS = [
    dict(
        id=i,
        e164=f"+1415555{i:04d}",
        state="active",
        environment="live",
        agent="Ava",
        variant=None,
        provider="Twilio",
        managed=False,
        connection="Main",
        tags=["sales", "west"],
        health="healthy",
    )
    for i in range(50)
]


class RowSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    e164 = serializers.CharField()
    state = serializers.CharField()
    environment = serializers.CharField()
    agent = serializers.CharField(allow_null=True)
    variant = serializers.CharField(allow_null=True)
    provider = serializers.CharField()
    managed = serializers.BooleanField()
    connection = serializers.CharField()
    tags = serializers.ListField(child=serializers.CharField())
    health = serializers.CharField()


@api_view(["GET"])
def drf_list(request):
    return Response({"results": RowSerializer(ROWS, many=True).data, "next": None})


class Row(Schema):
    id: int
    e164: str
    state: str
    environment: str
    agent: str | None
    variant: str | None
    provider: str
    managed: bool
    connection: str
    tags: list[str]
    health: str


class Page(Schema):
    results: list[Row]
    next: str | None


api = NinjaAPI()


@api.get("/numbers", response=Page)
def ninja_list(request, q: str = ""):
    return {"results": ROWS, "next": None}


urlpatterns = [path("drf/numbers", drf_list), path("ninja/", api.urls)]

from django.core.handlers.wsgi import WSGIHandler

app = WSGIHandler()


def call(p):
    env = {
        "REQUEST_METHOD": "GET",
        "PATH_INFO": p,
        "QUERY_STRING": "",
        "SERVER_NAME": "t",
        "SERVER_PORT": "80",
        "wsgi.input": io.BytesIO(),
        "wsgi.url_scheme": "http",
        "HTTP_HOST": "t",
    }
    out = []
    body = b"".join(app(env, lambda s, h: out.append(s)))
    assert out[0].startswith("200"), (p, out, body[:300])
    return body


assert len(call("/drf/numbers")) > 1000 and len(call("/ninja/numbers")) > 1000
N = int(sys.argv[1]) if len(sys.argv) > 1 else 2000
rates = {"drf": [], "ninja": []}
for _ in range(5):
    for name, p in (("drf", "/drf/numbers"), ("ninja", "/ninja/numbers")):
        t = time.process_time()
        for _ in range(N // 5):
            call(p)
        rates[name].append((N // 5) / (time.process_time() - t))
best = {k: max(v) for k, v in rates.items()}
print({k: round(v) for k, v in best.items()}, "ninja/drf =", round(best["ninja"] / best["drf"], 2))
