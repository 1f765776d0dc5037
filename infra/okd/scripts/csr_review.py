"""Which pending CertificateSigningRequests of a joining cluster may be approved, decided from the CSR itself.

A kubelet asks for two certificates. Its client certificate (signer kube-apiserver-client-kubelet) is requested
with the node-bootstrapper service account's token, before the node exists; its serving certificate (signer
kubelet-serving) is requested by the node itself, as system:node:<name>. The API server records who asked
(spec.username, spec.groups), the signer and the usages; the name and addresses are only in the PKCS#10 request,
so it is decoded (cryptography's x509) and checked against the plan:

- client: from the node bootstrapper, subject exactly CN=system:node:<planned node>, O=system:nodes, no
  alternative names, usages digital signature (+ key encipherment) + client auth, and no Node of that name yet;
- serving: requested by system:node:<planned node> (group system:nodes), the same subject, alternative names
  exactly that node's planned IP address plus its planned host name and/or FQDN, usages digital signature
  (+ key encipherment) + server auth.

Everything else is left pending and reported with the reason: it waits for a human (`oc adm certificate approve`).
Imported by okd_step.py (approve-csrs), which runs with the project's virtualenv, where cryptography is installed.
"""

from __future__ import annotations

import base64
import ipaddress
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from cryptography import x509
from cryptography.x509.oid import NameOID

CLIENT_SIGNER = "kubernetes.io/kube-apiserver-client-kubelet"
SERVING_SIGNER = "kubernetes.io/kubelet-serving"
CSR_CLIENT_REQUESTOR = "system:serviceaccount:openshift-machine-config-operator:node-bootstrapper"
NODES_GROUP = "system:nodes"
NODE_USER_PREFIX = "system:node:"
# What kubelets ask for (key encipherment only with RSA keys); anything beyond this is not a kubelet's request.
CLIENT_USAGES = ({"digital signature", "client auth"}, {"digital signature", "key encipherment", "client auth"})
SERVING_USAGES = ({"digital signature", "server auth"}, {"digital signature", "key encipherment", "server auth"})


@dataclass(frozen=True)
class PlannedNode:
    """What the plan says about a cluster node: the names it may register under and its one address."""

    name: str
    hostname: str
    fqdn: str
    ip: str

    @property
    def names(self) -> frozenset[str]:
        return frozenset({self.hostname, self.fqdn})


@dataclass(frozen=True)
class Decision:
    csr: str  # the CSR object's name
    approve: bool
    node: str | None  # the planned node it is for, when it names one
    reason: str  # why it is (not) approved, for the step's report


def planned_nodes(items: Iterable[dict]) -> list[PlannedNode]:
    return [PlannedNode(name=i["name"], hostname=i["hostname"], fqdn=i["fqdn"], ip=i["ip"]) for i in items]


def _request(csr: dict) -> x509.CertificateSigningRequest:
    """The PKCS#10 request of a CSR object (spec.request: base64 of the PEM)."""
    pem = base64.b64decode(csr["spec"]["request"], validate=True)
    request = x509.load_pem_x509_csr(pem)
    if not request.is_signature_valid:
        raise ValueError("its self-signature does not verify")
    return request


def _subject(request: x509.CertificateSigningRequest) -> tuple[list[str], list[str], int]:
    """(CNs, Os, number of subject attributes)."""
    subject = request.subject
    names = [a.value for a in subject.get_attributes_for_oid(NameOID.COMMON_NAME)]
    organizations = [a.value for a in subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)]
    return [str(n) for n in names], [str(o) for o in organizations], len(list(subject))


def _alternative_names(request: x509.CertificateSigningRequest) -> tuple[set[str], set[str], bool]:
    """(DNS names, IP addresses, whether any other kind of name is asked for)."""
    try:
        sans = request.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return set(), set(), False
    dns = set(sans.get_values_for_type(x509.DNSName))
    ips = {str(ip) for ip in sans.get_values_for_type(x509.IPAddress)}
    return dns, ips, len(list(sans)) != len(dns) + len(ips)


