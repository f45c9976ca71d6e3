"""Dialtone settings: one module, every deploy-specific value from the environment (12-factor).

Defaults are the embedded one-command run (SQLite file, local Redis); production sets the
variables listed in the README and `manage.py check --deploy --fail-level WARNING` passes.
"""

import json
import os
from pathlib import Path
from urllib.parse import urlsplit

import dj_database_url
from django.utils.csp import CSP
from kombu import Exchange, Queue

BASE_DIR = Path(__file__).resolve().parent.parent
RUN_DIR = Path(os.environ.get("DIALTONE_RUN_DIR", BASE_DIR / "var"))


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


DEBUG = env_bool("DEBUG")
# The fallback is deliberately "insecure"-prefixed so `check --deploy` flags a missing SECRET_KEY.
SECRET_KEY = os.environ.get("SECRET_KEY") or "django-insecure-dialtone-local-development-only"
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "tenants.apps.DialtoneAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_htmx",
    "tenants.apps.TenantsConfig",
    "providers.apps.ProvidersConfig",
    "phone_numbers.apps.PhoneNumbersConfig",
    "agents.apps.AgentsConfig",
    "pacing.apps.PacingConfig",
    "campaigns.apps.CampaignsConfig",
    "voice.apps.VoiceConfig",
    "demo.apps.DemoConfig",
    "health.apps.HealthConfig",
    "events.apps.EventsConfig",
]

MIDDLEWARE = [
    "config.middleware.HookRequests",  # /hooks/: HOOK_MIDDLEWARE instead of what follows
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "tenants.middleware.NoStoreWhenSignedIn",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "tenants.middleware.WorkspaceMiddleware",
    "tenants.middleware.HtmxMessagesMiddleware",
]

# Providers' signed POSTs (/hooks/) need none of a browser's session, sign-in, messages, CSRF or htmx: their
# own short chain, the security headers and an empty tenant scope kept (config/middleware.py).
HOOK_MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "tenants.middleware.WorkspaceMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.csp",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "tenants.context_processors.workspace",
            ],
        },
    },
]

# --- Data stores ---------------------------------------------------------------------------
DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL") or f"sqlite:///{RUN_DIR / 'dialtone.sqlite3'}",
        conn_max_age=int(os.environ.get("DATABASE_CONN_MAX_AGE", "60")),
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # The demo runs web, worker and beat against one file: wait for locks instead of failing.
    DATABASES["default"]["OPTIONS"] = {"timeout": 20, "transaction_mode": "IMMEDIATE"}
    DATABASES["default"]["CONN_MAX_AGE"] = 0
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/0"


def kombu_url(redis_url: str) -> str:
    """Kombu spells a unix-socket Redis `redis+socket://`, redis-py spells it `unix://`."""
    if redis_url.startswith("unix://"):
        return "redis+socket://" + redis_url.removeprefix("unix://")
    return redis_url


CACHES = {
    "default": {
        "BACKEND": "config.cache.RedisCache",  # one client per pool (config/cache.py)
        "LOCATION": REDIS_URL,
        "KEY_PREFIX": os.environ.get("CACHE_KEY_PREFIX", "dialtone"),
    }
}

