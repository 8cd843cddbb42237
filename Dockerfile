# syntax=docker/dockerfile:1
# finsys image: gunicorn serving finsys.wsgi by default; the same image runs the Celery worker and
# beat, migrations, backups and restores (see docker-compose.yml and docs/operations.md):
#   docker run --env-file finsys.env IMAGE python manage.py migrate --noinput
#   docker run --env-file finsys.env IMAGE celery -A finsys worker --loglevel=INFO
# It starts in production mode and refuses to start without SECRET_KEY, FIELD_ENCRYPTION_KEYS,
# BLIND_INDEX_KEY, AUDIT_SIGNING_KEY, BACKUP_ENCRYPTION_KEY and DATABASE_URL (README.md, "Production");
# nothing secret is baked in.

# ---- builder: a wheel for every pinned requirement ------------------------------------------------
FROM python:3.11-slim-bookworm AS builder
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /build
COPY requirements.txt .
# All pins have manylinux wheels (psycopg[binary], cryptography, argon2): no compiler or libpq
# needed; a pure-Python sdist would be built into a wheel here, never in the runtime image.
RUN pip wheel --wheel-dir /wheels -r requirements.txt

# ---- runtime: slim, non-root, no build tools --------------------------------------------------------
FROM python:3.11-slim-bookworm AS runtime

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    FINSYS_ENV=production \
    GUNICORN_BIND=0.0.0.0:8000 \
    STATIC_ROOT=/app/staticfiles

# pg_dump / pg_restore for `manage.py backup` and `restore`: Debian 12's client is PostgreSQL 15,
# the server version docker-compose.yml runs (pg_dump must not be older than the server).
RUN apt-get update \
    && apt-get install -y --no-install-recommends postgresql-client \
    && rm -rf /var/lib/apt/lists/*

# An unprivileged user; the code stays owned by root and read-only to it.
RUN groupadd --system --gid 10001 finsys \
    && useradd --system --uid 10001 --gid finsys --home-dir /app --no-create-home --shell /usr/sbin/nologin finsys

WORKDIR /app

# Dependencies from the builder's wheels only (no index, no network); the wheels are bind-mounted
# for this step and never become a layer. A code change does not reinstall them.
COPY requirements.txt .
RUN --mount=type=bind,from=builder,source=/wheels,target=/wheels \
    pip install --no-index --find-links=/wheels -r requirements.txt

COPY . .

# Static files at build time, into the hashed manifest production serves (nginx in
# docker-compose.yml, whitenoise when the image runs alone). The values below exist only so the
# production settings load for this one command: they are not keys, nothing is encrypted with
# them, and no database is contacted.
RUN SECRET_KEY=collectstatic-only-not-a-real-key-0123456789abcdefghijklmnopqrstuvwxyz \
    FIELD_ENCRYPTION_KEYS=k1:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA= \
    BLIND_INDEX_KEY=collectstatic-only \
    AUDIT_SIGNING_KEY=collectstatic-only \
    BACKUP_ENCRYPTION_KEY=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA= \
    DATABASE_URL=postgres://collectstatic@127.0.0.1:1/none \
    python manage.py collectstatic --noinput

# Only var/ (a SQLite file or development keys when not in production) and backups/ (the
# target of `manage.py backup` in docker-compose.yml, a volume there) are writable by the user.
RUN mkdir -p /app/var /app/backups && chown finsys:finsys /app/var /app/backups && chmod 0700 /app/backups
USER finsys

EXPOSE 8000

# Liveness: /healthz over the loopback, as the first allowed host and as if through the TLS proxy
# (production redirects plain HTTP and refuses unknown hosts). Worker and beat containers, which
# serve no HTTP, override or disable it (docker-compose.yml).
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD python -c "import os, urllib.request as u; h = (os.environ.get('ALLOWED_HOSTS') or 'localhost').split(',')[0].strip().lstrip('.'); h = 'localhost' if h in ('', '*') else h; p = os.environ.get('GUNICORN_BIND', '0.0.0.0:8000').rsplit(':', 1)[1]; u.urlopen(u.Request(f'http://127.0.0.1:{p}/healthz', headers={'Host': h, 'X-Forwarded-Proto': 'https'}), timeout=4)" || exit 1

CMD ["gunicorn", "-c", "gunicorn.conf.py", "finsys.wsgi:application"]
