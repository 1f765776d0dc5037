"""Submit manifests to a real kube-apiserver with server-side dry-run and collect its rejections.

The server applies the same validation, defaulting and admission it would for a real
apply (selector vs. template labels, request <= limit, RFC 1123 names, unknown fields
with strict field validation, namespace existence), but stores nothing.

Dry-run cannot create prerequisites, so Namespaces and CustomResourceDefinitions from
the submitted objects are created for real first (CRDs are waited on until Established).

`split_checkable` sets aside objects this vanilla server cannot judge: custom resources (OKD
platform APIs `*.openshift.io` among them) whose CRD is neither submitted nor installed. Those
are reported, never faked with made-up CRDs; tests/support/crds.py installs the real upstream
CRDs of the kinds the stacks use, after which they are checked like any other object.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable
from dataclasses import dataclass

from kubernetes.client import ApiClient

# Groups served only by OKD/OpenShift (route, security, config, image, build, apps, ...).
OKD_GROUP_SUFFIX = ".openshift.io"
CRD_API_PATH = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions"
_REQUEST_TIMEOUT = 30.0
_CRD_ESTABLISHED_TIMEOUT = 30.0
# Namespaced objects without a namespace go where kubectl would send them.
_DEFAULT_NAMESPACE = "default"
# Status 0: rejected before anything was sent (no kind/apiVersion, or no such resource).
STATUS_NOT_SENT = 0


@dataclass(frozen=True)
class ObjectRef:
    api_version: str
    kind: str
    namespace: str | None
    name: str

    @classmethod
    def of(cls, obj: dict) -> ObjectRef:
        metadata = obj.get("metadata") or {}
        return cls(
            api_version=str(obj.get("apiVersion", "")),
            kind=str(obj.get("kind", "")),
            namespace=metadata.get("namespace"),
            name=str(metadata.get("name") or metadata.get("generateName") or ""),
        )

    @property
    def group(self) -> str:
        return self.api_version.rpartition("/")[0] if "/" in self.api_version else ""

    def __str__(self) -> str:
        where = f"{self.namespace}/{self.name}" if self.namespace else self.name
        return f"{self.kind} {where}"


@dataclass(frozen=True)
class Rejection:
    """The server refused an object; `message` is the server's own text."""

    ref: ObjectRef
    status: int
    reason: str
    message: str

    @property
    def kind(self) -> str:
        return self.ref.kind

    @property
    def namespace(self) -> str | None:
        return self.ref.namespace

    @property
    def name(self) -> str:
        return self.ref.name

    def __str__(self) -> str:
        return f"{self.ref}: HTTP {self.status} {self.reason}: {self.message}"


@dataclass(frozen=True)
class NotCheckable:
    """An object this vanilla API server cannot validate, and why."""

    ref: ObjectRef
    why: str

    def __str__(self) -> str:
        return f"{self.ref}: not checkable here: {self.why}"


# -- raw REST --------------------------------------------------------------------------


@dataclass(frozen=True)
class _Response:
    status: int
    body: dict | None
    text: str


def _request(
    client: ApiClient, method: str, path: str, query: list[tuple[str, str]] | None = None, body: dict | None = None
) -> _Response:
    # Raw calls: the generated typed APIs cannot take arbitrary kinds, and the raw
    # response keeps the server's Status message intact.
    request = client.param_serialize(
        method,
        path,
        query_params=query or [],
        header_params={"Accept": "application/json", "Content-Type": "application/json"},
        body=body,
        auth_settings=["BearerToken"],
    )
    response = client.call_api(*request, _request_timeout=_REQUEST_TIMEOUT)
    response.read()
    text = (response.data or b"").decode(errors="replace")
    try:
        parsed = json.loads(text) if text else None
    except ValueError:
        parsed = None
    return _Response(status=response.status, body=parsed if isinstance(parsed, dict) else None, text=text)


def _rejection(ref: ObjectRef, response: _Response) -> Rejection:
    body = response.body or {}
    return Rejection(
        ref=ref,
        status=response.status,
        reason=str(body.get("reason", "")),
        message=str(body.get("message") or response.text.strip()),
    )


def _ok(response: _Response) -> bool:
    return 200 <= response.status < 300


# -- discovery ---------------------------------------------------------------------------


def _group_version_path(api_version: str) -> str:
    return f"/apis/{api_version}" if "/" in api_version else f"/api/{api_version}"


