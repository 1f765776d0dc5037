"""Throw-away certificates for the local test API server (tests/support/apiserver.py).

One CA signs the serving certificate and an admin client certificate; a separate
key signs service-account tokens. ECDSA P-256 keeps generation to milliseconds.
Everything lives in a per-session directory and is deleted with it.

The one-node cluster (tests/support/kube_node.py) asks for more names on the serving
certificate (the node address, the `kubernetes` Service's IP and DNS names) and has the
same CA issue the other components' identities: `issue_client_cert` (kubelet as
system:node:<name>, the controller manager, the scheduler, kube-proxy, the API server's
kubelet client) and `issue_serving_cert` (kubelet's HTTPS endpoint).
"""

from __future__ import annotations

import datetime
import ipaddress
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

# Members of system:masters bypass RBAC, which is what an admin test client needs.
ADMIN_USER = "eaf-test-admin"
ADMIN_GROUP = "system:masters"
_VALIDITY = datetime.timedelta(days=1)


@dataclass(frozen=True)
class ApiServerPki:
    ca_cert: Path
    ca_key: Path
    serving_cert: Path
    serving_key: Path
    client_cert: Path
    client_key: Path
    service_account_key: Path
    service_account_pub: Path


def _new_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def _write_key(key: ec.EllipticCurvePrivateKey, path: Path) -> None:
    path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    path.chmod(0o600)


def _write_cert(cert: x509.Certificate, path: Path) -> None:
    path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))


def _builder(subject: x509.Name, issuer: x509.Name, public_key) -> x509.CertificateBuilder:
    # Backdate a little so a clock step between processes does not make it "not yet valid".
    now = datetime.datetime.now(datetime.UTC)
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + _VALIDITY)
    )


def _leaf(
    ca_key: ec.EllipticCurvePrivateKey,
    ca_name: x509.Name,
    subject: x509.Name,
    usage: x509.ObjectIdentifier,
    sans: list[x509.GeneralName],
) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    key = _new_key()
    builder = (
        _builder(subject, ca_name, key.public_key())
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
    )
    if sans:
        builder = builder.add_extension(x509.SubjectAlternativeName(sans), critical=False)
    return builder.sign(ca_key, hashes.SHA256()), key


@dataclass(frozen=True)
class ServingNames:
    """Extra subject alternative names of the API server's serving certificate (127.0.0.1 and localhost always)."""

    ips: tuple[str, ...] = ()
    dns: tuple[str, ...] = ()


@dataclass(frozen=True)
class CertPair:
    cert: Path
    key: Path


def create_pki(directory: Path, serving_names: ServingNames = ServingNames()) -> ApiServerPki:
    """Write a CA, a serving pair for 127.0.0.1 (+ serving_names), an admin client pair and a service-account key."""
    directory.mkdir(parents=True, exist_ok=True)

    ca_key = _new_key()
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "eaf-test-apiserver-ca")])
    ca_cert = (
        _builder(ca_name, ca_name, ca_key.public_key())
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .sign(ca_key, hashes.SHA256())
    )

    serving_cert, serving_key = _leaf(
        ca_key,
        ca_name,
        x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "kube-apiserver")]),
        ExtendedKeyUsageOID.SERVER_AUTH,
        _sans(("127.0.0.1", *serving_names.ips), ("localhost", *serving_names.dns)),
    )
    client_cert, client_key = _leaf(
        ca_key,
        ca_name,
        x509.Name(
            [
                x509.NameAttribute(NameOID.ORGANIZATION_NAME, ADMIN_GROUP),
                x509.NameAttribute(NameOID.COMMON_NAME, ADMIN_USER),
            ]
        ),
        ExtendedKeyUsageOID.CLIENT_AUTH,
        [],
    )
    sa_key = _new_key()

    pki = ApiServerPki(
        ca_cert=directory / "ca.crt",
        ca_key=directory / "ca.key",
        serving_cert=directory / "apiserver.crt",
        serving_key=directory / "apiserver.key",
        client_cert=directory / "admin.crt",
        client_key=directory / "admin.key",
        service_account_key=directory / "sa.key",
        service_account_pub=directory / "sa.pub",
    )
    _write_cert(ca_cert, pki.ca_cert)
    _write_key(ca_key, pki.ca_key)
    _write_cert(serving_cert, pki.serving_cert)
    _write_key(serving_key, pki.serving_key)
    _write_cert(client_cert, pki.client_cert)
    _write_key(client_key, pki.client_key)
    _write_key(sa_key, pki.service_account_key)
    pki.service_account_pub.write_bytes(
        sa_key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    return pki


def _sans(ips: tuple[str, ...], dns: tuple[str, ...]) -> list[x509.GeneralName]:
    names: list[x509.GeneralName] = [x509.IPAddress(ipaddress.ip_address(ip)) for ip in dict.fromkeys(ips)]
    return names + [x509.DNSName(name) for name in dict.fromkeys(dns)]


def _load_ca(pki: ApiServerPki) -> tuple[ec.EllipticCurvePrivateKey, x509.Name]:
    ca_key = serialization.load_pem_private_key(pki.ca_key.read_bytes(), password=None)
    ca_cert = x509.load_pem_x509_certificate(pki.ca_cert.read_bytes())
    return ca_key, ca_cert.subject


def _write_pair(cert: x509.Certificate, key: ec.EllipticCurvePrivateKey, directory: Path, name: str) -> CertPair:
    pair = CertPair(cert=directory / f"{name}.crt", key=directory / f"{name}.key")
    _write_cert(cert, pair.cert)
    _write_key(key, pair.key)
    return pair


def issue_client_cert(pki: ApiServerPki, name: str, user: str, groups: tuple[str, ...] = ()) -> CertPair:
    """A client certificate for `user` in `groups` (CN and O, as the API server reads them), next to the CA."""
    ca_key, ca_name = _load_ca(pki)
    subject = x509.Name(
        [x509.NameAttribute(NameOID.ORGANIZATION_NAME, group) for group in groups]
        + [x509.NameAttribute(NameOID.COMMON_NAME, user)]
    )
    cert, key = _leaf(ca_key, ca_name, subject, ExtendedKeyUsageOID.CLIENT_AUTH, [])
    return _write_pair(cert, key, pki.ca_cert.parent, name)


def issue_serving_cert(pki: ApiServerPki, name: str, names: ServingNames) -> CertPair:
    """A serving certificate for the given addresses and DNS names, next to the CA."""
    ca_key, ca_name = _load_ca(pki)
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    cert, key = _leaf(ca_key, ca_name, subject, ExtendedKeyUsageOID.SERVER_AUTH, _sans(names.ips, names.dns))
    return _write_pair(cert, key, pki.ca_cert.parent, name)
