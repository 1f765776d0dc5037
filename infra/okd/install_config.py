"""OKD's install-config.yaml for platform none: prepared from the spec, rendered with jinja2, parsed back and checked.

The pull secret and SSH keys are Pulumi secrets, so the rendered text is a secret Output. The spec-only checks run at
program evaluation (before any resource exists); the secret fields are checked when their values arrive.
"""

from __future__ import annotations

import hashlib
import json
from ipaddress import IPv4Network
from pathlib import Path
from typing import Any

import pulumi
import yaml

from infra import templates
from infra.contracts import InstallInput
from infra.plan.model import Role
from infra.secrets import StackSecrets
from infra.spec.errors import ConfigError, Problem

TEMPLATES = Path(__file__).parent / "templates"
SECRET_SHOWN = "(secret, not shown)"
# OVN-Kubernetes keeps these for itself (join switch and transit switch); no cluster network may overlap them.
OVN_RESERVED = (IPv4Network("100.64.0.0/16"), IPv4Network("100.88.0.0/16"))
SUPPORTED_NETWORK_TYPES = ("OVNKubernetes",)
SSH_KEY_TYPES = ("ssh-ed25519", "ssh-rsa", "ecdsa-sha2-", "sk-ssh-ed25519@openssh.com", "sk-ecdsa-sha2-")
# Placeholders that let the spec-derived part of the file be rendered and checked before the secrets resolve.
_PLACEHOLDER_PULL_SECRET = '{"auths":{"placeholder.invalid":{"auth":"cGxhY2Vob2xkZXI6eA=="}}}'
_PLACEHOLDER_SSH_KEY = "ssh-ed25519 AAAAplaceholder eaf-evaluation"


def _quoted(text: str) -> str:
    """A YAML double-quoted scalar: JSON string syntax is valid YAML, so any character survives."""
    return json.dumps(text)


def compute_replicas(install: InstallInput) -> int:
    """Workers and GPU workers together; 0 means the control plane runs the workloads (masters schedulable)."""
    return len(install.plan.with_flag(compute=True))


def masters_schedulable(install: InstallInput) -> bool:
    chosen = install.okd.masters_schedulable
    return compute_replicas(install) == 0 if chosen is None else chosen


def template_values(install: InstallInput) -> dict[str, Any]:
    """Everything the template places except the secrets, already quoted where YAML needs it."""
    spec = install
    okd = spec.okd
    proxy = okd.proxy
    proxy_settings = [] if proxy is None else [
        (key, _quoted(value)) for key, value in
        (("httpProxy", proxy.http_proxy), ("httpsProxy", proxy.https_proxy), ("noProxy", proxy.no_proxy))
        if value is not None
    ]
    mirrors = [(_quoted(m.source), [_quoted(x) for x in m.mirrors]) for m in okd.image_mirrors]
    return {
        "cluster_name": spec.cluster.name,
        "base_domain": spec.cluster.base_domain,
        "control_plane_replicas": len(install.plan.by_role(Role.CONTROLLER)),
        "compute_replicas": compute_replicas(install),
        "network_type": okd.networking.network_type,
        "machine_network": str(spec.network.cidr),
        "cluster_network": str(okd.networking.cluster_network),
        "host_prefix": okd.networking.host_prefix,
        "service_network": str(okd.networking.service_network),
        "proxy_sections": [proxy_settings] if proxy_settings else [],
        "mirror_sections": [mirrors] if mirrors else [],
        "trust_bundle_sections": [] if okd.additional_trust_bundle is None else [
            (_quoted(okd.additional_trust_bundle), okd.additional_trust_bundle_policy)],
    }


def render(values: dict[str, Any], pull_secret: str, ssh_keys: list[str]) -> str:
    return templates.render(TEMPLATES, "install-config.yaml.j2", **values, pull_secret=_quoted(pull_secret.strip()),
                            ssh_key=_quoted("\n".join(k.strip() for k in ssh_keys)))