class _Discovery:
    """Resolves (apiVersion, kind) to (plural, namespaced) with one GET per group-version."""

    def __init__(self, client: ApiClient) -> None:
        self._client = client
        self._resources: dict[str, dict[str, tuple[str, bool]] | None] = {}

    def resolve(self, api_version: str, kind: str) -> tuple[str, bool] | None:
        if api_version not in self._resources:
            response = _request(self._client, "GET", _group_version_path(api_version))
            if not _ok(response) or response.body is None:
                self._resources[api_version] = None
            else:
                self._resources[api_version] = {
                    entry["kind"]: (entry["name"], bool(entry.get("namespaced")))
                    for entry in response.body.get("resources", [])
                    # "deployments/scale" and friends are subresources, not creatable kinds.
                    if "/" not in entry["name"]
                }
        resources = self._resources[api_version]
        return None if resources is None else resources.get(kind)


def served_groups(client: ApiClient) -> set[str]:
    """API groups the server serves ("" is the core group)."""
    response = _request(client, "GET", "/apis")
    if not _ok(response) or response.body is None:
        raise RuntimeError(f"GET /apis failed: HTTP {response.status}: {response.text[:500]}")
    return {""} | {group["name"] for group in response.body.get("groups", [])}


def _crd_group_kinds(crds: Iterable[dict]) -> set[tuple[str, str]]:
    return {
        (crd.get("spec", {}).get("group", ""), crd.get("spec", {}).get("names", {}).get("kind", "")) for crd in crds
    }


def installed_crds(client: ApiClient) -> list[dict]:
    response = _request(client, "GET", CRD_API_PATH)
    if not _ok(response) or response.body is None:
        raise RuntimeError(f"GET {CRD_API_PATH} failed: HTTP {response.status}: {response.text[:500]}")
    return list(response.body.get("items", []))


def _is_namespace(obj: dict) -> bool:
    return obj.get("kind") == "Namespace" and obj.get("apiVersion") == "v1"


def _is_crd(obj: dict) -> bool:
    return obj.get("kind") == "CustomResourceDefinition" and str(obj.get("apiVersion", "")).startswith(
        "apiextensions.k8s.io/"
    )


# -- classification --------------------------------------------------------------------


def split_checkable(objects: list[dict], client: ApiClient) -> tuple[list[dict], list[NotCheckable]]:
    """Separate what this vanilla server can judge from what it cannot.

    Built-in groups are always checkable: a wrong kind or version there is a real error
    the server reports. A custom resource, OKD platform kinds included, is checkable only
    if its CRD is among the submitted objects or already installed.
    """
    installed = installed_crds(client)
    crd_kinds = _crd_group_kinds(installed) | _crd_group_kinds(o for o in objects if _is_crd(o))
    crd_groups = {group for group, _ in _crd_group_kinds(installed)}
    builtin_groups = served_groups(client) - crd_groups

    checkable: list[dict] = []
    not_checkable: list[NotCheckable] = []
    for obj in objects:
        ref = ObjectRef.of(obj)
        group = ref.group
        if not ref.api_version or not ref.kind or group in builtin_groups or (group, ref.kind) in crd_kinds:
            checkable.append(obj)
        elif group.endswith(OKD_GROUP_SUFFIX):
            not_checkable.append(
                NotCheckable(
                    ref,
                    f"{group} is an OKD platform API that a vanilla kube-apiserver does not serve, and its "
                    "upstream CRD is not installed (tests/support/crds.py)",
                )
            )
        else:
            not_checkable.append(
                NotCheckable(
                    ref,
                    f"custom resource {ref.kind}.{group}: its CustomResourceDefinition is neither "
                    "among the submitted objects nor installed",
                )
            )
    return checkable, not_checkable


# -- submission ------------------------------------------------------------------------


def _collection_path(api_version: str, plural: str, namespace: str | None) -> str:
    base = _group_version_path(api_version)
    return f"{base}/namespaces/{namespace}/{plural}" if namespace else f"{base}/{plural}"


def _create_for_real(client: ApiClient, obj: dict, path: str) -> _Response:
    return _request(client, "POST", path, [("fieldValidation", "Strict")], obj)


def _ensure_namespace(client: ApiClient, obj: dict) -> Rejection | None:
    response = _create_for_real(client, obj, "/api/v1/namespaces")
    # Already there (an earlier submit in the same session) is what we want.
    if _ok(response) or response.status == 409:
        return None
    return _rejection(ObjectRef.of(obj), response)


def _ensure_crd(client: ApiClient, crd: dict) -> Rejection | None:
    """Create or replace a CRD, then wait until it is Established and served."""
    rejection = apply_crd(client, crd)
    return rejection if rejection is not None else wait_established(client, ObjectRef.of(crd))


def apply_crd(client: ApiClient, crd: dict) -> Rejection | None:
    """Create a CRD for real, or replace the one of that name; does not wait for it to be served."""
    ref = ObjectRef.of(crd)
    response = _create_for_real(client, crd, CRD_API_PATH)
    if response.status == 409:
        # Installed by an earlier submit: replace it so this definition is the one in force.
        current = _request(client, "GET", f"{CRD_API_PATH}/{ref.name}")
        if not _ok(current) or current.body is None:
            return _rejection(ref, current)
        updated = dict(crd)
        updated["metadata"] = {
            **(crd.get("metadata") or {}),
            "resourceVersion": current.body["metadata"]["resourceVersion"],
        }
        response = _request(client, "PUT", f"{CRD_API_PATH}/{ref.name}", [("fieldValidation", "Strict")], updated)
    return None if _ok(response) else _rejection(ref, response)


