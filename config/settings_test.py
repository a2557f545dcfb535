"""Test settings: the same as production code paths, with a fast password hasher."""

import os

os.environ.setdefault("DEBUG", "1")

from config.settings import *  # noqa: E402,F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
STORAGES["staticfiles"]["BACKEND"] = "django.contrib.staticfiles.storage.StaticFilesStorage"  # noqa: F405
REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"] = {"token": "100000/min"}  # noqa: F405

# One process's memory: tests clear it between tests (tests/conftest.py), and never share it through Redis.
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "tests"}}

# Tasks run in-process in tests; the tests that exercise a real worker switch this off themselves.
CELERY_TASK_ALWAYS_EAGER = True
