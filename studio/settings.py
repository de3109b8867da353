"""Settings for Pipeline Studio, read from the environment.

With no variables set, the studio runs on embedded defaults: SQLite and a Celery
broker kept in a SQLite file, both under ``var/``. Production sets ``DEBUG=0``,
``SECRET_KEY``, ``ALLOWED_HOSTS``, ``DATABASE_URL`` and ``CELERY_BROKER_URL``
(see the README for the full list).
"""

import json
import os
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from kombu import Exchange, Queue

BASE_DIR = Path(__file__).resolve().parent.parent
# A relative STUDIO_VAR_DIR is taken from the project folder, wherever the command starts.
VAR_DIR = (BASE_DIR / os.environ.get("STUDIO_VAR_DIR", "var")).resolve()
# Everything the server writes (database and broker files, media, work folders, logs, keys) is
# for its own user and group only: step code runs as another account (STUDIO_STEP_USER) that
# must read none of it. The group is kept so that web and worker containers running as different
# users of one group can share a volume (see the Dockerfile).
os.umask(0o007)
VAR_DIR.mkdir(parents=True, exist_ok=True)

# The SDK's source folder (its own distribution, sdk/): step scripts get it alone as PYTHONPATH,
# so they import `pipelines.sdk` but none of the server's code.
SDK_SRC = BASE_DIR / "sdk" / "src"
# Where the studio keeps the SDK wheel it builds and serves at /sdk/.
SDK_WHEEL_DIR = Path(os.environ.get("STUDIO_SDK_WHEEL_DIR", VAR_DIR / "sdk")).resolve()
# The index /sdk/simple/ sends pip to for the SDK's dependencies it does not hold itself
# (requests, pathspec and theirs; `manage.py build_sdk --dependencies` puts them beside the
# wheel). Empty: such names are 404, for a studio whose users reach nothing else.
SDK_UPSTREAM_INDEX = os.environ.get("STUDIO_SDK_UPSTREAM_INDEX", "https://pypi.org/simple").rstrip(
    "/"
)
# The oldest SDK the API answers; older ones get a 400 naming the version to install.
SDK_MIN_VERSION = "0.1.0"


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: list[str]) -> list[str]:
    value = os.environ.get(name)
    if not value:
        return default
    return [item.strip() for item in value.split(",") if item.strip()]


DEBUG = env_bool("DEBUG", True)

SECRET_KEY = os.environ.get("SECRET_KEY", "")
if not SECRET_KEY and os.environ.get("SECRET_KEY_FILE"):
    # A file holding the key (a container secret; `make run` keeps one under var/).
    SECRET_KEY = Path(os.environ["SECRET_KEY_FILE"]).read_text().strip()
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            "SECRET_KEY is not set. With DEBUG=0 (production) set SECRET_KEY to a long random "
            "string, for example: python -c 'import secrets; print(secrets.token_urlsafe(50))'"
        )
    SECRET_KEY = "django-insecure-embedded-mode-only-never-use-in-production-0123456789"

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]"] if DEBUG else [])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

# The public address of the studio, used in links handed to API callers (RunUrl,
# endpoint URLs). Empty: taken from each request.
STUDIO_BASE_URL = os.environ.get("STUDIO_BASE_URL", "").rstrip("/")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_htmx",
    "template_partials",
    # Serves the API docs page's Swagger UI from ninja's bundled static files, not a CDN.
    "ninja",
    "studio",
    "pipelines",
    "endpoints",
    "schedules",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "studio.middleware.ContentSecurityPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "studio.middleware.RefuseNulMiddleware",
    "studio.middleware.SdkVersionMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "studio.middleware.CurrentWorkspaceMiddleware",
    "studio.middleware.ApiMethodNotAllowedMiddleware",
]

ROOT_URLCONF = "studio.urls"
WSGI_APPLICATION = "studio.wsgi.application"
ASGI_APPLICATION = "studio.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "studio.context_processors.studio",
            ],
        },
    },
]

