"""The cluster-wide settings a running cluster changes in place, as bring-up's apply-cluster-settings step sets them.

The install-config sets them once, for the first boot; afterwards the cluster's own objects hold them, and a change
of the stack reaches them here without a new install:

| stack setting | object on the cluster |
|---|---|
| eaf:okd.mastersSchedulable (or "no workers") | Scheduler `cluster`: spec.mastersSchedulable |
| eaf:okd.proxy | Proxy `cluster`: spec.httpProxy / httpsProxy / noProxy |
| eaf:okd.additionalTrustBundle (+Policy) | ConfigMap openshift-config/user-ca-bundle, Proxy spec.trustedCA |
| eaf:okd.imageMirrors | ImageDigestMirrorSet `image-digest-mirror` (the installer's name for it) |
| eaf:pullSecret | Secret openshift-config/pull-secret |

Proxy and Scheduler are JSON merge patches with explicit nulls for what the stack does not set, so removing a
setting from the stack removes it from the cluster (the installer's create left those fields owned by another
field manager, which a server-side apply would leave in place). The rest is server-side apply as eaf-infra; the
mirror set is deleted when the stack has no mirrors. The machine-config operator rolls changes of the trust
bundle, mirrors and pull secret out to the nodes.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from typing import Any

from infra.contracts import InstallInput
from infra.okd.install_config import masters_schedulable
from infra.spec.okd import ImageMirror, Proxy

CONFIG_API = "config.openshift.io/v1"
CONFIG_NAMESPACE = "openshift-config"
TRUST_BUNDLE_CONFIGMAP = "user-ca-bundle"  # what the installer names it, and what Proxy.spec.trustedCA refers to
TRUST_BUNDLE_KEY = "ca-bundle.crt"
MIRROR_SET = "image-digest-mirror"  # openshift-install's ImageDigestMirrorSet from imageDigestSources
PULL_SECRET = "pull-secret"


@dataclass(frozen=True)
class ClusterSettings:
    masters_schedulable: bool
    proxy: Proxy | None
    trust_bundle: str | None
    trust_bundle_policy: str
    mirrors: tuple[ImageMirror, ...]


def cluster_settings(install: InstallInput) -> ClusterSettings:
    okd = install.okd
    return ClusterSettings(masters_schedulable=masters_schedulable(install), proxy=okd.proxy,
                           trust_bundle=okd.additional_trust_bundle,
                           trust_bundle_policy=okd.additional_trust_bundle_policy, mirrors=okd.image_mirrors)


def _proxy_patch(settings: ClusterSettings) -> dict[str, Any]:
    proxy = settings.proxy
    trusted = settings.trust_bundle is not None and (proxy is not None or settings.trust_bundle_policy == "Always")
    return {"spec": {
        "httpProxy": proxy.http_proxy if proxy else None,
        "httpsProxy": proxy.https_proxy if proxy else None,
        "noProxy": proxy.no_proxy if proxy else None,
        "trustedCA": {"name": TRUST_BUNDLE_CONFIGMAP} if trusted else None,
    }}


def settings_document(settings: ClusterSettings, pull_secret: str) -> dict[str, Any]:
    """What the step gets on stdin: {"apply": objects, "patch": merge patches, "delete": objects to remove}. The
    trust bundle ConfigMap is applied before the Proxy that refers to it is patched."""
    apply: list[dict[str, Any]] = []
    if settings.trust_bundle is not None:
        apply.append({"apiVersion": "v1", "kind": "ConfigMap",
                      "metadata": {"name": TRUST_BUNDLE_CONFIGMAP, "namespace": CONFIG_NAMESPACE},
                      "data": {TRUST_BUNDLE_KEY: settings.trust_bundle}})
    apply.append({"apiVersion": "v1", "kind": "Secret", "type": "kubernetes.io/dockerconfigjson",
                  "metadata": {"name": PULL_SECRET, "namespace": CONFIG_NAMESPACE},
                  "data": {".dockerconfigjson": base64.b64encode(pull_secret.strip().encode()).decode("ascii")}})
    delete: list[dict[str, str]] = []
    if settings.mirrors:
        apply.append({"apiVersion": CONFIG_API, "kind": "ImageDigestMirrorSet", "metadata": {"name": MIRROR_SET},
                      "spec": {"imageDigestMirrors": [{"source": m.source, "mirrors": list(m.mirrors)}
                                                      for m in settings.mirrors]}})
    else:
        delete.append({"resource": "imagedigestmirrorsets.config.openshift.io", "name": MIRROR_SET})
    patch = [
        {"resource": "schedulers.config.openshift.io", "name": "cluster",
         "patch": {"spec": {"mastersSchedulable": settings.masters_schedulable}}},
        {"resource": "proxies.config.openshift.io", "name": "cluster", "patch": _proxy_patch(settings)},
    ]
    return {"apply": apply, "patch": patch, "delete": delete}


def settings_text(settings: ClusterSettings, pull_secret: str) -> str:
    return json.dumps(settings_document(settings, pull_secret), sort_keys=True)
