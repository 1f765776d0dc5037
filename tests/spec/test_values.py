"""Values parsed for real: libvirt URIs as libvirt reads them, SSH public keys as OpenSSH reads them (cryptography),
PEM certificate bundles (cryptography's x509), the pull secret's structure."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.x509.oid import NameOID
from pydantic import ValidationError

from infra.spec.base import PemBundle, Strict, pem_bundle_problems
from infra.spec.libvirt_uri import UriError, endpoint, parse_libvirt_uri
from infra.spec.secret_values import pull_secret_problems, ssh_public_key_problems

# -- libvirt URIs ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("uri", [
    "qemu:///system", "qemu+ssh://root@hv01.fnal.gov/system", "qemu+ssh://hv01.fnal.gov:2222/system",
    "qemu+tls://hv01.fnal.gov/system", "qemu+unix:///system?socket=/run/libvirt/libvirt-sock",
    "qemu+ssh://nobody@eaf-test-unresolvable.invalid/system?no_tty=1&no_verify=1", "qemu+libssh2://10.0.0.5/system",
    "qemu+ssh://root@[fd00::5]/system", "test:///default", "test:///nonexistent/eaf-hypervisor.xml",
])
def test_uris_libvirt_takes_are_taken(uri: str):
    parse_libvirt_uri(uri)


@pytest.mark.parametrize(("uri", "why"), [
    ("qemu:///session", "per-user daemon"),
    ("qemu+ssh://root@hv01/session", "per-user daemon"),
    ("qemu+tcp://hv01/system", "unencrypted"),
    ("qemu+ext:///system?command=/bin/x", "external command"),
    ("qemu+shh://hv01/system", "did you mean '+ssh'?"),
    ("qemu://hv01/system", "names a host without a transport"),
    ("qemu+ssh:///system", "the ssh transport needs a host"),
    ("qemu+unix://hv01/system", "reaches this machine's daemon only"),
    ("qemu+ssh://root@hv01", "QEMU's system daemon is /system"),
    ("qemu+ssh://root@hv01/system/", "QEMU's system daemon is /system"),
    ("qemu+ssh://root@hv01:0/system", "port 0"),
    ("qemu+ssh://root@hv01:ssh/system", "not a number"),
    ("qemu+ssh://root:pw@hv01/system", "holds a password"),
    ("qemu+ssh://ro ot@hv01/system", "blank"),
    ("qemu+ssh://root@hv_01!/system", "not a DNS name"),
    ("xen:///system", "not one this project drives"),
    ("qemu+ssh://root@hv01/system?keyfile=/k&nocheck=1", "unknown parameter 'nocheck'"),
    ("qemu+ssh://root@hv01/system#x", "fragment"),
    ("test:///nowhere", "the test driver takes /default"),
    ("hv01.fnal.gov", "not a URI"),
    ("", "empty"),
])
def test_uris_libvirt_would_refuse_or_misread_are_refused_with_the_reason(uri: str, why: str):
    with pytest.raises(UriError, match=None) as raised:
        parse_libvirt_uri(uri)
    assert why in str(raised.value), str(raised.value)
    assert "e.g. qemu:///system" in str(raised.value)


def test_one_hypervisor_is_one_endpoint_whoever_logs_in():
    assert endpoint("qemu+ssh://root@HV01.fnal.gov/system") == endpoint("qemu+ssh://admin@hv01.fnal.gov:22/system")
    assert endpoint("qemu+ssh://hv01.fnal.gov:2222/system") != endpoint("qemu+ssh://hv01.fnal.gov/system")
    assert endpoint("qemu+tls://hv01.fnal.gov/system") == endpoint("qemu+tls://hv01.fnal.gov:16514/system")
    assert endpoint("not a uri") is None


# -- SSH public keys ------------------------------------------------------------------------------------------------


def _openssh(key) -> str:
    return key.public_key().public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH).decode()


def test_every_key_type_openssh_reads_is_taken():
    keys = [_openssh(ed25519.Ed25519PrivateKey.generate()) + " a@b",
            _openssh(rsa.generate_private_key(public_exponent=65537, key_size=2048)),
            _openssh(ec.generate_private_key(ec.SECP256R1())) + " ecdsa key with a comment"]
    assert ssh_public_key_problems("\n".join(["# team keys", *keys, ""])) == []


def test_an_rsa_key_openssh_refuses_for_its_size_is_refused():
    # cryptography generates no key this small; the public numbers of one suffice (OpenSSH reads the modulus only).
    weak = rsa.RSAPublicNumbers(65537, (1 << 767) | 0x2B).public_key().public_bytes(
        serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH).decode()
    assert ssh_public_key_problems(weak) == ["line 1 is a 768-bit RSA key; OpenSSH refuses RSA keys under 1024 bits"]


def test_a_fido_key_is_checked_for_its_type_inside():
    blob = b"\x00\x00\x00\x1ask-ssh-ed25519@openssh.com" + b"\x00\x00\x00\x20" + bytes(32) + b"\x00\x00\x00\x04ssh:"
    line = "sk-ssh-ed25519@openssh.com " + base64.b64encode(blob).decode()
    assert ssh_public_key_problems(line) == []
    assert ssh_public_key_problems(line.replace("sk-ssh-ed25519@openssh.com", "ssh-ed25519")) == [
        "line 1 says ssh-ed25519 but holds a sk-ssh-ed25519@openssh.com key"]


@pytest.mark.parametrize(("text", "why"), [
    ("", "holds no public key"),
    ("# only a comment\n", "holds no public key"),
    ("ssh-ed25519", "the key type only"),
    ('from="10.0.0.0/8" ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIE/HdsxKi6pBQdL/4s35kj1Q/cJDCDQ5T02q6xMlT/9W', "options"),
    ("ssh-ed25519-cert-v01@openssh.com AAAA", "an SSH certificate"),
    ("hunter2 is my password", "does not start with a key type OpenSSH knows"),
    ("-----BEGIN RSA PRIVATE KEY-----\nMIIE\n-----END RSA PRIVATE KEY-----", "PRIVATE key"),
    ("PuTTY-User-Key-File-3: ssh-ed25519\nEncryption: none", "PRIVATE key"),
])
def test_what_openssh_would_not_read_is_refused_without_repeating_it(text: str, why: str):
    problems = ssh_public_key_problems(text)
    assert problems and why in problems[0], problems
    assert "hunter2" not in " ".join(problems) and "MIIE" not in " ".join(problems)


# -- pull secrets ---------------------------------------------------------------------------------------------------


def _auth(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def test_a_pull_secret_as_registries_hand_it_out_is_taken():
    secret = {"auths": {"quay.io": {"auth": _auth("robot:token"), "email": "eaf@fnal.gov"},
                        "registry.fnal.gov:5000": {"auth": _auth("eaf:pass")}, "fake": {"auth": "aWQ6cGFzcwo="}}}
    assert pull_secret_problems(secret) == []


@pytest.mark.parametrize(("secret", "why"), [
    ("{not json", "not JSON (Expecting property name enclosed in double quotes at line 1 column 2)"),
    ('"just text"', "not a JSON object"),
    ('{"auth": {}}', 'needs a non-empty "auths" mapping'),
    ('{"auths": {}}', 'needs a non-empty "auths" mapping'),
    ('{"auths": {"quay.io": "cm9ib3Q6dG9rZW4="}}', "auths entry 1 (quay.io) is not a mapping"),
    ('{"auths": {"quay.io": {"auth": 12}}}', '"auth" is not a string'),
    ('{"auths": {"quay.io": {"email": "a@b"}}}', 'has no "auth"'),
    ('{"auths": {"quay.io": {"auth": "cm9ib3Q6dG9rZW4=", "email": 5}}}', '"email" is not a string'),
    ('{"auths": {" ": {"auth": "cm9ib3Q6dG9rZW4="}}}', "empty registry name"),
    ('{"auths": {"quay.io": {"auth": "OnRva2Vu"}}}', "does not decode to user:password"),
])
def test_a_pull_secret_okd_would_refuse_is_refused_by_entry_never_by_value(secret: str, why: str):
    problems = pull_secret_problems(secret)
    assert problems and why in problems[0], problems
    assert "cm9ib3Q6dG9rZW4=" not in " ".join(problems)


# -- PEM bundles ----------------------------------------------------------------------------------------------------


def _certificate(days: int, name: str = "EAF test CA") -> str:
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.now(UTC)
    start = now - timedelta(days=400) if days < 0 else now - timedelta(days=1)
    certificate = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject).public_key(key.public_key())
                   .serial_number(x509.random_serial_number()).not_valid_before(start)
                   .not_valid_after(now + timedelta(days=days))
                   .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
                   .sign(key, hashes.SHA256()))
    return certificate.public_bytes(serialization.Encoding.PEM).decode()


class _WithBundle(Strict):
    bundle: PemBundle


def test_a_bundle_of_certificates_is_taken_text_between_blocks_ignored():
    bundle = "Bag Attributes: from openssl pkcs12\n" + _certificate(30) + "\n# second\n" + _certificate(365, "B")
    assert pem_bundle_problems(bundle) == []
    assert _WithBundle(bundle=bundle).bundle == bundle


@pytest.mark.parametrize(("make", "why"), [
    (lambda: "", "no '-----BEGIN CERTIFICATE-----' block"),
    (lambda: "MIIBszCCAVmgAwIBAgIU", "no '-----BEGIN CERTIFICATE-----' block"),
    (lambda: _certificate(-10), "expired on"),
    (lambda: _certificate(30)[:-40], "without a matching '-----END' line"),
    (lambda: _certificate(30).replace("MI", "MX", 1), "does not parse"),
    (lambda: "-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIA\n-----END PRIVATE KEY-----\n",
     "holds public certificates only"),
    (lambda: "-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEA\n-----END PUBLIC KEY-----\n", "not a CERTIFICATE"),
])
def test_a_bundle_tls_clients_could_not_use_is_refused(make, why: str):
    problems = pem_bundle_problems(make())
    assert problems and any(why in p for p in problems), problems
    assert "MC4CAQAwBQYDK2VwBCIEIA" not in " ".join(problems)
    with pytest.raises(ValidationError):
        _WithBundle(bundle=make())