# --- Celery (config/celery.py reads every CELERY_* name) -------------------------------------
CELERY_BROKER_URL = kombu_url(REDIS_URL)
CELERY_RESULT_BACKEND = None
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
# A task is acknowledged after it ran, and a killed worker's task goes back to the queue.
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600}
CELERY_TASK_ALWAYS_EAGER = False
# Celery's Django fixup closes the database connection before and after every task unless this is set:
# a new PostgreSQL connection per dial cost more than the dial's own statements (bench/campaign.py). Tasks
# reuse it as requests do instead: config/celery.py closes it when broken or older than CONN_MAX_AGE.
CELERY_DB_REUSE_MAX = 10**9
# Three queues, each consumed by workers of their own (docker-compose.yml and the Procfile). `celery`: dial
# tasks and every other short task. `dispatch`: the campaign dispatcher's ticks, so a tick never holds a
# process the dials need. `maintenance`: periodic work over whole accounts (MAINTENANCE_TASKS), on one
# process that is replaced when it grows: what such a task briefly holds (every number of an account) would
# otherwise stay resident in the dial worker's threads' malloc arenas, growing it over a long campaign.
# A worker started without -Q consumes all three (tests, one-off runs).
MAINTENANCE_TASKS = (
    "numbers.reconcile",
    "health.sweep",
    "numbers.refresh_reputation",
    "numbers.release_held",
)
CELERY_TASK_DEFAULT_QUEUE = "celery"
CELERY_TASK_QUEUES = (
    Queue("celery", Exchange("celery"), routing_key="celery"),
    Queue("dispatch", Exchange("dispatch"), routing_key="dispatch"),
    Queue("maintenance", Exchange("maintenance"), routing_key="maintenance"),
)
CELERY_TASK_ROUTES = {
    "campaigns.dispatch": {"queue": "dispatch"},
    **{name: {"queue": "maintenance"} for name in MAINTENANCE_TASKS},
}
CELERY_BEAT_SCHEDULE = {
    "heartbeat": {"task": "tenants.heartbeat", "schedule": 15.0},
    "reconcile-numbers": {"task": "numbers.reconcile", "schedule": 300.0},
    # Due numbers only (each workspace's schedule, off by default): hourly is a day's period to the hour.
    "refresh-reputation": {
        "task": "numbers.refresh_reputation",
        "schedule": 3600.0,
        "options": {"expires": 3600},
    },
    # Deleted numbers whose hold has ended are released within this of the hour the page showed.
    "release-held-numbers": {"task": "numbers.release_held", "schedule": 300.0, "options": {"expires": 300}},
    # Campaigns: claim caller IDs for due calls; a tick that waited in the queue is dropped, not run late.
    "campaigns-dispatch": {"task": "campaigns.dispatch", "schedule": 1.0, "options": {"expires": 2}},
}
# Outbound events (events/): sends are queued as their event commits; retries that came due every 30 s.
CELERY_BEAT_SCHEDULE["events-retry"] = {
    "task": "events.retry_due",
    "schedule": 30.0,
    "options": {"expires": 30},
}
# Hosts an endpoint may name though they are private (and over plain http): local receivers only.
EVENTS_PRIVATE_HOSTS = env_list("EVENTS_PRIVATE_HOSTS")
EVENTS_TIMEOUTS_S = (3.0, 10.0)  # to connect, then for each read of the answer
CELERY_TIMEZONE = "UTC"

