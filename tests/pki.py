"""Real X.509 material for tests, made with cryptography: a site's CA certificate as a trust bundle holds it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from functools import cache

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID


@cache
def ca_certificate_pem(common_name: str = "EAF Test Site CA", days: int = 3650) -> str:
    """A self-signed CA certificate (P-256), valid from yesterday for `days` days (negative: expired)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    start = datetime.now(UTC) - timedelta(days=1)
    end = start + timedelta(days=days) if days > 0 else datetime.now(UTC) + timedelta(days=days)
    certificate = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
                   .serial_number(x509.random_serial_number()).not_valid_before(start - timedelta(days=400))
                   .not_valid_after(end)
                   .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
                   .sign(key, hashes.SHA256()))
    return certificate.public_bytes(serialization.Encoding.PEM).decode("ascii")
