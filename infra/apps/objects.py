"""Small builders for the plain manifests every app needs: labels, namespaces, RBAC, services, quantities."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from infra.spec.apps import Compute

PART_OF = "eaf"
# Namespaces whose Prometheus targets the platform monitoring stack scrapes (GPU operator, NFD): OKD's rule.
CLUSTER_MONITORING_LABEL = "openshift.io/cluster-monitoring"


def hardened() -> dict[str, Any]:
    """The security context of every app container that needs no privilege (all but the CVMFS node plugin, which
    mounts FUSE file systems): OKD's restricted-v2 SCC admits it as it is."""
    return {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]}, "runAsNonRoot": True,
            "seccompProfile": {"type": "RuntimeDefault"}}


def labels(app: str, component: str) -> dict[str, str]:
    return {"app.kubernetes.io/name": app, "app.kubernetes.io/component": component,
            "app.kubernetes.io/part-of": PART_OF, "app.kubernetes.io/managed-by": "pulumi"}


def selector(app: str, component: str) -> dict[str, str]:
    """The subset of `labels` a workload selects its pods by (never changes, so selectors stay immutable)."""
    return {"app.kubernetes.io/name": app, "app.kubernetes.io/component": component}


def metadata(name: str, namespace: str | None, app: str, component: str, **extra: Any) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name, "labels": labels(app, component)}
    if namespace is not None:
        meta["namespace"] = namespace
    meta.update(extra)
    return meta


def namespace(name: str, app: str, extra_labels: dict[str, str] | None = None) -> dict[str, Any]:
    meta = metadata(name, None, app, "namespace")
    meta["labels"].update(extra_labels or {})
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": meta}


def service_account(name: str, ns: str, app: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": metadata(name, ns, app, name)}


def role(name: str, ns: str | None, app: str, rules: list[dict[str, Any]]) -> dict[str, Any]:
    kind = "Role" if ns else "ClusterRole"
    return {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": kind, "metadata": metadata(name, ns, app, name),
            "rules": rules}


def binding(name: str, ns: str | None, app: str, role_kind: str, role_name: str,
            subjects: list[tuple[str, str]]) -> dict[str, Any]:
    """(Cluster)RoleBinding of service accounts, given as (namespace, name) pairs."""
    kind = "RoleBinding" if ns else "ClusterRoleBinding"
    return {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": kind, "metadata": metadata(name, ns, app, name),
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": role_kind, "name": role_name},
            "subjects": [{"kind": "ServiceAccount", "name": sa, "namespace": sa_ns} for sa_ns, sa in subjects]}


def rule(groups: list[str], resources: list[str], verbs: list[str], names: list[str] | None = None
         ) -> dict[str, Any]:
    found: dict[str, Any] = {"apiGroups": groups, "resources": resources, "verbs": verbs}
    if names:
        found["resourceNames"] = names
    return found


def use_scc(scc: str) -> dict[str, Any]:
    """RBAC rule letting a service account run pods under an OKD SecurityContextConstraints (the OKD way, not a
    made-up SCC object)."""
    return rule(["security.openshift.io"], ["securitycontextconstraints"], ["use"], [scc])


def service(name: str, ns: str, app: str, component: str, ports: list[tuple[str, int, int]]) -> dict[str, Any]:
    """ClusterIP Service; ports as (name, port, targetPort)."""
    return {"apiVersion": "v1", "kind": "Service", "metadata": metadata(name, ns, app, component),
            "spec": {"selector": selector(app, component), "type": "ClusterIP",
                     "ports": [{"name": p, "port": port, "targetPort": target, "protocol": "TCP"}
                               for p, port, target in ports]}}


def route(name: str, ns: str, app: str, host: str, service_name: str, port_name: str,
          annotations: dict[str, str] | None = None) -> dict[str, Any]:
    """OKD Route (the cluster's ingress), TLS terminated at the router with its wildcard certificate."""
    meta = metadata(name, ns, app, "route")
    if annotations:
        meta["annotations"] = dict(sorted(annotations.items()))
    return {"apiVersion": "route.openshift.io/v1", "kind": "Route", "metadata": meta,
            "spec": {"host": host, "to": {"kind": "Service", "name": service_name, "weight": 100},
                     "port": {"targetPort": port_name},
                     "tls": {"termination": "edge", "insecureEdgeTerminationPolicy": "Redirect"}}}


def service_monitor(name: str, ns: str, app: str, component: str, port: str, path: str,
                    interval: str = "30s") -> dict[str, Any]:
    """Scraped by OKD's user-workload Prometheus (monitoring.coreos.com is served by the platform's operator)."""
    return {"apiVersion": "monitoring.coreos.com/v1", "kind": "ServiceMonitor",
            "metadata": metadata(name, ns, app, component),
            "spec": {"selector": {"matchLabels": selector(app, component)},
                     "endpoints": [{"port": port, "path": path, "interval": interval, "scheme": "http"}]}}


def pvc(name: str, ns: str, app: str, size: str, modes: list[str], storage_class: str | None,
        volume_name: str | None = None) -> dict[str, Any]:
    spec: dict[str, Any] = {"accessModes": modes, "resources": {"requests": {"storage": size}}}
    if storage_class is not None:
        spec["storageClassName"] = storage_class
    if volume_name is not None:
        spec["volumeName"] = volume_name
    return {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": metadata(name, ns, app, name),
            "spec": spec}


def cpu_quantity(cores: float) -> str:
    """Millicores, so every value is an exact Kubernetes quantity ("500m", "4000m")."""
    return f"{round(cores * 1000)}m"


def memory_quantity(gib: float) -> str:
    return f"{round(gib * 1024)}Mi"


def resources(compute: Compute, extra: dict[str, int] | None = None) -> dict[str, Any]:
    """Container resources. Extended resources (MIG slices) must have request == limit: the API server says so."""
    requests = {"cpu": cpu_quantity(compute.cpu.request), "memory": memory_quantity(compute.memory_gib.request)}
    limits = {"cpu": cpu_quantity(compute.cpu.limit), "memory": memory_quantity(compute.memory_gib.limit)}
    for name, count in sorted((extra or {}).items()):
        requests[name] = limits[name] = str(count)
    return {"requests": requests, "limits": limits}


def content_hash(data: dict[str, Any]) -> str:
    """Digest of a ConfigMap's data, put on pod templates so a config change rolls the pods."""
    return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()


def mig_resource(profile: str) -> str:
    """The extended resource the device plugin advertises for a MIG profile under the mixed strategy."""
    return f"nvidia.com/mig-{profile}"


def slug(text: str) -> str:
    """A DNS name (cms.cern.ch) as a DNS label (cms-cern-ch), for object and volume names."""
    return text.replace(".", "-").lower()