# --- Pacing and campaigns ---------------------------------------------------------------------
# The pacer's Redis (pacing state only, rebuilt from PostgreSQL after a loss); the app's by default.
PACER_REDIS_URL = os.environ.get("PACER_REDIS_URL") or REDIS_URL
# A reserved call's dial reaches the provider within this many seconds of its claim (connecting and the
# request's exchange bounded by what is left) or is not sent; claims are spaced this much more than the
# policy, so dials still keep the policy at the provider (pacing/services.py: pacer_policy).
# The campaign engine's store (campaigns/store/): "postgresql" or "orm"; empty: the database's own.
CAMPAIGN_STORE = os.environ.get("CAMPAIGN_STORE", "")
CAMPAIGN_DIAL_DEADLINE_S = int(os.environ.get("CAMPAIGN_DIAL_DEADLINE_S", "2"))
CAMPAIGN_DISPATCH_BUDGET_S = float(os.environ.get("CAMPAIGN_DISPATCH_BUDGET_S", "0.8"))
CAMPAIGN_DISPATCH_BATCH = int(os.environ.get("CAMPAIGN_DISPATCH_BATCH", "100"))
# A dispatcher batch goes to the dial workers in tasks of CAMPAIGN_DIAL_CHUNK calls, each taken in one
# statement and dialed at once on one of the worker process's CAMPAIGN_DIAL_THREADS (campaigns/dial.py).
CAMPAIGN_DIAL_CHUNK = int(os.environ.get("CAMPAIGN_DIAL_CHUNK", "16"))
CAMPAIGN_DIAL_THREADS = int(os.environ.get("CAMPAIGN_DIAL_THREADS", "64"))
# Calls claimed ahead of the dial workers (reserved, not yet taken) at most. The dispatcher keeps fewer:
# what the workers take in a quarter of CAMPAIGN_DIAL_DEADLINE_S, measured (campaigns/dispatch.py: _feed),
# since a claim taken after the deadline is wasted and still paces its number.
CAMPAIGN_MAX_IN_FLIGHT = int(os.environ.get("CAMPAIGN_MAX_IN_FLIGHT", "500"))
CAMPAIGN_POOL_SYNC_S = int(os.environ.get("CAMPAIGN_POOL_SYNC_S", "15"))
# A reserved call whose dial task never ran (worker killed, queue lost) goes back after this long.
CAMPAIGN_RESERVED_TIMEOUT_S = int(os.environ.get("CAMPAIGN_RESERVED_TIMEOUT_S", "15"))
# A call left dialing this long is reconciled with the provider (longer than any provider request).
CAMPAIGN_DIALING_TIMEOUT_S = int(os.environ.get("CAMPAIGN_DIALING_TIMEOUT_S", "60"))
# A provider that can't tell yet (or can't be reached) is asked again this often, for this long after
# the dial; then the call is left for a person to review.
CAMPAIGN_RECONCILE_EVERY_S = int(os.environ.get("CAMPAIGN_RECONCILE_EVERY_S", "30"))
CAMPAIGN_RECONCILE_FOR_S = int(os.environ.get("CAMPAIGN_RECONCILE_FOR_S", "1800"))
# A placed call whose status callback brought no final status this long after its dial is asked about at
# its provider (every CAMPAIGN_RECONCILE_EVERY_S), for this long; then its outcome is left unknown.
CAMPAIGN_OUTCOME_WAIT_S = int(os.environ.get("CAMPAIGN_OUTCOME_WAIT_S", "600"))
CAMPAIGN_OUTCOME_FOR_S = int(os.environ.get("CAMPAIGN_OUTCOME_FOR_S", "14400"))
# Asking providers is a task of its own on the `celery` queue, never the dispatcher's tick: a provider that
# is slow or down must not hold up dispatch for every workspace. A run that waited a whole period is dropped.
CELERY_BEAT_SCHEDULE["campaigns-reconcile"] = {
    "task": "campaigns.reconcile",
    "schedule": float(CAMPAIGN_RECONCILE_EVERY_S),
    "options": {"expires": CAMPAIGN_RECONCILE_EVERY_S},
}
CAMPAIGN_RATE_LIMITED_PAUSE_S = float(os.environ.get("CAMPAIGN_RATE_LIMITED_PAUSE_S", "1"))

# --- Number health (health/; README "Number health") ---------------------------------------------
# Each threshold is a default for every environment; HEALTH_ENVIRONMENTS overrides any of them per
# environment kind, as JSON: {"sandbox": {"min_calls": 5}, "live": {"at_risk_ratio": 0.4}}.
HEALTH = {
    "last_calls": int(os.environ.get("HEALTH_LAST_CALLS", "200")),
    "min_calls": int(os.environ.get("HEALTH_MIN_CALLS", "30")),
    "watch_ratio": float(os.environ.get("HEALTH_WATCH_RATIO", "0.75")),
    "at_risk_ratio": float(os.environ.get("HEALTH_AT_RISK_RATIO", "0.5")),
    "answer_floor": float(os.environ.get("HEALTH_ANSWER_FLOOR", "0.05")),
    "short_watch": float(os.environ.get("HEALTH_SHORT_WATCH", "0.4")),
    "short_at_risk": float(os.environ.get("HEALTH_SHORT_AT_RISK", "0.6")),
    "failed_at_risk": float(os.environ.get("HEALTH_FAILED_AT_RISK", "0.5")),
    "rest_s": int(os.environ.get("HEALTH_REST_S", str(48 * 3600))),
    "rest_max_share": float(os.environ.get("HEALTH_REST_MAX_SHARE", "0.25")),
    "return_ramp": [int(c) for c in env_list("HEALTH_RETURN_RAMP", "10,20,40")],
    "retire_after": int(os.environ.get("HEALTH_RETIRE_AFTER", "3")),
}
HEALTH_ENVIRONMENTS = json.loads(os.environ.get("HEALTH_ENVIRONMENTS") or "{}")
HEALTH_EVERY_S = int(os.environ.get("HEALTH_EVERY_S", "300"))
# On the maintenance queue (its own worker): a slow sweep never holds up dials or dispatch.
CELERY_BEAT_SCHEDULE["health-sweep"] = {
    "task": "health.sweep",
    "schedule": float(HEALTH_EVERY_S),
    "options": {"expires": HEALTH_EVERY_S},
}