# --- Database -------------------------------------------------------------
SQLITE_OPTIONS = {
    # Concurrent writers (web + workers) would otherwise hit "database is locked".
    "transaction_mode": "IMMEDIATE",
    "timeout": 20,
    "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
}

DATABASE_URL = os.environ.get("DATABASE_URL", "")
if DATABASE_URL:
    DATABASES = {
        "default": dj_database_url.parse(DATABASE_URL, conn_max_age=60, conn_health_checks=True)
    }
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": VAR_DIR / "db.sqlite3",
        }
    }
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["OPTIONS"] = dict(SQLITE_OPTIONS)
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    # A file, not memory: worker processes started by the tests must see the test database.
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / "test_db.sqlite3")}

# The test worker subprocess (tests/fixtures/worker.py) opens the test database by name.
if os.environ.get("STUDIO_DATABASE_NAME"):
    DATABASES["default"]["NAME"] = os.environ["STUDIO_DATABASE_NAME"]

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Authentication -------------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "endpoints:endpoint_list"
LOGOUT_REDIRECT_URL = "login"

# Microsoft Entra ID sign-in, on when all three are set.
MSAL_CLIENT_ID = os.environ.get("MSAL_CLIENT_ID", "")
MSAL_CLIENT_SECRET = os.environ.get("MSAL_CLIENT_SECRET", "")
MSAL_AUTHORITY = os.environ.get("MSAL_AUTHORITY", "")
# JSON object: {"<entra group id>": {"workspace": "<slug>", "role": "reader|contributor|admin"}}
MSAL_GROUP_ROLES = json.loads(os.environ.get("MSAL_GROUP_ROLES", "{}") or "{}")
# Entra ID access tokens sent to the REST API must be issued for this audience (empty: the
# client id), e.g. "api://<client id>".
MSAL_API_AUDIENCE = os.environ.get("MSAL_API_AUDIENCE", "")
# CA bundle for TLS to the authority (a private provider); empty: the system's trust store.
MSAL_CA_BUNDLE = os.environ.get("MSAL_CA_BUNDLE", "")
# A token signed with an unknown key id refetches the provider's keys, at most this often.
MSAL_KEYS_MIN_REFRESH_SECONDS = int(os.environ.get("MSAL_KEYS_MIN_REFRESH_SECONDS", "60"))

# Sign-in throttling: this many failures for one user name (four times as many for one client
# address, which an office may share) within the window pause sign-in (see studio.signin).
LOGIN_FAILURE_LIMIT = int(os.environ.get("LOGIN_FAILURE_LIMIT", "5"))
LOGIN_FAILURE_WINDOW_SECONDS = int(os.environ.get("LOGIN_FAILURE_WINDOW_SECONDS", "900"))

# --- Internationalisation ---------------------------------------------------
LANGUAGE_CODE = "en-us"
TIME_ZONE = os.environ.get("TIME_ZONE", "UTC")
USE_I18N = False
USE_TZ = True

# --- Static files and storage --------------------------------------------------
STATIC_URL = "static/"
STATIC_ROOT = Path(os.environ.get("STATIC_ROOT", BASE_DIR / "staticfiles"))
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_ROOT = Path(os.environ.get("MEDIA_ROOT", VAR_DIR / "media"))
MEDIA_URL = "media/"

# Snapshots and step outputs go through Django's storage API: local files by default;
# STUDIO_STORAGE_BACKEND (a dotted class) and STUDIO_STORAGE_OPTIONS (JSON) swap in a
# shared store such as an S3-compatible one.
STUDIO_STORAGE_BACKEND = os.environ.get(
    "STUDIO_STORAGE_BACKEND", "django.core.files.storage.FileSystemStorage"
)
STUDIO_STORAGE_OPTIONS = json.loads(os.environ.get("STUDIO_STORAGE_OPTIONS", "{}") or "{}")
if STUDIO_STORAGE_BACKEND.startswith("storages.backends.s3"):
    # django-storages reads an S3 object wholly into memory unless told where to spill it to
    # disk: a large step output must not take a worker's or web process's memory.
    STUDIO_STORAGE_OPTIONS.setdefault("max_memory_size", 8 * 1024 * 1024)
