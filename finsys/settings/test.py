"""Tests: the same database and Redis choice as base, fast hashing, no HTTPS."""

from finsys.settings.base import *
from finsys.settings.base import env

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.InMemoryStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
# Tests never talk to a broker unless a test starts a real worker itself.
CELERY_TASK_ALWAYS_EAGER = not env.bool("FINSYS_TEST_REAL_CELERY", default=False)
LANGUAGE_CODE = "en"
# Tests see every revocation at once; the token cache has its own test.
API_TOKEN_CACHE_SECONDS = 0
