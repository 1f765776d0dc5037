"""How a CoreOS host outside the cluster (a load balancer) pulls its container images at a site: through the
image mirrors, through the proxy, trusting the site's CA certificates. Cluster nodes get the same from OKD itself
(install-config, then the cluster's ImageDigestMirrorSet, Proxy and user-ca-bundle).

- mirrors: /etc/containers/registries.conf.d/ (containers-registries.conf v2): each source repository tries its
  mirrors first, for tag and digest pulls alike (HAProxy's and keepalived's images are pinned by tag);
- proxy: /etc/containers/containers.conf.d/ `[engine] env`: podman's own pulls go through the proxy, the
  containers do not see it;
- CA certificates: the system trust anchors (coreos-update-ca-trust.service adds them to the trust store at boot)
  and /etc/containers/certs.d/<mirror host>/ca.crt, which podman reads for that registry without the trust store.

Nothing is written when the stack sets none of these: the balancer's Ignition stays what it was.
"""

from __future__ import annotations

import json
from typing import Any

from ignition.document import file_entry
from ignition.templates import render_template
from infra.contracts import ImagePull

MIRRORS_FILE = "/etc/containers/registries.conf.d/50-eaf-mirrors.conf"
PROXY_FILE = "/etc/containers/containers.conf.d/50-eaf-proxy.conf"
TRUST_ANCHOR = "/etc/pki/ca-trust/source/anchors/eaf-additional-trust-bundle.pem"
CERTS_DIR = "/etc/containers/certs.d"


def _toml_string(text: str) -> str:
    """A TOML basic string: JSON's string escapes are TOML's."""
    return json.dumps(text)


def registries_conf(pull: ImagePull, domain: str) -> str:
    mirrors = [(_toml_string(source), [_toml_string(m) for m in locations]) for source, locations in pull.mirrors]
    return render_template("registries-mirrors.conf.j2", domain=domain, mirrors=mirrors)


def proxy_environment(pull: ImagePull) -> list[str]:
    """Both spellings: Go's ProxyFromEnvironment reads either, curl-style tools only the lower case."""
    pairs = (("HTTP_PROXY", pull.http_proxy), ("HTTPS_PROXY", pull.https_proxy), ("NO_PROXY", pull.no_proxy))
    return [f"{name}={value}" for key, value in pairs if value is not None for name in (key, key.lower())]


def containers_conf(pull: ImagePull, domain: str) -> str:
    return render_template("containers-proxy.conf.j2", domain=domain,
                           environment=[_toml_string(e) for e in proxy_environment(pull)])


def mirror_hosts(pull: ImagePull) -> list[str]:
    """The registry hosts (host[:port]) of the mirrors: where podman looks for a registry's own CA."""
    return sorted({location.split("/", 1)[0] for _, locations in pull.mirrors for location in locations})


def image_pull_files(pull: ImagePull, domain: str) -> tuple[dict[str, Any], ...]:
    """The files of a load balancer's Ignition that make its image pulls work at the site."""
    files = []
    if pull.mirrors:
        files.append(file_entry(MIRRORS_FILE, registries_conf(pull, domain)))
    if proxy_environment(pull):
        files.append(file_entry(PROXY_FILE, containers_conf(pull, domain)))
    if pull.trust_bundle is not None:
        files.append(file_entry(TRUST_ANCHOR, pull.trust_bundle))
        files += [file_entry(f"{CERTS_DIR}/{host}/ca.crt", pull.trust_bundle) for host in mirror_hosts(pull)]
    return tuple(files)