# --- Auth and sessions -----------------------------------------------------------------------
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# Sign-in throttling (tenants/signin.py): after the free attempts for one username from one address, or
# for any usernames from one address, each further attempt waits a delay that doubles up to the cap.
LOGIN_THROTTLE_FREE_ATTEMPTS = int(os.environ.get("LOGIN_THROTTLE_FREE_ATTEMPTS", "5"))
LOGIN_THROTTLE_ADDRESS_FREE_ATTEMPTS = int(os.environ.get("LOGIN_THROTTLE_ADDRESS_FREE_ATTEMPTS", "30"))
LOGIN_THROTTLE_DELAY_SECONDS = int(os.environ.get("LOGIN_THROTTLE_DELAY_SECONDS", "10"))
LOGIN_THROTTLE_MAX_DELAY_SECONDS = int(os.environ.get("LOGIN_THROTTLE_MAX_DELAY_SECONDS", "900"))
# Attempts are forgotten after this long without another one (at least the cap).
LOGIN_THROTTLE_FORGET_SECONDS = int(os.environ.get("LOGIN_THROTTLE_FORGET_SECONDS", "86400"))
SESSION_COOKIE_AGE = 60 * 60 * 12
# Sessions read from Redis, written through to the database: one less query on every page.
SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"

# --- Email (invitations) -----------------------------------------------------------------------
# Sent through EMAIL_HOST. `make run` (DEBUG, no EMAIL_HOST) prints them to the console instead; without
# a reachable server, sending fails and the inviter is told to pass the link on by hand.
if DEBUG and not os.environ.get("EMAIL_HOST"):
    MAILERS = {"default": {"BACKEND": "django.core.mail.backends.console.EmailBackend"}}
else:
    MAILERS = {
        "default": {
            "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "OPTIONS": {
                "host": os.environ.get("EMAIL_HOST", "localhost"),
                "port": int(os.environ.get("EMAIL_PORT", "587")),
                "username": os.environ.get("EMAIL_HOST_USER", ""),
                "password": os.environ.get("EMAIL_HOST_PASSWORD", ""),
                "use_tls": env_bool("EMAIL_USE_TLS", True),
                "timeout": 10,
            },
        }
    }
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "Dialtone <no-reply@dialtone.dev>")

# --- Security --------------------------------------------------------------------------------
# HTTPS=true in production turns on every transport-security setting at once.
HTTPS = env_bool("HTTPS")
SECURE_SSL_REDIRECT = HTTPS
SESSION_COOKIE_SECURE = HTTPS
CSRF_COOKIE_SECURE = HTTPS
SECURE_HSTS_SECONDS = int(os.environ.get("SECURE_HSTS_SECONDS", "31536000" if HTTPS else "0"))
SECURE_HSTS_INCLUDE_SUBDOMAINS = HTTPS
SECURE_HSTS_PRELOAD = HTTPS
# Behind one proxy, its X-Forwarded-Proto and the address it saw (the last X-Forwarded-For hop) are trusted.
BEHIND_PROXY = env_bool("BEHIND_PROXY")
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if BEHIND_PROXY else None
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
DATA_UPLOAD_MAX_MEMORY_SIZE = int(os.environ.get("DATA_UPLOAD_MAX_MEMORY_SIZE", str(2 * 1024 * 1024)))
FILE_UPLOAD_MAX_MEMORY_SIZE = DATA_UPLOAD_MAX_MEMORY_SIZE  # a larger file waits in a temporary file
# Destination CSVs stop at 5 MB while they stream in, before the rest is read (campaigns/uploads.py).
FILE_UPLOAD_HANDLERS = [
    "campaigns.uploads.CappedUploadHandler",
    "django.core.files.uploadhandler.MemoryFileUploadHandler",
    "django.core.files.uploadhandler.TemporaryFileUploadHandler",
]
DATA_UPLOAD_MAX_NUMBER_FIELDS = 1000