def _expected(install: InstallInput) -> dict[str, tuple[str, object]]:
    """Dotted install-config path -> (config path it comes from, the value the spec asks for)."""
    spec = install
    net = spec.okd.networking
    proxy = spec.okd.proxy
    expected: dict[str, tuple[str, object]] = {
        "apiVersion": ("(template)", "v1"),
        "metadata.name": ("eaf:cluster.name", spec.cluster.name),
        "baseDomain": ("eaf:cluster.baseDomain", spec.cluster.base_domain),
        "controlPlane.replicas": ("eaf:nodes.controllers.count", len(install.plan.by_role(Role.CONTROLLER))),
        "compute.0.replicas": ("eaf:nodes.workers.count", compute_replicas(install)),
        "networking.networkType": ("eaf:okd.networking.networkType", net.network_type),
        "networking.machineNetwork.0.cidr": ("eaf:network.cidr", str(spec.network.cidr)),
        "networking.clusterNetwork.0.cidr": ("eaf:okd.networking.clusterNetwork", str(net.cluster_network)),
        "networking.clusterNetwork.0.hostPrefix": ("eaf:okd.networking.hostPrefix", net.host_prefix),
        "networking.serviceNetwork.0": ("eaf:okd.networking.serviceNetwork", str(net.service_network)),
        "platform": ("(template)", {"none": {}}),
        "proxy": ("eaf:okd.proxy", None if proxy is None else {
            k: v for k, v in (("httpProxy", proxy.http_proxy), ("httpsProxy", proxy.https_proxy),
                              ("noProxy", proxy.no_proxy)) if v is not None} or None),
        "imageDigestSources": ("eaf:okd.imageMirrors", [
            {"source": m.source, "mirrors": list(m.mirrors)} for m in spec.okd.image_mirrors] or None),
        "additionalTrustBundle": ("eaf:okd.additionalTrustBundle", spec.okd.additional_trust_bundle),
        "additionalTrustBundlePolicy": ("eaf:okd.additionalTrustBundlePolicy", None
                                        if spec.okd.additional_trust_bundle is None
                                        else spec.okd.additional_trust_bundle_policy),
    }
    return expected


def _at(document: Any, dotted: str) -> Any:
    current = document
    for part in dotted.split("."):
        if isinstance(current, list) and part.isdigit() and int(part) < len(current):
            current = current[int(part)]
        elif isinstance(current, dict) and part in current:
            current = current[part]
        else:
            return None
    return current


def _pull_secret_problems(pull_secret: object) -> list[Problem]:
    fix = ("set the pull secret from console.redhat.com or your mirror registry: "
           "pulumi config set --secret eaf:pullSecret < pull-secret.json")
    if not isinstance(pull_secret, str) or not pull_secret.strip():
        return [Problem("eaf:pullSecret", SECRET_SHOWN, "the install-config has no pull secret", fix)]
    try:
        parsed = json.loads(pull_secret)
    except json.JSONDecodeError as error:
        return [Problem("eaf:pullSecret", SECRET_SHOWN, f"not JSON ({error.msg} at character {error.pos})", fix)]
    auths = parsed.get("auths") if isinstance(parsed, dict) else None
    if not isinstance(auths, dict) or not auths:
        return [Problem("eaf:pullSecret", SECRET_SHOWN, 'not a pull secret: it needs a non-empty "auths" mapping',
                        fix + ' (or the fake one {"auths":{"fake":{"auth":"aWQ6cGFzcwo="}}})')]
    return []


def _ssh_key_problems(ssh_key: object) -> list[Problem]:
    fix = "pulumi config set --secret eaf:sshPublicKeys < ~/.ssh/id_ed25519.pub (one public key per line)"
    lines = [line for line in ssh_key.splitlines() if line.strip()] if isinstance(ssh_key, str) else []
    if not lines:
        return [Problem("eaf:sshPublicKeys", SECRET_SHOWN, "no SSH public key: nobody could log in to a node", fix)]
    bad = [i for i, line in enumerate(lines, 1) if not line.startswith(SSH_KEY_TYPES)]
    if bad:
        return [Problem("eaf:sshPublicKeys", SECRET_SHOWN,
                        f"line(s) {', '.join(map(str, bad))} are not OpenSSH public keys (a private key, or a typo?)",
                        fix)]
    return []


