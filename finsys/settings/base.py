"""Settings shared by every environment. Everything that varies comes from the environment."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import environ
from csp.constants import NONCE, NONE, SELF

from finsys import logconfig
from finsys.settings import devkeys

BASE_DIR = Path(__file__).resolve().parent.parent.parent
env = environ.Env()

FINSYS_ENV = env.str("FINSYS_ENV", default="development").strip().lower()
IS_PRODUCTION = FINSYS_ENV == "production"

# Keys: from the environment; outside production, generated once into var/dev-keys.json.
_dev_keys = {} if IS_PRODUCTION else devkeys.load(BASE_DIR / "var" / "dev-keys.json")


def _key(name: str) -> str:
    value = env.str(name, default="") or _dev_keys.get(name, "")
    return value


SECRET_KEY = _key("SECRET_KEY")
FIELD_ENCRYPTION_KEYS = _key("FIELD_ENCRYPTION_KEYS")
BLIND_INDEX_KEY = _key("BLIND_INDEX_KEY")
DEMO_PASSWORD = _key("DEMO_PASSWORD")
# Audit checkpoints: Ed25519 private key (base64 of 32 raw bytes), and the public keys of the
# keys it replaced, so older checkpoints still verify (docs/audit.md).
AUDIT_SIGNING_KEY = _key("AUDIT_SIGNING_KEY")
AUDIT_TRUSTED_PUBLIC_KEYS = env.list("AUDIT_TRUSTED_PUBLIC_KEYS", default=[])
# Backups: base64 32-byte AES keys, comma-separated; the first encrypts, all decrypt (rotation).
BACKUP_ENCRYPTION_KEY = _key("BACKUP_ENCRYPTION_KEY")
# Masked exports: HMAC-SHA256 key of the pseudonyms (stable across exports while the key stays).
EXPORT_PSEUDONYM_KEY = _key("EXPORT_PSEUDONYM_KEY")
# Gateway callbacks are signed with it (HMAC-SHA256); unset in production: callbacks are refused.
FINSYS_GATEWAY_CALLBACK_SECRET = _key("FINSYS_GATEWAY_CALLBACK_SECRET")

DEBUG = env.bool("DEBUG", default=not IS_PRODUCTION)
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "oauth2_provider",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_celery_beat",
    "auditlog",
    "django_prometheus",
    "guardian",
    "apps.common",
    "apps.audit",
    "apps.integrations",
    "apps.customers",
    "apps.accounts",
    "apps.transactions",
    "apps.treasury",
    "apps.risk",
    "apps.compliance",
    "apps.eod",
    "apps.reports",
    "apps.api",
    "apps.ops",
    "apps.support",
    "apps.portal",
]

MIDDLEWARE = [
    "apps.ops.middleware.RequestIdMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "apps.api.middleware.ApiRequestGuardMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "apps.audit.middleware.AuditlogMiddleware",
]

ROOT_URLCONF = "finsys.urls"
WSGI_APPLICATION = "finsys.wsgi.application"

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
                "django.template.context_processors.i18n",
                "csp.context_processors.nonce",  # {{ CSP_NONCE }} for the rare inline script or style
                "apps.common.context_processors.emergency_controls",
            ],
        },
    },
]

# Database: PostgreSQL through psycopg 3 when DATABASE_URL is set, else SQLite.
if env.str("DATABASE_URL", default=""):
    DATABASES = {"default": env.db_url("DATABASE_URL")}
    DATABASES["default"]["ENGINE"] = "finsys.postgresql"  # Django's, with a cheaper health check
    DATABASES["default"]["CONN_MAX_AGE"] = env.int("DB_CONN_MAX_AGE", default=600)
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": env.str("SQLITE_PATH", default=str(BASE_DIR / "var" / "finsys.sqlite3")),
            # IMMEDIATE takes the write lock at BEGIN: writers queue instead of failing.
            "OPTIONS": {"transaction_mode": "IMMEDIATE", "timeout": 20},
        }
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Redis: Celery broker and cache when REDIS_URL is set; otherwise Celery runs eagerly.
REDIS_URL = env.str("REDIS_URL", default="")
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": "finsys",
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

CELERY_BROKER_URL = REDIS_URL or "memory://"
CELERY_RESULT_BACKEND = REDIS_URL or None
CELERY_TASK_ALWAYS_EAGER = not REDIS_URL
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# A task a killed worker had taken (acks_late) goes back to the queue after this many seconds.
# Every Redis socket has a read timeout, TCP keepalive and a health check: a read on a connection
# that died with its server (a Redis restart) fails after seconds instead of blocking for ever,
# and the caller's retry reconnects (docs/reliability.md, beat after a Redis SIGKILL).
REDIS_SOCKET_TIMEOUT = env.float("REDIS_SOCKET_TIMEOUT", default=10.0)
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": env.int("CELERY_VISIBILITY_TIMEOUT", default=3600),
    "socket_connect_timeout": 5,
    "socket_timeout": REDIS_SOCKET_TIMEOUT,
    "socket_keepalive": True,
    "retry_on_timeout": True,
    "health_check_interval": 10,
}
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_REDIS_SOCKET_CONNECT_TIMEOUT = 5
CELERY_REDIS_SOCKET_TIMEOUT = REDIS_SOCKET_TIMEOUT
CELERY_REDIS_SOCKET_KEEPALIVE = True
CELERY_REDIS_RETRY_ON_TIMEOUT = True
CELERY_REDIS_BACKEND_HEALTH_CHECK_INTERVAL = 10
CELERY_TASK_DEFAULT_QUEUE = env.str("CELERY_QUEUE", default="celery")
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_TIMEZONE = "UTC"
# Workers log through Django's LOGGING (JSON, with the request id of the request that sent a task).
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
# /readyz reports the worker "stale" when its last heartbeat (a beat task, every
# FINSYS_WORKER_HEARTBEAT_SECONDS: finsys/celery.py) is older than this.
FINSYS_WORKER_STALE_SECONDS = env.int("FINSYS_WORKER_STALE_SECONDS", default=180)

# Model permissions from the role groups (apps/common/roles.py), then django-guardian's object
# permissions (a relationship manager's customers, portal users' per-account rights).
ANONYMOUS_USER_NAME = None  # guardian: no object permissions for anonymous visitors, no such user

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]

LANGUAGE_CODE = "en"
LANGUAGES = [("en", "English"), ("zh-hans", "简体中文")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = env.str("TIME_ZONE", default="Asia/Shanghai")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = Path(env.str("STATIC_ROOT", default=str(BASE_DIR / "var" / "staticfiles")))
if not IS_PRODUCTION:
    STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # collectstatic fills it; whitenoise wants it there
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}

# Requests: a body over 1 MiB is refused (413 on the API).
DATA_UPLOAD_MAX_MEMORY_SIZE = 1024 * 1024

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["apps.api.authentication.BearerTokenAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["apps.api.permissions.HasRequiredScope"],
    "DEFAULT_THROTTLE_CLASSES": ["apps.api.throttling.ClientRateThrottle"],
    "DEFAULT_PARSER_CLASSES": ["apps.api.parsers.StrictJSONParser"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PAGINATION_CLASS": "apps.api.pagination.Cursor",
    "PAGE_SIZE": 50,
    "EXCEPTION_HANDLER": "apps.api.errors.problem_exception_handler",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "UNAUTHENTICATED_USER": None,
    "COERCE_DECIMAL_TO_STRING": True,
}

SPECTACULAR_SETTINGS = {
    "TITLE": "finsys API",
    "DESCRIPTION": "Core banking: customers, accounts, ledger, transfers and payments.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "SCHEMA_PATH_PREFIX": r"/api/v1",
    "ENUM_NAME_OVERRIDES": {
        "PaymentStatusEnum": "apps.transactions.models.PaymentStatus",
        "ReportKindEnum": "apps.reports.models.ReportKind",
        "ReportFormatEnum": "apps.reports.models.ReportFormat",
        "ReportStatusEnum": "apps.reports.models.ReportStatus",
    },
}

OAUTH2_PROVIDER = {
    "SCOPES": {
        "customers:read": "Read customers",
        "customers:write": "Create customers",
        "kyc:write": "Decide KYC",
        "pii:read": "See personal data unmasked",
        "accounts:read": "Read accounts and their history",
        "accounts:write": "Open, freeze, unfreeze and close accounts",
        "cash:write": "Post deposits and withdrawals",
        "payments:write": "Make transfers, payments and reversals",
        "approvals:write": "Decide approvals",
        "treasury:write": "Ask for exchange rates (in force once approved)",
        "reports:read": "Read reports",
        "webhooks:write": "Register webhook endpoints, read and replay their deliveries",
    },
    "SCOPES_BACKEND_CLASS": "apps.api.oauth.ClientScopes",
    "OAUTH2_VALIDATOR_CLASS": "apps.api.oauth.ClientValidator",
    "ACCESS_TOKEN_EXPIRE_SECONDS": env.int("ACCESS_TOKEN_EXPIRE_SECONDS", default=3600),
    "COMPLIANT_BCP_RFC9700_TOKEN_STORAGE": True,
    "ALLOWED_GRANT_TYPES": ["client_credentials"],
    "ALLOWED_REDIRECT_URI_SCHEMES": ["https"],
    "REFRESH_TOKEN_REUSE_PROTECTION": True,
    # RFC 9700 (OAuth 2.0 Security BCP) everywhere, though only client credentials is used.
    **{
        f"COMPLIANT_BCP_RFC9700_{part}": True
        for part in [
            "IMPLICIT_GRANT",
            "PASSWORD_GRANT",
            "PKCE_METHOD",
            "PKCE_REQUIRED",
            "ACCESS_TOKEN_TRANSPORT",
            "AUTHZ_RESPONSE_ISS",
            "REFRESH_TOKEN",
            "REDIRECT_URI_SCHEME",
            "REDIRECT_URI_MATCHING",
        ]
    },
}

# --- Staff authentication, lockout, sessions, CSP (issue 3, staff-auth) --------------------------
# Kept in one block so other changes to the lists above merge cleanly.
# The admin site requires a verified second factor (apps/staff/admin_site.py).
INSTALLED_APPS[INSTALLED_APPS.index("django.contrib.admin")] = "apps.staff.admin_site.StaffAdminConfig"
INSTALLED_APPS += ["django_otp", "django_otp.plugins.otp_totp", "axes", "csp", "apps.staff"]
_auth = MIDDLEWARE.index("django.contrib.auth.middleware.AuthenticationMiddleware")
MIDDLEWARE[_auth + 1 : _auth + 1] = [
    "django_otp.middleware.OTPMiddleware",  # request.user.is_verified()
    "apps.staff.middleware.StaffSessionMiddleware",  # second factor, idle timeout, log out everywhere
]
MIDDLEWARE += ["csp.middleware.CSPMiddleware", "axes.middleware.AxesMiddleware"]  # axes last (STACK.md 6)
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",  # first: refuses locked-out username+IP before any password check
    "django.contrib.auth.backends.ModelBackend",
    "guardian.backends.ObjectPermissionBackend",  # object permissions (relationship managers, mandates)
]
LOGIN_URL = "staff:login"
LOGIN_REDIRECT_URL = "staff:home"
STAFF_IDLE_TIMEOUT_SECONDS = env.int("STAFF_IDLE_TIMEOUT_SECONDS", default=15 * 60)
PORTAL_IDLE_TIMEOUT_SECONDS = env.int("PORTAL_IDLE_TIMEOUT_SECONDS", default=10 * 60)  # customers' portal
SESSION_COOKIE_AGE = env.int("SESSION_COOKIE_AGE", default=8 * 60 * 60)  # absolute cap on any session
SESSION_COOKIE_HTTPONLY = True
OTP_TOTP_ISSUER = env.str("OTP_TOTP_ISSUER", default="finsys")
OTP_ADMIN_HIDE_SENSITIVE_DATA = True  # never show a TOTP secret or its QR code in the admin
# django-axes: 5 failures of one username (or API client id) from one IP lock it for 30 minutes,
# counted from the fifth failure. The staff login, its TOTP step and the token endpoint share it;
# the portal login must use it too (apps/common/lockout.py).
AXES_FAILURE_LIMIT = env.int("LOCKOUT_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = timedelta(minutes=env.int("LOCKOUT_MINUTES", default=30))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False
# A right password alone must not reset the count: apps/common/lockout.py resets after both factors.
AXES_RESET_ON_SUCCESS = False
AXES_LOCKOUT_CALLABLE = "apps.common.lockout.lockout_response"
AXES_SENSITIVE_PARAMETERS = ["password", "client_secret", "otp_token", "csrfmiddlewaretoken"]
AXES_ENABLE_ADMIN = False  # apps/audit/admin.py registers read-only pages with an audited unlock
# The client IP (apps/common/lockout.py client_ip): the connection's address, or behind
# TRUSTED_PROXY_COUNT reverse proxies the address the outermost one saw, taken from the right of
# X-Forwarded-For, so a client-set header cannot dodge the lock.
TRUSTED_PROXY_COUNT = env.int("TRUSTED_PROXY_COUNT", default=0)
AXES_CLIENT_IP_CALLABLE = "apps.common.lockout.client_ip"
# Content-Security-Policy (django-csp 4): no inline script or style without the request's nonce.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF, NONCE],
        "style-src": [SELF, NONCE],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    }
}
# --- end of staff authentication block ------------------------------------------------------------

# Resolved bearer tokens are cached per process this long: revocation takes effect this late.
API_TOKEN_CACHE_SECONDS = env.int("API_TOKEN_CACHE_SECONDS", default=5)
# A client disabled or rotated in one process is refused by every other within this many seconds.
API_REVOCATION_CHECK_SECONDS = env.float("API_REVOCATION_CHECK_SECONDS", default=1.0)

# Per-client request rates by channel ("600/min"; empty: unthrottled), counted in the cache
# (Redis when REDIS_URL is set). Bank systems (`system`) are not throttled by default.
API_THROTTLE_RATES = {
    "system": env.str("API_THROTTLE_RATE_SYSTEM", default="") or None,
    "api": env.str("API_THROTTLE_RATE_API", default="600/min") or None,
}

# Business settings.
FINSYS_APPROVAL_TTL_HOURS = env.int("FINSYS_APPROVAL_TTL_HOURS", default=72)
FINSYS_IDEMPOTENCY_TTL_HOURS = env.int("FINSYS_IDEMPOTENCY_TTL_HOURS", default=48)

# Audit chains (docs/audit.md): the sealer's fast pass finds rows committed up to this long
# after they were numbered; verify_audit reports rows unsealed for longer than the grace.
AUDIT_SEAL_LOOKBACK_SECONDS = env.int("AUDIT_SEAL_LOOKBACK_SECONDS", default=60)
AUDIT_SEAL_GRACE_SECONDS = env.int("AUDIT_SEAL_GRACE_SECONDS", default=300)
# django-auditlog: model changes with before/after, registered and masked in apps/audit/auditlog.py.
AUDITLOG_DISABLE_REMOTE_ADDR = False
# Retention (days) per kind of record; purge_expired_data deletes only what is past these.
# Ledger rows and audit events have no setting: they are never purged.
FINSYS_RETENTION_DAYS_SESSIONS = env.int("FINSYS_RETENTION_DAYS_SESSIONS", default=0)
FINSYS_RETENTION_DAYS_OAUTH_TOKENS = env.int("FINSYS_RETENTION_DAYS_OAUTH_TOKENS", default=30)
FINSYS_RETENTION_DAYS_REJECTED_KYC = env.int("FINSYS_RETENTION_DAYS_REJECTED_KYC", default=1825)

# Logs: one JSON object per line on stderr (structlog), with the request id (finsys/logconfig.py).
LOG_FORMAT = env.str("LOG_FORMAT", default="json")
LOGGING = logconfig.logging_config(level=env.str("LOG_LEVEL", default="WARNING"), fmt=LOG_FORMAT)
logconfig.configure_structlog()

# External payments: the gateway adapter (a dotted path) and the simulator's behaviour.
FINSYS_PAYMENT_GATEWAY = env.str("FINSYS_PAYMENT_GATEWAY", default="apps.integrations.gateway.SimulatedGateway")
FINSYS_GATEWAY_SIM_LATENCY_MS = env.int("FINSYS_GATEWAY_SIM_LATENCY_MS", default=200)
FINSYS_GATEWAY_SIM_REJECT_RATE = env.float("FINSYS_GATEWAY_SIM_REJECT_RATE", default=0.0)
FINSYS_GATEWAY_SIM_TIMEOUT_RATE = env.float("FINSYS_GATEWAY_SIM_TIMEOUT_RATE", default=0.0)
FINSYS_GATEWAY_SIM_CALLBACK_URL = env.str("FINSYS_GATEWAY_SIM_CALLBACK_URL", default="")
FINSYS_PAYMENT_SUBMIT_MAX_ATTEMPTS = env.int("FINSYS_PAYMENT_SUBMIT_MAX_ATTEMPTS", default=6)
FINSYS_PAYMENT_RETRY_SECONDS = env.int("FINSYS_PAYMENT_RETRY_SECONDS", default=10)
FINSYS_PAYMENT_RETRY_MAX_SECONDS = env.int("FINSYS_PAYMENT_RETRY_MAX_SECONDS", default=600)
# A payment of at least this amount (in its own currency) raises a `transaction.large` event.
FINSYS_LARGE_TRANSACTION_AMOUNT = env.str("FINSYS_LARGE_TRANSACTION_AMOUNT", default="50000")

# The outbox: webhooks to integrators, e-mail and SMS.
FINSYS_WEBHOOK_TIMEOUT_SECONDS = env.int("FINSYS_WEBHOOK_TIMEOUT_SECONDS", default=5)
FINSYS_WEBHOOK_MAX_ATTEMPTS = env.int("FINSYS_WEBHOOK_MAX_ATTEMPTS", default=8)
FINSYS_WEBHOOK_BACKOFF_SECONDS = env.int("FINSYS_WEBHOOK_BACKOFF_SECONDS", default=30)
FINSYS_WEBHOOK_BACKOFF_MAX_SECONDS = env.int("FINSYS_WEBHOOK_BACKOFF_MAX_SECONDS", default=3600)
FINSYS_WEBHOOK_ALLOW_HTTP = env.bool("FINSYS_WEBHOOK_ALLOW_HTTP", default=not IS_PRODUCTION)
FINSYS_SMS_BACKEND = env.str("FINSYS_SMS_BACKEND", default="apps.integrations.channels.ConsoleSmsProvider")
EMAIL_BACKEND = env.str("EMAIL_BACKEND", default="django.core.mail.backends.console.EmailBackend")
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="finsys <no-reply@localhost>")

# django-oauth-toolkit's swappable models, named so migrations can depend on them.
OAUTH2_PROVIDER_APPLICATION_MODEL = "oauth2_provider.Application"
OAUTH2_PROVIDER_ACCESS_TOKEN_MODEL = "oauth2_provider.AccessToken"  # noqa: S105 - a model name
OAUTH2_PROVIDER_REFRESH_TOKEN_MODEL = "oauth2_provider.RefreshToken"  # noqa: S105
OAUTH2_PROVIDER_ID_TOKEN_MODEL = "oauth2_provider.IDToken"  # noqa: S105
OAUTH2_PROVIDER_GRANT_MODEL = "oauth2_provider.Grant"

# /metrics (Prometheus): never public. Allowed with `Authorization: Bearer <METRICS_TOKEN>`, or
# from these networks when the request did not come through a proxy.
METRICS_TOKEN = env.str("METRICS_TOKEN", default="")
METRICS_ALLOWED_CIDRS = env.list("METRICS_ALLOWED_CIDRS", default=["127.0.0.1/32", "::1/128"])
# django-prometheus's request middleware (per-view, per-method, sizes...): about a dozen metric
# updates per request, so off by default (apps.ops.middleware times every request more cheaply).
if env.bool("METRICS_DJANGO_MIDDLEWARE", default=False):
    MIDDLEWARE = [
        "django_prometheus.middleware.PrometheusBeforeMiddleware",
        *MIDDLEWARE,
        "django_prometheus.middleware.PrometheusAfterMiddleware",
    ]

# Browser-only middleware steps aside on bearer-token API calls (apps/common/middleware.py).
# CSRF and clickjacking stay as they are: `check --deploy` looks for them by name, and they cost
# the API little (DRF views are csrf-exempt; the other only sets a header).
_BROWSER_ONLY_MIDDLEWARE = {
    "django.contrib.sessions.middleware.SessionMiddleware": "BrowserSessionMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware": "BrowserAuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware": "BrowserMessageMiddleware",
    "django_otp.middleware.OTPMiddleware": "BrowserOTPMiddleware",
    "csp.middleware.CSPMiddleware": "BrowserCSPMiddleware",
}
MIDDLEWARE = [
    f"apps.common.middleware.{_BROWSER_ONLY_MIDDLEWARE[name]}" if name in _BROWSER_ONLY_MIDDLEWARE else name
    for name in MIDDLEWARE
]


# Emergency controls: each process re-reads the active switches at most this often (seconds).
FINSYS_CONTROLS_CACHE_SECONDS = env.float("FINSYS_CONTROLS_CACHE_SECONDS", default=1.0)

# --- Treasury: FX rates, cross-currency transfers, settlement reconciliation (docs/treasury.md) ---
# The bank's margin on a conversion, in basis points of the mid rate (50 = 0.5 %): the customer
# gets mid x (1 - spread). Per channel: FINSYS_FX_SPREAD_BPS_BY_CHANNEL="portal=30,api=40".
FINSYS_FX_SPREAD_BPS = env.int("FINSYS_FX_SPREAD_BPS", default=50)
FINSYS_FX_SPREAD_BPS_BY_CHANNEL = env.dict("FINSYS_FX_SPREAD_BPS_BY_CHANNEL", cast={"value": int}, default={})

# Risk (docs/risk.md): the channels whose transfers and withdrawals pass the limits and rules.
# `system` (the bank's own clients, the benchmarks) and `branch` (staff at the counter, who cannot wait
# for a review) are left out by default: no query is spent on them.
FINSYS_RISK_CHANNELS = env.list("FINSYS_RISK_CHANNELS", default=["api", "portal"])
# AML compliance (docs/compliance.md): watchlist screening scores (0-100; at or above BLOCK a
# payment is refused, from REVIEW it waits for a person), transaction report rule sets, and the
# fixed FX table the reports convert with (units of CNY per unit) until treasury rates exist.
FINSYS_SCREENING_REVIEW_SCORE = env.int("FINSYS_SCREENING_REVIEW_SCORE", default=90)
FINSYS_SCREENING_BLOCK_SCORE = env.int("FINSYS_SCREENING_BLOCK_SCORE", default=97)
FINSYS_BANK_COUNTRY = env.str("FINSYS_BANK_COUNTRY", default="CN")
FINSYS_AML_JURISDICTIONS = env.list("FINSYS_AML_JURISDICTIONS", default=["PBOC-2016"])
FINSYS_AML_FX_RATES = env.dict(
    "FINSYS_AML_FX_RATES",
    default={"CNY": "1", "USD": "7.10", "EUR": "7.80", "GBP": "9.00", "HKD": "0.91", "JPY": "0.048"},
)
FINSYS_CASE_ATTACHMENT_MAX_BYTES = env.int("FINSYS_CASE_ATTACHMENT_MAX_BYTES", default=10 * 1024 * 1024)
# --- Reports (apps/reports, docs/reports.md) ---------------------------------------------------------
# Files go to the default storage under FINSYS_REPORTS_DIR (MEDIA_ROOT, never served as static:
# downloads go through views that check who asks), and are deleted after the TTL.
MEDIA_ROOT = Path(env.str("MEDIA_ROOT", default=str(BASE_DIR / "var" / "media")))
FINSYS_REPORTS_DIR = env.str("FINSYS_REPORTS_DIR", default="reports")
FINSYS_REPORT_TTL_HOURS = env.int("FINSYS_REPORT_TTL_HOURS", default=72)
FINSYS_REPORT_MAX_DAYS = env.int("FINSYS_REPORT_MAX_DAYS", default=366)
FINSYS_REPORT_PROGRESS_ROWS = env.int("FINSYS_REPORT_PROGRESS_ROWS", default=2000)
# A running job beats (heartbeat_at) at its start and with every progress step; one silent for
# FINSYS_REPORT_STALE_SECONDS lost its worker: beat re-queues it (every
# FINSYS_REPORT_REQUEUE_SECONDS), at most FINSYS_REPORT_MAX_ATTEMPTS runs in all, then it fails.
FINSYS_REPORT_STALE_SECONDS = env.int("FINSYS_REPORT_STALE_SECONDS", default=600)
FINSYS_REPORT_MAX_ATTEMPTS = env.int("FINSYS_REPORT_MAX_ATTEMPTS", default=3)
FINSYS_BANK_NAME = env.str("FINSYS_BANK_NAME", default="finsys demo bank")
