"""infra/okd/scripts/csr_review.py: which pending CSRs approve-csrs approves, decided from the decoded PKCS#10
request. Every CSR here is a real one, generated with cryptography's x509 builder (EC keys, as kubelets use) or by
openssl, wrapped in a CertificateSigningRequest object the way the API server returns it."""

from __future__ import annotations

import base64
import ipaddress
import shutil
import subprocess

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from infra.okd.scripts import csr_review
from infra.okd.scripts.csr_review import CLIENT_SIGNER, CSR_CLIENT_REQUESTOR, SERVING_SIGNER, PlannedNode

NODES = [PlannedNode("worker-0", "worker-0", "worker-0.eaf-dev.fnal.gov", "10.42.16.20"),
         PlannedNode("ctrl-0", "ctrl-0", "ctrl-0.eaf-dev.fnal.gov", "10.42.16.10")]
CLIENT_USAGES = ["digital signature", "client auth"]
SERVING_USAGES = ["digital signature", "server auth"]


def _pem(common_name: str, organization: str | None = "system:nodes", dns: tuple[str, ...] = (),
         ips: tuple[str, ...] = (), emails: tuple[str, ...] = ()) -> bytes:
    """A PKCS#10 request signed by a fresh P-256 key, as a kubelet makes it."""
    attributes = [x509.NameAttribute(NameOID.COMMON_NAME, common_name)]
    if organization is not None:
        attributes.insert(0, x509.NameAttribute(NameOID.ORGANIZATION_NAME, organization))
    builder = x509.CertificateSigningRequestBuilder().subject_name(x509.Name(attributes))
    names = [x509.DNSName(d) for d in dns] + [x509.IPAddress(ipaddress.ip_address(i)) for i in ips] + \
        [x509.RFC822Name(e) for e in emails]
    if names:
        builder = builder.add_extension(x509.SubjectAlternativeName(names), critical=False)
    request = builder.sign(ec.generate_private_key(ec.SECP256R1()), hashes.SHA256())
    return request.public_bytes(serialization.Encoding.PEM)


def _object(name: str, pem: bytes, signer: str, user: str, usages: list[str], groups: tuple[str, ...] = (),
            approved: bool = False) -> dict:
    """A CertificateSigningRequest as `kubectl get csr -o json` lists it."""
    return {"metadata": {"name": name},
            "spec": {"request": base64.b64encode(pem).decode(), "signerName": signer, "username": user,
                     "groups": list(groups), "usages": usages},
            "status": {"conditions": [{"type": "Approved", "status": "True"}]} if approved else {}}


def _client(name: str = "csr-client", node: str = "worker-0", user: str = CSR_CLIENT_REQUESTOR, **subject) -> dict:
    return _object(name, _pem(f"system:node:{node}", **subject), CLIENT_SIGNER, user, CLIENT_USAGES,
                   ("system:serviceaccounts", "system:authenticated"))


def _serving(name: str = "csr-serving", node: str = "worker-0", user: str | None = None,
             dns: tuple[str, ...] = ("worker-0",), ips: tuple[str, ...] = ("10.42.16.20",), **extra) -> dict:
    return _object(name, _pem(f"system:node:{node}", dns=dns, ips=ips, **extra), SERVING_SIGNER,
                   user or f"system:node:{node}", SERVING_USAGES, ("system:nodes", "system:authenticated"))


def _decide(csr: dict, registered: frozenset[str] = frozenset()) -> csr_review.Decision:
    decision = csr_review.review(csr, NODES, set(registered))
    assert decision is not None
    return decision


def test_a_planned_nodes_client_csr_from_the_node_bootstrapper_is_approved():
    decision = _decide(_client())
    assert decision.approve and decision.node == "worker-0", decision


def test_a_client_csr_for_a_node_outside_the_plan_is_reported():
    decision = _decide(_client(node="laptop"))
    assert not decision.approve and "'laptop' is not a node of this stack's plan" in decision.reason


def test_a_client_csr_not_from_the_node_bootstrapper_is_reported():
    decision = _decide(_client(user="system:serviceaccount:default:builder"))
    assert not decision.approve and "not requested by the node bootstrapper" in decision.reason