def check(text: str, install: InstallInput) -> list[Problem]:
    """Parse the rendered install-config back and compare it with the spec it was made from."""
    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError as error:
        return [Problem("install-config.yaml", None, f"the rendered file is not YAML: {error}",
                        "a value broke the template; report it with the stack file")]
    if not isinstance(document, dict):
        return [Problem("install-config.yaml", None, "the rendered file is not a mapping", "check the template")]
    problems = []
    for dotted, (source, wanted) in _expected(install).items():
        found = _at(document, dotted)
        if found != wanted:
            why = (f"install-config {dotted} is missing" if found is None
                   else f"install-config {dotted} is {found!r}, the spec says {wanted!r}")
            problems.append(Problem(source, wanted, why, "the template and the spec disagree; fix the template"))
    problems += _pull_secret_problems(document.get("pullSecret"))
    problems += _ssh_key_problems(document.get("sshKey"))
    return problems


def _overlaps(install: InstallInput) -> list[Problem]:
    net = install.okd.networking
    named = [("eaf:network.cidr", install.network.cidr), ("eaf:okd.networking.clusterNetwork", net.cluster_network),
             ("eaf:okd.networking.serviceNetwork", net.service_network)]
    problems = []
    for i, (path, network) in enumerate(named):
        for other_path, other in named[:i]:
            if network.overlaps(other):
                problems.append(Problem(path, str(network), f"overlaps {other_path} {other}",
                                        "give the machine, cluster (pod) and service networks disjoint ranges"))
        if net.network_type == "OVNKubernetes":
            for reserved in OVN_RESERVED:
                if network.overlaps(reserved):
                    problems.append(Problem(path, str(network), f"overlaps {reserved}, which OVN-Kubernetes reserves",
                                            "pick a range outside 100.64.0.0/16 and 100.88.0.0/16"))
    return problems


def _host_prefix_problems(install: InstallInput) -> list[Problem]:
    net = install.okd.networking
    nodes = len(install.plan.with_flag(cluster_node=True))
    if net.host_prefix <= net.cluster_network.prefixlen:
        return [Problem("eaf:okd.networking.hostPrefix", net.host_prefix,
                        f"each node's pod subnet (/{net.host_prefix}) must be smaller than the cluster network "
                        f"{net.cluster_network}", f"use a hostPrefix above {net.cluster_network.prefixlen}, e.g. 23")]
    room = 2 ** (net.host_prefix - net.cluster_network.prefixlen)
    if room < nodes:
        return [Problem("eaf:okd.networking.hostPrefix", net.host_prefix,
                        f"{net.cluster_network} holds only {room} node subnets of /{net.host_prefix}, "
                        f"the cluster has {nodes} nodes", "use a larger clusterNetwork or a larger hostPrefix")]
    return []


def _proxy_problems(install: InstallInput) -> list[Problem]:
    proxy = install.okd.proxy
    if proxy is None:
        return []
    problems = []
    if proxy.http_proxy is None and proxy.https_proxy is None:
        problems.append(Problem("eaf:okd.proxy", proxy.model_dump(by_alias=True), "a proxy without httpProxy or "
                                "httpsProxy does nothing", "set httpProxy and/or httpsProxy, or remove eaf:okd.proxy"))
    for key, value in (("httpProxy", proxy.http_proxy), ("httpsProxy", proxy.https_proxy)):
        if value is not None and not value.startswith(("http://", "https://")):
            problems.append(Problem(f"eaf:okd.proxy.{key}", value, "not an http:// or https:// URL",
                                    "give the proxy URL, e.g. http://proxy.example.org:3128"))
    if proxy.no_proxy is not None and any(c.isspace() for c in proxy.no_proxy):
        problems.append(Problem("eaf:okd.proxy.noProxy", proxy.no_proxy, "contains blanks",
                                "give a comma-separated list without spaces, e.g. .fnal.gov,10.0.0.0/8"))
    return problems


