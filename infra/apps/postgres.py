"""A single-instance PostgreSQL (StatefulSet + Service + Secret) for an app's own database."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from infra.apps import objects as o
from infra.apps.images import image
from infra.spec.apps import Compute, Range

if TYPE_CHECKING:
    import pulumi

DEFAULT_COMPUTE = Compute(cpu=Range(request=0.25, limit=1), memory_gib=Range(request=0.5, limit=2))
PORT = 5432


def secret_name(name: str) -> str:
    return f"{name}-credentials"


def url(name: str, ns: str, database: str) -> str:
    """host:port/database of the instance, for JDBC or SQLAlchemy URLs."""
    return f"{name}.{ns}.svc:{PORT}/{database}"


def manifests(name: str, ns: str, app: str, database: str, user: str, password: pulumi.Input[str], size_gib: int,
              storage_class: str | None, compute: Compute = DEFAULT_COMPUTE) -> list[dict[str, Any]]:
    claim: dict[str, Any] = {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": f"{size_gib}Gi"}}}
    if storage_class is not None:
        claim["storageClassName"] = storage_class
    pod = {
        "metadata": {"labels": o.labels(app, name)},
        "spec": {"containers": [{
            "name": "postgresql", "image": image("postgresql"),
            "env": [{"name": "POSTGRESQL_DATABASE", "value": database},
                    {"name": "POSTGRESQL_USERNAME", "value": user},
                    {"name": "POSTGRESQL_PASSWORD",
                     "valueFrom": {"secretKeyRef": {"name": secret_name(name), "key": "password"}}}],
            "ports": [{"name": "postgresql", "containerPort": PORT, "protocol": "TCP"}],
            "readinessProbe": {"exec": {"command": ["pg_isready", "-h", "127.0.0.1", "-U", user, "-d", database]},
                               "periodSeconds": 10},
            "resources": o.resources(compute),
            "securityContext": o.hardened(),
            "volumeMounts": [{"name": "data", "mountPath": "/bitnami/postgresql"}],
        }]},
    }
    return [
        {"apiVersion": "v1", "kind": "Secret", "type": "Opaque",
         "metadata": o.metadata(secret_name(name), ns, app, name),
         "stringData": {"username": user, "password": password}},
        o.service(name, ns, app, name, [("postgresql", PORT, PORT)]),
        {"apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": o.metadata(name, ns, app, name),
         "spec": {"serviceName": name, "replicas": 1, "selector": {"matchLabels": o.selector(app, name)},
                  "template": pod,
                  "volumeClaimTemplates": [{"metadata": {"name": "data"}, "spec": claim}]}},
    ]