def test_a_client_csr_outside_the_system_nodes_group_is_reported():
    decision = _decide(_client(organization="system:masters"))
    assert not decision.approve and "subject is not exactly" in decision.reason


def test_a_second_client_csr_for_a_registered_node_is_reported():
    decision = _decide(_client(), registered=frozenset({"worker-0"}))
    assert not decision.approve and "registered already" in decision.reason


def test_a_serving_csr_with_the_nodes_planned_name_and_address_is_approved():
    decision = _decide(_serving(dns=("worker-0", "worker-0.eaf-dev.fnal.gov")))
    assert decision.approve and decision.node == "worker-0", decision


def test_a_serving_csr_for_another_address_is_reported():
    decision = _decide(_serving(ips=("10.42.16.99",)))
    assert not decision.approve and "10.42.16.99" in decision.reason and "10.42.16.20" in decision.reason


def test_a_serving_csr_with_an_extra_dns_name_is_reported():
    decision = _decide(_serving(dns=("worker-0", "api.eaf-dev.fnal.gov")))
    assert not decision.approve and "api.eaf-dev.fnal.gov" in decision.reason


def test_a_serving_csr_with_another_kind_of_alternative_name_is_reported():
    decision = _decide(_serving(emails=("root@worker-0",)))
    assert not decision.approve and "other than DNS names and IP addresses" in decision.reason


def test_a_node_cannot_ask_for_another_nodes_serving_certificate():
    decision = _decide(_serving(node="ctrl-0", user="system:node:worker-0", dns=("ctrl-0",), ips=("10.42.16.10",)))
    assert not decision.approve and "not requested by that node" in decision.reason


def test_a_request_whose_signature_does_not_verify_is_reported():
    pem = _pem("system:node:worker-0")
    request = x509.load_pem_x509_csr(pem)
    der = bytearray(request.public_bytes(serialization.Encoding.DER))
    der[-1] ^= 0x01  # the signature's last byte
    tampered = b"-----BEGIN CERTIFICATE REQUEST-----\n" + base64.encodebytes(bytes(der)) + \
        b"-----END CERTIFICATE REQUEST-----\n"
    csr = _object("csr-tampered", tampered, CLIENT_SIGNER, CSR_CLIENT_REQUESTOR, CLIENT_USAGES)
    decision = _decide(csr)
    assert not decision.approve and "its self-signature does not verify" in decision.reason, decision


def test_a_csr_of_another_signer_is_reported():
    csr = _object("csr-legacy", _pem("system:node:worker-0"), "kubernetes.io/legacy-unknown", CSR_CLIENT_REQUESTOR,
                  CLIENT_USAGES)
    assert not _decide(csr).approve


@pytest.mark.real
def test_an_openssl_made_serving_csr_is_decoded_the_same(tmp_path):
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.fail("openssl is missing: apt-get install openssl (scripts/install-system-packages.sh)")
    key, request = tmp_path / "key.pem", tmp_path / "req.pem"
    subprocess.run([openssl, "req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                    "-keyout", str(key), "-out", str(request), "-subj", "/O=system:nodes/CN=system:node:ctrl-0",
                    "-addext", "subjectAltName=DNS:ctrl-0.eaf-dev.fnal.gov,IP:10.42.16.10"],
                   check=True, capture_output=True)
    csr = _object("csr-openssl", request.read_bytes(), SERVING_SIGNER, "system:node:ctrl-0", SERVING_USAGES,
                  ("system:nodes",))
    decision = _decide(csr)
    assert decision.approve and decision.node == "ctrl-0", decision


def test_decided_csrs_are_skipped_and_the_rest_come_in_name_order():
    done = _object("csr-c", _pem("system:node:worker-0"), CLIENT_SIGNER, CSR_CLIENT_REQUESTOR, CLIENT_USAGES,
                   approved=True)
    csrs = {"items": [_serving("csr-b"), _client("csr-a", node="laptop"), done]}
    decisions = csr_review.review_all(csrs, NODES, set())
    assert [(d.csr, d.approve) for d in decisions] == [("csr-a", False), ("csr-b", True)]
