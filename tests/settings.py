"""Settings for the test suite: the production settings with test-only defaults.

The defaults point at the real PostgreSQL and Redis of a development machine; the
environment still wins, so CI or a developer can point them elsewhere.
"""

import os

os.environ.setdefault("SECRET_KEY", "test-only-secret-key-not-for-production")
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/arendeflode")
os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/15")
os.environ["HF_HUB_OFFLINE"] = "1"

from routing.settings import *  # noqa: F403

# Keep test runs away from a developer's Redis data and model directories.
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
STORAGES["staticfiles"]["BACKEND"] = "django.contrib.staticfiles.storage.StaticFilesStorage"  # noqa: F405
