"""Make a self-signed TLS certificate for nginx if the directory holds none yet.

    python deploy/selfsigned_cert.py CERT_DIR [--hostname bank.example] [--days 365]

Writes CERT_DIR/tls.key (EC P-256, mode 0600) and CERT_DIR/tls.crt (for the hostname, localhost
and 127.0.0.1). An existing pair is kept untouched, so real certificates put there by the operator
survive every `docker compose up`. Self-signed is for trying the stack out and for internal
networks; browsers and API clients must be told to trust it. No key is ever committed.
"""

from __future__ import annotations

import argparse
import datetime as dt
import ipaddress
import os
import sys
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID


def make_pair(directory: Path, hostname: str, days: int) -> bool:
    """Write the pair; False when one is already there (nothing is changed then)."""
    key_path, cert_path = directory / "tls.key", directory / "tls.crt"
    if key_path.exists() and cert_path.exists():
        return False
    directory.mkdir(parents=True, exist_ok=True)
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, hostname)])
    now = dt.datetime.now(dt.UTC)
    names: list[x509.GeneralName] = [x509.DNSName(hostname), x509.DNSName("localhost")]
    names.append(x509.IPAddress(ipaddress.ip_address("127.0.0.1")))
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=days))
        .add_extension(x509.SubjectAlternativeName(names), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .sign(key, hashes.SHA256())
    )
    fd = os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(
            key.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            )
        )
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return True


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("directory", type=Path)
    parser.add_argument("--hostname", default="localhost")
    parser.add_argument("--days", type=int, default=365)
    args = parser.parse_args(argv)
    made = make_pair(args.directory, args.hostname.strip() or "localhost", args.days)
    state = "made a self-signed certificate" if made else "kept the existing certificate"
    print(f"{state} in {args.directory}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