# Strict CSP: scripts only from our origin or with this response's nonce; no inline styles.
SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF, CSP.NONCE],
    "style-src": [CSP.SELF],
    "img-src": [CSP.SELF, "data:"],
    "font-src": [CSP.SELF],
    "connect-src": [CSP.SELF],
    "object-src": [CSP.NONE],
    "base-uri": [CSP.NONE],
    "form-action": [CSP.SELF],
    "frame-ancestors": [CSP.NONE],
}

# Field encryption keys: "id:fernet-key" pairs, comma separated, newest first (rotation adds a key in front).
# Without them, a development key so the demo and the tests run with no setup. It is in the repository, so
# `check --deploy` fails on it (providers/checks.py), as it flags the insecure SECRET_KEY.
DEVELOPMENT_FIELD_ENCRYPTION_KEYS = "dev:2Xjr4y0dX2QWmmq5yAwQ5mmx7o4gyP1v3Gk6yq8GQnA="
FIELD_ENCRYPTION_KEYS = os.environ.get("FIELD_ENCRYPTION_KEYS") or DEVELOPMENT_FIELD_ENCRYPTION_KEYS

# --- Static files ----------------------------------------------------------------------------
STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = Path(os.environ.get("STATIC_ROOT", BASE_DIR / "staticfiles"))
# Production images run collectstatic and set STATIC_MANIFEST=true (hashed, compressed files).
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if env_bool("STATIC_MANIFEST")
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}
WHITENOISE_USE_FINDERS = DEBUG

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = False
USE_TZ = True

# --- Logging: secrets never reach a log line (providers add their own redaction filter) -------
# Periodic tasks whose every run would otherwise log three lines (beat's send, the worker's receipt and result).
TICK_TASKS = sorted({entry["task"] for entry in CELERY_BEAT_SCHEDULE.values() if entry["schedule"] < 60})
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {
        "redact_secrets": {"()": "providers.logging.RedactSecretsFilter"},
        "one_line_per_refusal": {"()": "config.logging.OneLinePerRefusal"},
        "quiet_ticks": {"()": "config.logging.QuietTicks", "tasks": TICK_TASKS},
    },
    "handlers": {
        "console": {"class": "logging.StreamHandler", "filters": ["redact_secrets", "one_line_per_refusal"]}
    },
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    "loggers": {
        # Django's own console handler (DEBUG only) would print every django.* record a second time.
        "django": {"level": "INFO"},
        "celery.beat": {"filters": ["quiet_ticks"]},
        "celery.worker.strategy": {"filters": ["quiet_ticks"]},
        "celery.app.trace": {"filters": ["quiet_ticks"]},
        "django.db.backends": {"level": "INFO"},
        # The SDKs log whole HTTP exchanges at DEBUG; keep them quiet even when LOG_LEVEL=DEBUG.
        "twilio.http_client": {"level": "WARNING"},
        "telnyx": {"level": "WARNING"},
        "httpx": {"level": "WARNING"},
    },
}

# Provider API base URLs: empty means the real API. Tests, browser tests and staging point the real
# SDKs at local servers that speak the providers' wire formats.
PROVIDER_BASE_URLS = {
    "twilio": os.environ.get("TWILIO_API_BASE_URL") or None,
    "telnyx": os.environ.get("TELNYX_API_BASE_URL") or None,
}
PROVIDER_TIMEOUT = float(os.environ.get("PROVIDER_TIMEOUT", "10"))
# Checking credentials while a person waits: the whole check, retries included, gives up after this.
PROVIDER_VERIFY_DEADLINE_S = float(os.environ.get("PROVIDER_VERIFY_DEADLINE_S", "5"))

# Public base URL of this deployment, used in provider webhooks.
# Requests per minute each API key may make (tenants/api_keys.py); past it the API answers 429.
API_RATE_PER_MINUTE = 600

PUBLIC_BASE_URL = os.environ.get("PUBLIC_BASE_URL", "http://localhost:8000")
if urlsplit(PUBLIC_BASE_URL).scheme not in {"http", "https"}:
    raise ValueError("PUBLIC_BASE_URL must start with http:// or https://")
