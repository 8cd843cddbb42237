# finsys web image: gunicorn serving finsys.wsgi. The same image runs the Celery worker:
#   docker run --env-file finsys.env IMAGE celery -A finsys worker -B --loglevel=info
# and migrations before a release:
#   docker run --env-file finsys.env IMAGE python manage.py migrate --noinput
# It starts in production mode and refuses to start without SECRET_KEY, FIELD_ENCRYPTION_KEYS,
# BLIND_INDEX_KEY, AUDIT_SIGNING_KEY and DATABASE_URL (see README.md, "Production"); nothing secret is baked in.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    FINSYS_ENV=production \
    GUNICORN_BIND=0.0.0.0:8000

WORKDIR /app

# Dependencies first, so a code change does not reinstall them. All pins have manylinux wheels
# (psycopg[binary], cryptography, argon2): no compiler or libpq needed.
COPY requirements.txt .
RUN pip install -r requirements.txt

COPY . .

# Static files at build time, into the hashed manifest production serves through whitenoise.
# The values below exist only so the production settings load for this one command; they are
# not keys, nothing is encrypted with them, and no database is contacted.
RUN SECRET_KEY=collectstatic-only-not-a-real-key-0123456789abcdefghijklmnopqrstuvwxyz \
    FIELD_ENCRYPTION_KEYS=k1:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA= \
    BLIND_INDEX_KEY=collectstatic-only \
    AUDIT_SIGNING_KEY=collectstatic-only \
    DATABASE_URL=postgres://collectstatic@127.0.0.1:1/none \
    python manage.py collectstatic --noinput

# Run as an unprivileged user; the code stays read-only to it, only var/ is writable
# (development keys when FINSYS_ENV is not production, a SQLite file if no DATABASE_URL).
RUN groupadd --system --gid 10001 finsys \
    && useradd --system --uid 10001 --gid finsys --home-dir /app --no-create-home --shell /usr/sbin/nologin finsys \
    && mkdir -p /app/var \
    && chown -R finsys:finsys /app/var
USER finsys

EXPOSE 8000

# Liveness: /healthz over the loopback, as the first allowed host and as if through the TLS proxy
# (production redirects plain HTTP and refuses unknown hosts).
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD python -c "import os, urllib.request as u; h = (os.environ.get('ALLOWED_HOSTS') or 'localhost').split(',')[0].strip().lstrip('.'); h = 'localhost' if h in ('', '*') else h; p = os.environ.get('GUNICORN_BIND', '0.0.0.0:8000').rsplit(':', 1)[1]; u.urlopen(u.Request(f'http://127.0.0.1:{p}/healthz', headers={'Host': h, 'X-Forwarded-Proto': 'https'}), timeout=4)" || exit 1

CMD ["gunicorn", "-c", "gunicorn.conf.py", "finsys.wsgi:application"]
