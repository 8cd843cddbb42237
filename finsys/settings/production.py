"""Production: HTTPS only, secure cookies, and no start without the keys it needs."""

from django.core.exceptions import ImproperlyConfigured

from finsys.settings.base import *
from finsys.settings.base import (
    AUDIT_SIGNING_KEY,
    BACKUP_ENCRYPTION_KEY,
    BLIND_INDEX_KEY,
    FIELD_ENCRYPTION_KEYS,
    SECRET_KEY,
    env,
)

_required = {
    "SECRET_KEY": SECRET_KEY,
    "FIELD_ENCRYPTION_KEYS": FIELD_ENCRYPTION_KEYS,
    "BLIND_INDEX_KEY": BLIND_INDEX_KEY,
    "AUDIT_SIGNING_KEY": AUDIT_SIGNING_KEY,
    "BACKUP_ENCRYPTION_KEY": BACKUP_ENCRYPTION_KEY,
    "DATABASE_URL": env.str("DATABASE_URL", default=""),
}
_missing = sorted(name for name, value in _required.items() if not value)
if _missing:
    raise ImproperlyConfigured("FINSYS_ENV=production refuses to start without: " + ", ".join(_missing))
if len(SECRET_KEY) < 50:
    raise ImproperlyConfigured("SECRET_KEY must be at least 50 characters in production")

DEBUG = env.bool("DEBUG", default=False)
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SESSION_COOKIE_SECURE = True
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_SECURE = True
X_FRAME_OPTIONS = "DENY"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}
# HSTS preload is a commitment of the whole domain: the operator opts in with SECURE_HSTS_PRELOAD.
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=False)
SILENCED_SYSTEM_CHECKS = [] if SECURE_HSTS_PRELOAD else ["security.W021"]