def _node_named(common_names: Sequence[str], organizations: Sequence[str], attributes: int,
                nodes: Sequence[PlannedNode]) -> tuple[PlannedNode | None, str]:
    """The planned node the subject names, or None and why not."""
    if len(common_names) != 1 or organizations != [NODES_GROUP] or attributes != 2:
        return None, f"subject is not exactly CN=system:node:<name>, O={NODES_GROUP}"
    common_name = common_names[0]
    if not common_name.startswith(NODE_USER_PREFIX):
        return None, f"subject CN {common_name!r} is not a node (system:node:<name>)"
    name = common_name.removeprefix(NODE_USER_PREFIX)
    node = next((n for n in nodes if name in n.names), None)
    if node is None:
        return None, f"{name!r} is not a node of this stack's plan"
    return node, ""


def review(csr: dict, nodes: Sequence[PlannedNode], registered: set[str]) -> Decision | None:
    """The decision for one CSR object; None when it is not pending (approved or denied already)."""
    name = csr.get("metadata", {}).get("name", "?")
    if csr.get("status", {}).get("conditions"):
        return None
    spec = csr.get("spec", {})
    signer, user, groups = spec.get("signerName", ""), spec.get("username", ""), spec.get("groups") or []
    usages = set(spec.get("usages") or [])

    def refuse(reason: str, node: PlannedNode | None = None) -> Decision:
        return Decision(name, False, node.name if node else None, f"{reason} (signer {signer}, requested by {user})")

    if signer not in (CLIENT_SIGNER, SERVING_SIGNER):
        return refuse("not a kubelet certificate")
    try:
        request = _request(csr)
    except (KeyError, ValueError, TypeError) as error:
        return refuse(f"the request does not decode as a PKCS#10 CSR: {error}")
    node, why = _node_named(*_subject(request), nodes)
    if node is None:
        return refuse(why)
    dns, ips, other_names = _alternative_names(request)
    if signer == CLIENT_SIGNER:
        if user != CSR_CLIENT_REQUESTOR:
            return refuse(f"a client certificate for {node.name} not requested by the node bootstrapper", node)
        if usages not in CLIENT_USAGES:
            return refuse(f"usages {sorted(usages)} are not a kubelet client's", node)
        if dns or ips or other_names:
            return refuse("a kubelet client certificate has no alternative names", node)
        if node.names & registered:
            return refuse(f"{node.name} is registered already: a second client certificate from the bootstrapper "
                          "(a reinstalled node? approve it by hand if so)", node)
        return Decision(name, True, node.name, f"kubelet client certificate of {node.name}")
    requester = user.removeprefix(NODE_USER_PREFIX) if user.startswith(NODE_USER_PREFIX) else None
    if requester not in node.names or NODES_GROUP not in groups:
        return refuse(f"a serving certificate for {node.name} not requested by that node", node)
    if usages not in SERVING_USAGES:
        return refuse(f"usages {sorted(usages)} are not a kubelet server's", node)
    if other_names:
        return refuse("asks for alternative names other than DNS names and IP addresses", node)
    if ips != {str(ipaddress.ip_address(node.ip))} or not dns or not dns <= node.names:
        return refuse(f"alternative names DNS {sorted(dns)} IP {sorted(ips)} are not {node.name}'s planned "
                      f"{sorted(node.names)} / {node.ip}", node)
    return Decision(name, True, node.name, f"kubelet serving certificate of {node.name}")


def review_all(csrs: dict, nodes: Sequence[PlannedNode], registered: set[str]) -> list[Decision]:
    """Decisions for every pending CSR of a `get csr -o json` list, in name order."""
    decisions = [review(item, nodes, registered) for item in csrs.get("items", [])]
    return sorted((d for d in decisions if d is not None), key=lambda d: d.csr)
