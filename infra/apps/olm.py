"""Operators the OKD way: an OperatorGroup and a Subscription pinned to one CSV, through OLM.

`installPlanApproval: Manual` (the default of eaf:apps.gpuOperator.installPlanApproval) keeps the installed
version equal to the pin: OLM waits for approval of every InstallPlan, and the approver Job below approves only
the one for the pinned `startingCSV`. `Automatic` would install the pin first and then follow the channel.
"""

from __future__ import annotations

from typing import Any

from infra.apps import objects as o
from infra.apps.images import WHERE as IMAGES_WHERE
from infra.apps.images import image, operator_pin, pinned_images
from infra.apps.render import static
from infra.catalog import CatalogPin, versions
from infra.spec.errors import Problem

MARKETPLACE = "openshift-marketplace"
CATALOGS_WHERE = "infra/data/versions.yaml apps.catalogs"
OPERATORS_WHERE = "infra/data/versions.yaml apps.operators"


def pinned_catalogs() -> dict[str, CatalogPin]:
    return versions().apps.catalogs


def catalog_sources(pin_names: list[str], app: str) -> list[dict[str, Any]]:
    """The CatalogSources the named operators' subscriptions need and OKD does not ship, each once."""
    names = sorted({operator_pin(p).source for p in pin_names})
    return [_catalog_source(name, pinned_catalogs()[name], app) for name in names
            if not pinned_catalogs()[name].built_in]


def _catalog_source(name: str, pin: CatalogPin, app: str) -> dict[str, Any]:
    assert pin.image is not None
    return {"apiVersion": "operators.coreos.com/v1alpha1", "kind": "CatalogSource",
            "metadata": o.metadata(name, MARKETPLACE, app, "catalog"),
            # No registryPoll: the index is read once per pod; the subscriptions pin their CSV anyway.
            "spec": {"sourceType": "grpc", "image": image(pin.image), "displayName": pin.display_name,
                     "publisher": pin.publisher, "grpcPodConfig": {"securityContextConfig": "restricted"}}}


def catalog_problems() -> list[Problem]:
    """Every subscription names a recorded catalog; every catalog OKD does not ship has a pinned index image."""
    catalogs, images = pinned_catalogs(), pinned_images()
    problems = []
    for name, pin in sorted(versions().apps.operators.items()):
        if pin.source not in catalogs:
            problems.append(Problem(f"{OPERATORS_WHERE}.{name}.source", pin.source,
                                    "not a catalog recorded in apps.catalogs: the subscription would never resolve",
                                    f"use one of: {', '.join(catalogs) or '(none recorded)'}; or record the catalog"))
    for name, catalog in sorted(catalogs.items()):
        if catalog.built_in and catalog.image is not None:
            problems.append(Problem(f"{CATALOGS_WHERE}.{name}.image", catalog.image,
                                    "a built-in catalog is OKD's own: the stack adds no CatalogSource for it",
                                    "drop the image, or set builtIn: false"))
        elif not catalog.built_in and catalog.image not in images:
            problems.append(Problem(f"{CATALOGS_WHERE}.{name}.image", catalog.image,
                                    f"the index image must be a key of {IMAGES_WHERE}",
                                    f"add the index image to {IMAGES_WHERE} and name its key here"))
    return problems


def operator_manifests(pin_name: str, ns: str, app: str, approval: str, all_namespaces: bool = False
                       ) -> list[dict[str, Any]]:
    """OperatorGroup + Subscription (+ the approver Job when approval is Manual) for one pinned operator."""
    pin = operator_pin(pin_name)
    group_spec: dict[str, Any] = {} if all_namespaces else {"targetNamespaces": [ns]}
    objects = [
        {"apiVersion": "operators.coreos.com/v1", "kind": "OperatorGroup",
         "metadata": o.metadata(pin_name, ns, app, "olm"), "spec": group_spec},
        {"apiVersion": "operators.coreos.com/v1alpha1", "kind": "Subscription",
         "metadata": o.metadata(pin.package, ns, app, "olm"),
         "spec": {"name": pin.package, "channel": pin.channel, "startingCSV": pin.starting_csv,
                  "source": pin.source, "sourceNamespace": MARKETPLACE, "installPlanApproval": approval}},
    ]
    if approval == "Manual":
        objects += _approver(pin_name, ns, app, pin.starting_csv)
    return objects


def _approver(pin_name: str, ns: str, app: str, csv: str) -> list[dict[str, Any]]:
    name = f"approve-{pin_name}"
    script = {"approve-installplan.sh": static("approve-installplan.sh")}
    pod = {
        "metadata": {"labels": o.labels(app, name)},
        "spec": {
            "serviceAccountName": "installplan-approver",
            "restartPolicy": "OnFailure",
            "containers": [{
                "name": "approve", "image": image("origin-cli"),
                "command": ["/bin/bash", "/scripts/approve-installplan.sh"],
                "env": [{"name": "PINNED_CSV", "value": csv}, {"name": "NAMESPACE", "value": ns}],
                "resources": {"requests": {"cpu": "10m", "memory": "64Mi"},
                              "limits": {"cpu": "200m", "memory": "256Mi"}},
                "securityContext": o.hardened(),
                "volumeMounts": [{"name": "scripts", "mountPath": "/scripts", "readOnly": True}],
            }],
            "volumes": [{"name": "scripts", "configMap": {"name": name}}],
        },
    }
    return [
        o.service_account("installplan-approver", ns, app),
        o.role("installplan-approver", ns, app, [
            o.rule(["operators.coreos.com"], ["installplans"], ["get", "list", "watch", "patch"]),
            o.rule(["operators.coreos.com"], ["clusterserviceversions", "subscriptions"], ["get", "list", "watch"]),
        ]),
        o.binding("installplan-approver", ns, app, "Role", "installplan-approver", [(ns, "installplan-approver")]),
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": o.metadata(name, ns, app, name), "data": script},
        # The Job's name carries the CSV, so a new pin runs a new Job (a Job's pod template cannot be changed).
        {"apiVersion": "batch/v1", "kind": "Job", "metadata": o.metadata(f"{name}-{o.slug(csv)}"[:63].rstrip("-"),
                                                                        ns, app, name),
         "spec": {"backoffLimit": 3, "activeDeadlineSeconds": 3600, "template": pod}},
    ]
