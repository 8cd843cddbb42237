"""The deployment files, read as Docker and nginx would (Docker is not installed where the suite
runs): docker-compose.yml parses and wires the services, the Dockerfile is multi-stage and
non-root, nginx terminates TLS for every web container, and the helper scripts make what the
stack needs. No private key is in the repository."""

from __future__ import annotations

import importlib.util
import re
import subprocess
from pathlib import Path
from types import ModuleType

import yaml
from cryptography import x509

from apps.common.crypto import parse_key_ring
from apps.ops.services.backup_crypto import parse_backup_keys

ROOT = Path(__file__).resolve().parent.parent


def _script(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, ROOT / "deploy" / f"{name}.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def test_compose_runs_every_part_of_the_bank_in_order():
    services = _compose()["services"]
    assert set(services) == {"postgres", "redis", "init", "migrate", "web", "worker", "beat", "nginx"}
    for name in ("web", "worker", "beat"):
        assert services[name]["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
        assert services[name]["read_only"] is True
        assert "user" not in services[name]  # the image's non-root user
        assert services[name]["environment"]["FINSYS_ENV"] == "production"
    assert services["migrate"]["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert services["web"]["deploy"]["replicas"] == "${WEB_REPLICAS:-3}"
    assert services["beat"]["deploy"]["replicas"] == 1
    assert services["beat"]["command"][:4] == ["celery", "-A", "finsys", "beat"]
    assert services["worker"]["command"][:4] == ["celery", "-A", "finsys", "worker"]
    assert services["nginx"]["depends_on"]["web"]["condition"] == "service_healthy"
    assert {"certs:/etc/nginx/certs:ro", "static:/srv/static:ro"} <= set(services["nginx"]["volumes"])
    assert services["postgres"]["image"].startswith("postgres:15")


def test_compose_takes_every_secret_from_env_and_generate_env_provides_them():
    text = (ROOT / "docker-compose.yml").read_text()
    required = set(re.findall(r"\$\{(\w+):\?", text))
    optional = set(re.findall(r"\$\{(\w+):-", text))
    generated = _script("generate_env").generate("bank.example")
    assert required <= set(generated)
    assert {
        "SECRET_KEY",
        "FIELD_ENCRYPTION_KEYS",
        "BLIND_INDEX_KEY",
        "AUDIT_SIGNING_KEY",
        "BACKUP_ENCRYPTION_KEY",
        "POSTGRES_PASSWORD",
    } <= required
    assert "EXPORT_PSEUDONYM_KEY" in optional
    # The generated values are what production accepts.
    assert len(generated["SECRET_KEY"]) >= 50
    parse_key_ring(generated["FIELD_ENCRYPTION_KEYS"])
    parse_backup_keys(generated["BACKUP_ENCRYPTION_KEY"])
    env = _compose()["x-finsys-env"]
    assert env["DATABASE_URL"].startswith("postgres://finsys:${POSTGRES_PASSWORD")
    for value in env.values():  # nothing secret is written into the file itself
        assert not re.fullmatch(r"[A-Za-z0-9+/]{43}=", str(value))


def test_dockerfile_is_multi_stage_non_root_and_sets_every_production_key_for_collectstatic():
    text = (ROOT / "Dockerfile").read_text()
    stages = re.findall(r"^FROM (\S+)(?: AS (\w+))?", text, flags=re.MULTILINE)
    assert [alias for _image, alias in stages] == ["builder", "runtime"]
    assert "pip wheel --wheel-dir /wheels" in text
    assert "--no-index --find-links=/wheels" in text
    assert re.search(r"^USER finsys$", text, flags=re.MULTILINE)
    assert "HEALTHCHECK" in text
    assert "postgresql-client" in text  # manage.py backup / restore inside the container
    assert text.rstrip().endswith('CMD ["gunicorn", "-c", "gunicorn.conf.py", "finsys.wsgi:application"]')
    production = (ROOT / "finsys" / "settings" / "production.py").read_text()
    required_block = production[
        production.index("_required = {") : production.index("}", production.index("_required = {"))
    ]
    collectstatic = text[text.index("RUN SECRET_KEY=") : text.index("collectstatic --noinput")]
    for name in re.findall(r'"(\w+)":', required_block):
        assert f"{name}=" in collectstatic, f"the image build lacks a placeholder for {name}"


def test_nginx_terminates_tls_and_balances_over_the_web_containers():
    conf = (ROOT / "deploy" / "nginx.conf").read_text()
    assert conf.count("{") == conf.count("}")
    assert "server web:8000 resolve" in conf
    assert "ssl_certificate /etc/nginx/certs/tls.crt;" in conf
    assert "ssl_certificate_key /etc/nginx/certs/tls.key;" in conf
    assert "ssl_protocols TLSv1.2 TLSv1.3;" in conf
    assert "proxy_set_header X-Forwarded-Proto https;" in conf  # Django's SECURE_PROXY_SSL_HEADER
    assert "return 301 https://$host$request_uri;" in conf
    assert re.search(r"location /static/ \{\s+alias /srv/static/;", conf)
    read_timeout = int(re.search(r"proxy_read_timeout (\d+)s;", conf).group(1))
    gunicorn = (ROOT / "gunicorn.conf.py").read_text()
    assert read_timeout > int(re.search(r'"GUNICORN_TIMEOUT", "(\d+)"', gunicorn).group(1))


def test_selfsigned_cert_makes_a_usable_pair_once_and_keeps_an_existing_one(tmp_path):
    script = _script("selfsigned_cert")
    assert script.make_pair(tmp_path, "bank.example", 30) is True
    cert = x509.load_pem_x509_certificate((tmp_path / "tls.crt").read_bytes())
    names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert {"bank.example", "localhost"} <= set(names.get_values_for_type(x509.DNSName))
    assert (tmp_path / "tls.key").stat().st_mode & 0o777 == 0o600
    before = (tmp_path / "tls.key").read_bytes()
    assert script.make_pair(tmp_path, "other.example", 30) is False
    assert (tmp_path / "tls.key").read_bytes() == before


def test_no_private_key_is_committed():
    marker = re.compile(rb"-----BEGIN [A-Z ]*PRIVATE" + rb" KEY-----")  # split: this file is committed too
    files = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True).stdout.split()
    for name in files:
        path = ROOT / name
        if path.is_file() and path.stat().st_size < 1_000_000:
            assert not marker.search(path.read_bytes()), name