def wait_established(client: ApiClient, ref: ObjectRef) -> Rejection | None:
    """Wait until a CRD is Established and its kind is in discovery; a Rejection if it is not in time."""
    deadline = time.monotonic() + _CRD_ESTABLISHED_TIMEOUT
    conditions: dict[str, dict] = {}
    while time.monotonic() < deadline:
        response = _request(client, "GET", f"{CRD_API_PATH}/{ref.name}")
        if _ok(response) and response.body is not None:
            conditions = {
                c["type"]: c
                # A brand-new CRD has no status conditions yet (null, not []).
                for c in (response.body.get("status") or {}).get("conditions") or []
            }
            if conditions.get("Established", {}).get("status") == "True":
                return _wait_discoverable(client, response.body, deadline)
            names = conditions.get("NamesAccepted", {})
            if names.get("status") == "False":
                return Rejection(ref, 422, str(names.get("reason", "")), str(names.get("message", "")))
        time.sleep(0.1)
    return Rejection(
        ref,
        STATUS_NOT_SENT,
        "Timeout",
        f"CustomResourceDefinition not Established after {_CRD_ESTABLISHED_TIMEOUT:.0f}s; conditions: {conditions}",
    )


def _wait_discoverable(client: ApiClient, crd: dict, deadline: float) -> Rejection | None:
    # Discovery is published by a controller shortly after Established; resolving the
    # kind before that would wrongly report it as not served.
    spec = crd.get("spec", {})
    wanted = [f"{spec.get('group')}/{v['name']}" for v in spec.get("versions", []) if v.get("served")]
    kind = spec.get("names", {}).get("kind", "")
    while wanted and time.monotonic() < deadline:
        discovery = _Discovery(client)
        wanted = [api_version for api_version in wanted if discovery.resolve(api_version, kind) is None]
        if wanted:
            time.sleep(0.1)
    if not wanted:
        return None
    return Rejection(
        ObjectRef.of(crd),
        STATUS_NOT_SENT,
        "Timeout",
        f"{kind} is Established but not yet in discovery for {', '.join(wanted)}",
    )


def _dry_run_create(client: ApiClient, discovery: _Discovery, obj: dict) -> Rejection | None:
    ref = ObjectRef.of(obj)
    if not ref.api_version or not ref.kind:
        return Rejection(ref, STATUS_NOT_SENT, "Invalid", "object has no apiVersion or kind")
    resolved = discovery.resolve(ref.api_version, ref.kind)
    if resolved is None:
        return Rejection(
            ref, STATUS_NOT_SENT, "NotFound", f"the server does not serve kind {ref.kind} in {ref.api_version}"
        )
    plural, namespaced = resolved
    namespace = (ref.namespace or _DEFAULT_NAMESPACE) if namespaced else None
    response = _request(
        client,
        "POST",
        _collection_path(ref.api_version, plural, namespace),
        [("dryRun", "All"), ("fieldValidation", "Strict")],
        obj,
    )
    return None if _ok(response) else _rejection(ref, response)


def submit(objects: list[dict], client: ApiClient) -> list[Rejection]:
    """Create Namespaces and CRDs for real, dry-run everything else; return what the server refused.

    Pass only checkable objects (see `split_checkable`): anything else comes back as a
    rejection, since the server has no resource for it.
    """
    rejections: list[Rejection] = []
    for obj in objects:
        if _is_namespace(obj):
            rejection = _ensure_namespace(client, obj)
            if rejection is not None:
                rejections.append(rejection)

    for obj in objects:
        if _is_crd(obj):
            rejection = _ensure_crd(client, obj)
            if rejection is not None:
                rejections.append(rejection)

    # Created after the CRDs so no group-version is cached from before they were served.
    discovery = _Discovery(client)
    for obj in objects:
        if _is_namespace(obj) or _is_crd(obj):
            continue
        rejection = _dry_run_create(client, discovery, obj)
        if rejection is not None:
            rejections.append(rejection)
    return rejections


@dataclass(frozen=True)
class CheckResult:
    rejections: list[Rejection]
    not_checkable: list[NotCheckable]


def check(objects: list[dict], client: ApiClient) -> CheckResult:
    """`split_checkable` then `submit`: everything the server refused, and everything it cannot judge."""
    checkable, not_checkable = split_checkable(objects, client)
    return CheckResult(rejections=submit(checkable, client), not_checkable=not_checkable)