STORAGES = {
    "default": {"BACKEND": STUDIO_STORAGE_BACKEND, "OPTIONS": STUDIO_STORAGE_OPTIONS},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}

# Where workers unpack snapshots (a cache keyed by hash) and run steps.
STUDIO_WORK_DIR = Path(os.environ.get("STUDIO_WORK_DIR", VAR_DIR / "work"))
STUDIO_SNAPSHOT_MAX_BYTES = int(os.environ.get("STUDIO_SNAPSHOT_MAX_BYTES", 50 * 1024 * 1024))
STUDIO_MAX_REQUEST_BYTES = 1024 * 1024
# POST /pipelines carries a graph of up to STUDIO_MAX_STEPS steps (a few hundred bytes each).
STUDIO_MAX_GRAPH_REQUEST_BYTES = 16 * 1024 * 1024
DATA_UPLOAD_MAX_MEMORY_SIZE = STUDIO_SNAPSHOT_MAX_BYTES + 1024 * 1024
# Compute targets a step may name; each is a Celery queue ("-Q gpu" takes only gpu steps).
STUDIO_COMPUTE_TARGETS = env_list("STUDIO_COMPUTE_TARGETS", ["cpu", "gpu"])
STUDIO_DEFAULT_COMPUTE_TARGET = os.environ.get("STUDIO_DEFAULT_COMPUTE_TARGET", "cpu")
# Execution engine: a Running step whose worker has not written a heartbeat for this long
# is retried once, then failed "worker lost" (the reaper runs every STUDIO_SCHEDULER_INTERVAL
# seconds on the beat schedule, see studio/celery.py).
STUDIO_HEARTBEAT_TIMEOUT = float(os.environ.get("STUDIO_HEARTBEAT_TIMEOUT", "60"))
# Every worker's main process writes its WorkerHeartbeat row this often, whether or not it runs
# steps (pipelines/worker_heartbeat.py); /metrics reports a worker unseen for 3 intervals stale.
STUDIO_WORKER_HEARTBEAT_INTERVAL = float(os.environ.get("STUDIO_WORKER_HEARTBEAT_INTERVAL", "15"))
# A step Queued this long at the head of its queue is sent again (its message may have been
# lost with a web process or a worker); duplicates are no-ops. With the dispatcher's interval
# a lost message waits at most about 25 s.
STUDIO_QUEUED_RESEND_SECONDS = float(os.environ.get("STUDIO_QUEUED_RESEND_SECONDS", "15"))
# GET /metrics (Prometheus text) for operators: off unless enabled; with a token, scrapers
# send "Authorization: Bearer <token>", without one only clients on this machine are answered.
STUDIO_METRICS_ENABLED = env_bool("STUDIO_METRICS_ENABLED", False)
STUDIO_METRICS_TOKEN = os.environ.get("STUDIO_METRICS_TOKEN", "")
STUDIO_MAX_LOG_BYTES = int(os.environ.get("STUDIO_MAX_LOG_BYTES", 5 * 1024 * 1024))
# Most steps a pipeline's graph may hold (a submit over it is refused with a 400 naming it).
STUDIO_MAX_STEPS = int(os.environ.get("STUDIO_MAX_STEPS", "10000"))
# Seconds between beat's passes: dispatcher, reaper and due schedules (studio/celery.py reads
# the same variable to build the beat schedule).
STUDIO_SCHEDULER_INTERVAL = float(os.environ.get("STUDIO_SCHEDULER_INTERVAL", "10"))
# Step isolation (see the README's "Security model"). Steps run as this account when the
# worker is root; empty: as the worker's own user (the worker warns loudly at start).
STUDIO_STEP_USER = os.environ.get("STUDIO_STEP_USER", "studio-step")
# "bwrap": each step in its own bubblewrap sandbox (mount, pid, ipc namespaces) that sees only
# its work folder, the Python installation and a few files of /etc; empty: no sandbox.
STUDIO_STEP_SANDBOX = os.environ.get("STUDIO_STEP_SANDBOX", "").strip().lower()
if STUDIO_STEP_SANDBOX not in ("", "bwrap"):
    raise ImproperlyConfigured(
        f"STUDIO_STEP_SANDBOX={STUDIO_STEP_SANDBOX!r}: use 'bwrap' or leave it empty."
    )
