"""Django settings for Ärendeflöde, read from the environment with safe production defaults.

DEBUG is off unless asked for; without DEBUG a SECRET_KEY must be given. The database is
PostgreSQL when DATABASE_URL is set and SQLite otherwise.
"""

from __future__ import annotations

import json
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

from routing import env

BASE_DIR = Path(__file__).resolve().parent.parent

DEBUG = env.boolean("DEBUG", False)
SECRET_KEY = env.string("SECRET_KEY", "")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is off.")
    SECRET_KEY = "insecure-development-key-do-not-use-in-production"
ALLOWED_HOSTS = env.string_list("ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.string_list("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "routing.intake",
    "routing.learning",
    "routing.triage",
]

MIDDLEWARE = [
    "routing.health.HealthCheckMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "routing.intake.middleware.BodySizeLimitMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "routing.urls"
WSGI_APPLICATION = "routing.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

DATABASES = {
    "default": dj_database_url.parse(
        env.string("DATABASE_URL", f"sqlite:///{BASE_DIR / 'db.sqlite3'}"),
        conn_max_age=env.integer("DATABASE_CONN_MAX_AGE", 60),
    )
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# Swedish first; English can follow through the same i18n catalogues.
LANGUAGE_CODE = "sv"
LANGUAGES = [("sv", _("Svenska")), ("en", _("Engelska"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = env.string("TIME_ZONE", "Europe/Stockholm")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = Path(env.string("STATIC_ROOT", str(BASE_DIR / "staticfiles")))

STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if not DEBUG
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "triage:queue"
LOGOUT_REDIRECT_URL = "intake:start"
# Reports whose routing confidence is below this go to "Behöver granskning".
REVIEW_CONFIDENCE_THRESHOLD = float(env.string("REVIEW_CONFIDENCE_THRESHOLD", "0.6"))
QUEUE_PAGE_SIZE = env.integer("QUEUE_PAGE_SIZE", 50)

REDIS_URL = env.string("REDIS_URL", "redis://127.0.0.1:6379/0")
# CACHE_BACKEND=locmem runs without Redis (a local trial); production uses Redis.
CACHE_BACKEND = env.string("CACHE_BACKEND", "redis")
if CACHE_BACKEND not in {"redis", "locmem"}:
    raise ImproperlyConfigured("CACHE_BACKEND must be redis or locmem.")
CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": REDIS_URL,
        # A Redis outage must not take the intake down: give up fast (the callers fail open).
        "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1},
    }
    if CACHE_BACKEND == "redis"
    else {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
}

# Celery: Redis as broker; late acks so a crashed worker's task is delivered again.
CELERY_BROKER_URL = env.string("CELERY_BROKER_URL", REDIS_URL)
CELERY_RESULT_BACKEND = None
CELERY_TASK_ALWAYS_EAGER = env.boolean("CELERY_TASK_ALWAYS_EAGER", False)
CELERY_TASK_EAGER_PROPAGATES = False
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_DEFAULT_QUEUE = "intake"
# Inference runs on its own queue so that a GPU worker can serve it alone.
CELERY_TASK_ROUTES = {
    "routing.learning.tasks.route_report": {"queue": "inference"},
    # Shadow mode has its own queue: a worker serving both takes turns between them, so a
    # backlog of shadow predictions never sits in front of routing.
    "routing.learning.tasks.shadow_predict": {"queue": "shadow"},
    "routing.learning.tasks.train_model": {"queue": "training"},
    "routing.learning.tasks.compare_versions": {"queue": "training"},
}
# Publishing must not hang a web request when Redis is down: the report is already saved
# and the sweeper enqueues it later.
CELERY_BROKER_CONNECTION_TIMEOUT = 2
CELERY_BROKER_TRANSPORT_OPTIONS = {"socket_connect_timeout": 2, "socket_timeout": 5}
CELERY_TASK_PUBLISH_RETRY_POLICY = {"max_retries": 1, "interval_start": 0, "interval_step": 0.5}
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BEAT_SCHEDULE = {
    "sweep-unrouted-reports": {
        "task": "routing.intake.tasks.sweep_unrouted",
        "schedule": env.integer("SWEEP_INTERVAL_SECONDS", 60),
    },
    "fail-stale-training-runs": {
        "task": "routing.learning.tasks.fail_stale_training_runs",
        "schedule": 600,
    },
    "poll-imap": {
        "task": "routing.intake.tasks.poll_imap",
        "schedule": env.integer("IMAP_POLL_SECONDS", 120),
    },
}
# Scheduled retraining: a crontab ("minute hour day-of-month month day-of-week", e.g.
# "0 2 * * 0" for Sundays at 02:00; empty turns it off). At that time beat starts a run of
# RETRAIN_KIND, but only if at least RETRAIN_MIN_NEW_LABELS reports were labelled since the
# newest version's training data was cut.
RETRAIN_SCHEDULE = env.string("RETRAIN_SCHEDULE", "0 2 * * 0")
RETRAIN_MIN_NEW_LABELS = env.integer("RETRAIN_MIN_NEW_LABELS", 200)
RETRAIN_KIND = env.string("RETRAIN_KIND", "both")
if RETRAIN_KIND not in {"baseline", "transformer", "both"}:
    raise ImproperlyConfigured("RETRAIN_KIND must be baseline, transformer or both.")
if RETRAIN_SCHEDULE.strip():
    from celery.schedules import crontab

    try:
        _minute, _hour, _day, _month, _weekday = RETRAIN_SCHEDULE.split()
        _retrain_crontab = crontab(
            minute=_minute,
            hour=_hour,
            day_of_month=_day,
            month_of_year=_month,
            day_of_week=_weekday,
        )
    except ValueError as exc:
        raise ImproperlyConfigured(
            f"RETRAIN_SCHEDULE must be a crontab of five fields: {exc}"
        ) from None
    CELERY_BEAT_SCHEDULE["retrain-on-new-labels"] = {
        "task": "routing.learning.tasks.retrain_if_enough_labels",
        "schedule": _retrain_crontab,
    }
# Automatic activation: a new version is activated without an admin when it beats the active
# one by at least this margin on every primary metric of the test split (and, given at least
# AUTO_ACTIVATE_MIN_LABELS held-out labelled reports, is not worse on them). Empty: off.
_margin = env.string("AUTO_ACTIVATE_MARGIN", "").strip()
try:
    AUTO_ACTIVATE_MARGIN = float(_margin) if _margin else None
except ValueError:
    raise ImproperlyConfigured(f"AUTO_ACTIVATE_MARGIN must be a number: {_margin!r}") from None
if AUTO_ACTIVATE_MARGIN is not None and not 0 <= AUTO_ACTIVATE_MARGIN < 1:  # nan fails too
    raise ImproperlyConfigured("AUTO_ACTIVATE_MARGIN must be at least 0 and below 1.")
AUTO_ACTIVATE_MIN_LABELS = env.integer("AUTO_ACTIVATE_MIN_LABELS", 50)
# The comparison's learning curve trains the baseline on this many reports (and on all);
# empty turns the curve off.
LEARNING_CURVE_SIZES = [
    int(n) for n in env.string_list("LEARNING_CURVE_SIZES", ["250", "500", "1000", "2000"])
]
# "Recent" case-worker labels on the Modeller page: the last this many days.
RECENT_LABEL_DAYS = env.integer("RECENT_LABEL_DAYS", 28)
# A training run without progress this long is taken as dead (its worker was killed).
TRAINING_STALE_MINUTES = env.integer("TRAINING_STALE_MINUTES", 120)
# A report still unrouted this long after it was received is enqueued again.
SWEEP_AFTER_SECONDS = env.integer("SWEEP_AFTER_SECONDS", 120)

# Models: model directories live under MODEL_DIR; the pipeline uses the active version.
MODEL_DIR = Path(env.string("MODEL_DIR", str(BASE_DIR / "models")))
ROUTING_BASE_MODELS = env.string_list(
    "ROUTING_BASE_MODELS", env.string_list("ROUTING_BASE_MODEL", [])
)
TRAINING_DATA = Path(
    env.string("TRAINING_DATA", str(BASE_DIR / "ml" / "data" / "reports_sv.jsonl"))
)
# Fine-tuning options of the transformer for runs started from the page or the schedule, as
# JSON (the fields of ml.transformer.TransformerConfig), e.g. '{"epochs": 10}' on a CPU host.
try:
    TRANSFORMER_TRAINING_OPTIONS = json.loads(env.string("TRANSFORMER_TRAINING_OPTIONS", "{}"))
except json.JSONDecodeError as exc:
    raise ImproperlyConfigured(f"TRANSFORMER_TRAINING_OPTIONS must be JSON: {exc}") from None
if not isinstance(TRANSFORMER_TRAINING_OPTIONS, dict):
    raise ImproperlyConfigured("TRANSFORMER_TRAINING_OPTIONS must be a JSON object.")

# Intake limits (documented in the README).
REPORT_TEXT_MAX_CHARS = env.integer("REPORT_TEXT_MAX_CHARS", 20_000)
DATA_UPLOAD_MAX_MEMORY_SIZE = env.integer("MAX_REQUEST_BYTES", 256 * 1024)
FORM_RATE_LIMIT = env.integer("FORM_RATE_LIMIT", 10)  # reports per IP address ...
FORM_RATE_WINDOW_SECONDS = env.integer("FORM_RATE_WINDOW_SECONDS", 3600)  # ... per window
CASE_NUMBER_DIGITS = 5

# Email: outgoing acknowledgements through Django's backend; incoming by IMAP polling.
EMAIL_BACKEND = env.string("EMAIL_BACKEND", "django.core.mail.backends.smtp.EmailBackend")
EMAIL_HOST = env.string("EMAIL_HOST", "localhost")
EMAIL_PORT = env.integer("EMAIL_PORT", 25)
EMAIL_HOST_USER = env.string("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = env.string("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env.boolean("EMAIL_USE_TLS", False)
EMAIL_TIMEOUT = env.integer("EMAIL_TIMEOUT", 10)
DEFAULT_FROM_EMAIL = env.string("DEFAULT_FROM_EMAIL", "arenden@kommun.example")
# Larger mail (attachments included) is refused before parsing.
EMAIL_MAX_BYTES = env.integer("EMAIL_MAX_BYTES", 25 * 1024 * 1024)
IMAP_HOST = env.string("IMAP_HOST", "")  # empty: IMAP polling is off
IMAP_PORT = env.integer("IMAP_PORT", 993)
IMAP_SSL = env.boolean("IMAP_SSL", True)
IMAP_USER = env.string("IMAP_USER", "")
IMAP_PASSWORD = env.string("IMAP_PASSWORD", "")
IMAP_FOLDER = env.string("IMAP_FOLDER", "INBOX")

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "routing.intake.authentication.ApiClientAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["routing.intake.authentication.IsApiClientOrStaff"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "routing.intake.api.exception_handler",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Ärendeflöde API",
    "DESCRIPTION": "Lämna in och följ ärenden till kommunen.",
    "VERSION": "1",
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}

# Security defaults for production; DEBUG relaxes the ones that need HTTPS.
SESSION_COOKIE_SECURE = env.boolean("SESSION_COOKIE_SECURE", not DEBUG)
CSRF_COOKIE_SECURE = env.boolean("CSRF_COOKIE_SECURE", not DEBUG)
SECURE_CONTENT_TYPE_NOSNIFF = True
# Behind a TLS-terminating reverse proxy: trust its X-Forwarded-Proto (HTTPS links, secure
# cookies, CSRF origin checks) and take the client address from X-Forwarded-For, counting
# this many proxies from the right. Also list the public origin in CSRF_TRUSTED_ORIGINS.
TRUSTED_PROXY_HOPS = env.integer("TRUSTED_PROXY_HOPS", 0)
if TRUSTED_PROXY_HOPS:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
X_FRAME_OPTIONS = "DENY"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env.string("LOG_LEVEL", "INFO")},
}