def _mirror_problems(install: InstallInput) -> list[Problem]:
    problems = []
    for i, mirror in enumerate(install.okd.image_mirrors):
        path = f"eaf:okd.imageMirrors[{i}]"
        if not mirror.mirrors:
            problems.append(Problem(f"{path}.mirrors", [], "no mirror for this source",
                                    "list at least one mirror repository"))
        for where, repo in [(f"{path}.source", mirror.source)] + [(f"{path}.mirrors", m) for m in mirror.mirrors]:
            if "@" in repo or ":" in repo.rsplit("/", 1)[-1]:
                problems.append(Problem(where, repo, "a repository is named without tag or digest",
                                        "drop the :tag / @sha256:… part, e.g. quay.io/openshift/okd"))
    return problems


def spec_problems(install: InstallInput) -> list[Problem]:
    """Config problems that make an install-config OKD would refuse or mis-install."""
    net = install.okd.networking
    problems = []
    if net.network_type not in SUPPORTED_NETWORK_TYPES:
        problems.append(Problem("eaf:okd.networking.networkType", net.network_type,
                                "new OKD >= 4.15 installs support only OVN-Kubernetes (OpenShiftSDN is gone)",
                                "use OVNKubernetes"))
    return problems + _overlaps(install) + _host_prefix_problems(install) + _proxy_problems(install) + \
        _mirror_problems(install)


def checked_text(values: dict[str, Any], install: InstallInput, pull_secret: str, ssh_keys: list[str]) -> str:
    """Render and check; a problem raises ConfigError naming the stack, field, value (never a secret) and fix."""
    text = render(values, pull_secret, ssh_keys)
    problems = check(text, install)
    if problems:
        raise ConfigError(install.stack, problems)
    return text


def _secret_problems() -> list[Problem]:
    """The secrets' plain values are in the engine's config already (load_spec checks they are there): checking them
    here, at evaluation, refuses a bad one before any resource exists. Nothing of them is kept or shown."""
    from infra.secrets import _split_keys
    from infra.stack_config import engine_config

    raw = engine_config()
    # The engine config parses JSON-looking values (a pull secret is one); the install-config gets the text.
    pull_secret, ssh_keys = (value if value is None or isinstance(value, str) else json.dumps(value)
                             for value in (raw.get("pullSecret"), raw.get("sshPublicKeys")))
    problems = [] if pull_secret is None else _pull_secret_problems(pull_secret)
    return problems + ([] if ssh_keys is None else _ssh_key_problems("\n".join(_split_keys(ssh_keys))))


def install_config(install: InstallInput, secrets: StackSecrets) -> pulumi.Output[str]:
    """The checked install-config text as a secret Output. Config problems raise here, before any resource exists;
    the same checks run again on the rendered text once the secrets resolve."""
    values = template_values(install)
    problems = spec_problems(install) + _secret_problems()
    problems += check(render(values, _PLACEHOLDER_PULL_SECRET, [_PLACEHOLDER_SSH_KEY]), install)
    if problems:
        raise ConfigError(install.stack, problems)
    text = pulumi.Output.all(secrets.pull_secret, secrets.ssh_public_keys).apply(
        lambda args: checked_text(values, install, args[0], args[1]))
    return pulumi.Output.secret(text)


# What a running cluster changes in place, so it is no part of the install's identity: the compute replicas (in UPI
# a worker joins with worker.ign and an approved CSR), the pull secret and SSH keys (rotated on the cluster:
# openshift-config/pull-secret, a MachineConfig), and the proxy, the image mirrors and the trust bundle (the
# cluster's Proxy, ImageDigestMirrorSet and user-ca-bundle objects, kept by bring-up's apply-cluster-settings).
DAY_TWO_KEYS = ("pullSecret", "sshKey", "proxy", "imageDigestSources", "additionalTrustBundle",
                "additionalTrustBundlePolicy")


def identity_hash(install: InstallInput) -> str:
    """sha256 of what in the install-config makes a different cluster: all of it except DAY_TWO_KEYS and the compute
    replicas. No secret goes into it, so the trigger shows in a preview."""
    document = yaml.safe_load(render(template_values(install), _PLACEHOLDER_PULL_SECRET, [_PLACEHOLDER_SSH_KEY]))
    for pool in document.get("compute", []):
        pool.pop("replicas", None)
    for key in DAY_TWO_KEYS:
        document.pop(key, None)
    return "sha256:" + hashlib.sha256(json.dumps(document, sort_keys=True).encode()).hexdigest()