# The address steps use to reach the studio's execution API (metrics) with their run token.
STUDIO_STEP_API_URL = (os.environ.get("STUDIO_STEP_API_URL") or STUDIO_BASE_URL).rstrip("/")

# --- Celery -----------------------------------------------------------------
# An empty variable counts as unset, like DATABASE_URL.
CELERY_BROKER_URL = (
    os.environ.get("CELERY_BROKER_URL") or f"sqla+sqlite:///{VAR_DIR / 'broker.sqlite3'}"
)
CELERY_TASK_IGNORE_RESULT = True
CELERY_RESULT_BACKEND = None
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_DEFAULT_QUEUE = "studio"
# Declared, so that `celery -A studio worker` without -Q consumes the control queue and every
# compute target; a worker started with -Q still takes only the queues it names.
CELERY_TASK_QUEUES = [
    Queue(name, Exchange(name), routing_key=name)
    for name in dict.fromkeys([CELERY_TASK_DEFAULT_QUEUE, *STUDIO_COMPUTE_TARGETS])
]
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BROKER_CONNECTION_TIMEOUT = 3
# kombu's SQLAlchemy transport hands its options to create_engine, which refuses unknown ones.
CELERY_BROKER_TRANSPORT_OPTIONS = (
    {} if CELERY_BROKER_URL.startswith("sqla+") else {"visibility_timeout": 3600}
)
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")

# --- Security (production) ----------------------------------------------------
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
# Scripts, styles and everything else from the studio itself only: no inline script or
# style, no eval, no plugin, no framing (see studio.middleware). Empty: no header.
CONTENT_SECURITY_POLICY = os.environ.get(
    "CONTENT_SECURITY_POLICY",
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'self'; "
    "form-action 'self'; frame-ancestors 'none'",
)
if not DEBUG:
    SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", True)
    CSRF_COOKIE_SECURE = env_bool("CSRF_COOKIE_SECURE", True)
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
    SECURE_HSTS_SECONDS = int(os.environ.get("SECURE_HSTS_SECONDS", 31536000))
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", True)
    SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", True)
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    # The health check is plain HTTP from the load balancer, metrics from a local scraper.
    SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^metrics$"]

# Sign-in throttling counts failures in the "signin" cache, which every web process must
# share: Redis with CACHE_URL, otherwise a table of the database (created by studio's
# migrations), which needs no server. The default cache (submit counters for /metrics) stays
# in memory without CACHE_URL, so the submit path does not write the database cache.
CACHE_TABLE = "studio_cache"
_REDIS_CACHE = {
    "BACKEND": "django.core.cache.backends.redis.RedisCache",
    "LOCATION": os.environ.get("CACHE_URL", ""),
}
CACHES = {
    "default": (
        _REDIS_CACHE
        if os.environ.get("CACHE_URL")
        else {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
    ),
    "signin": (
        _REDIS_CACHE
        if os.environ.get("CACHE_URL")
        else {"BACKEND": "django.core.cache.backends.db.DatabaseCache", "LOCATION": CACHE_TABLE}
    ),
}

# LOG_FORMAT=json: one JSON object per line; Celery then keeps this configuration instead
# of installing its own format.
LOG_FORMAT = os.environ.get("LOG_FORMAT", "plain").strip().lower()
if LOG_FORMAT not in ("plain", "json"):
    raise ImproperlyConfigured(f"LOG_FORMAT must be plain or json, not {LOG_FORMAT!r}.")
CELERY_WORKER_HIJACK_ROOT_LOGGER = LOG_FORMAT != "json"
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
        "json": {"()": "studio.log_format.JsonFormatter"},
    },
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": LOG_FORMAT}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}
