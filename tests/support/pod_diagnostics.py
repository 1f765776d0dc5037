"""What a failing app looks like from inside the cluster: its unhealthy pods' state, events and logs.

    with api_client() as api:
        text = describe_unhealthy_pods(api, namespaces=["hub"])      # "" when every pod is healthy

    with diagnose_on_failure(api, namespaces=["hub"]):               # any exception inside gets the dump attached
        wait_for_hub(...)                                            # (as an exception note: pytest prints it)

A pod is unhealthy when it is Pending, Failed or Unknown, or Running with a container not ready, or has restarted.
For each: phase and reason, every container's state and last termination, the pod's events in time order, and the
tail of each container's log, the previous instance's too when it restarted.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager

from kubernetes import client as k8s_client

_LOG_TAIL_LINES = 60


def _is_unhealthy(pod: k8s_client.V1Pod) -> bool:
    phase = pod.status.phase
    if phase == "Succeeded":
        return False
    if phase != "Running":
        return True
    containers = pod.status.container_statuses or []
    everything = containers + (pod.status.init_container_statuses or [])
    return any(not status.ready for status in containers) or any(status.restart_count > 0 for status in everything)


def _state_text(state: k8s_client.V1ContainerState | None) -> str:
    if state is None:
        return "unknown"
    if state.running is not None:
        return f"running since {state.running.started_at}"
    if state.waiting is not None:
        return f"waiting: {state.waiting.reason}: {state.waiting.message or ''}".rstrip(": ")
    if state.terminated is not None:
        term = state.terminated
        return f"terminated: exit {term.exit_code} ({term.reason}) {term.message or ''}".rstrip()
    return "unknown"


def _log_tail(core: k8s_client.CoreV1Api, pod: k8s_client.V1Pod, container: str, previous: bool) -> str:
    try:
        text = core.read_namespaced_pod_log(
            pod.metadata.name,
            pod.metadata.namespace,
            container=container,
            previous=previous,
            tail_lines=_LOG_TAIL_LINES,
            _request_timeout=20,
        )
    except k8s_client.ApiException as error:
        return f"(no log: HTTP {error.status} {error.reason})"
    return text.rstrip() or "(empty log)"


def _events(core: k8s_client.CoreV1Api, pod: k8s_client.V1Pod) -> list[str]:
    selector = f"involvedObject.kind=Pod,involvedObject.name={pod.metadata.name}"
    events = core.list_namespaced_event(pod.metadata.namespace, field_selector=selector, _request_timeout=20).items

    def when(event: k8s_client.CoreV1Event) -> str:
        stamp = event.last_timestamp or event.event_time or event.first_timestamp or event.metadata.creation_timestamp
        return str(stamp)

    return [
        f"{when(event)} {event.type} {event.reason} (x{event.count or 1}): {event.message}"
        for event in sorted(events, key=when)
    ]


def describe_pod(core: k8s_client.CoreV1Api, pod: k8s_client.V1Pod) -> str:
    lines = [f"=== pod {pod.metadata.namespace}/{pod.metadata.name}: {pod.status.phase}"]
    if pod.status.reason or pod.status.message:
        lines.append(f"    {pod.status.reason or ''} {pod.status.message or ''}".rstrip())
    for condition in pod.status.conditions or []:
        if condition.status != "True":
            detail = f"{condition.reason or ''} {condition.message or ''}".strip()
            lines.append(f"    condition {condition.type}={condition.status}: {detail}")
    statuses = (pod.status.init_container_statuses or []) + (pod.status.container_statuses or [])
    for status in statuses:
        lines.append(
            f"    container {status.name}: {_state_text(status.state)}; ready={status.ready} "
            f"restarts={status.restart_count}"
        )
        if status.last_state is not None and status.last_state.terminated is not None:
            lines.append(f"      last: {_state_text(status.last_state)}")
    lines.append("  events:")
    lines.extend(f"    {event}" for event in _events(core, pod) or ["(none)"])
    for status in statuses:
        ran = status.restart_count > 0 or (
            status.state is not None and (status.state.running is not None or status.state.terminated is not None)
        )
        if not ran:
            continue
        lines.append(f"  log of {status.name} (last {_LOG_TAIL_LINES} lines):")
        lines.extend(f"    | {line}" for line in _log_tail(core, pod, status.name, previous=False).splitlines())
        if status.restart_count > 0:
            lines.append(f"  log of {status.name}, previous instance:")
            lines.extend(f"    | {line}" for line in _log_tail(core, pod, status.name, previous=True).splitlines())
    return "\n".join(lines)


def describe_unhealthy_pods(api: k8s_client.ApiClient, namespaces: Iterable[str] | None = None) -> str:
    """State, events and log tails of every unhealthy pod in `namespaces` (all namespaces when None)."""
    core = k8s_client.CoreV1Api(api)
    if namespaces is None:
        pods = core.list_pod_for_all_namespaces(_request_timeout=20).items
    else:
        pods = [pod for ns in namespaces for pod in core.list_namespaced_pod(ns, _request_timeout=20).items]
    unhealthy = [pod for pod in pods if _is_unhealthy(pod)]
    return "\n".join(describe_pod(core, pod) for pod in unhealthy)


@contextmanager
def diagnose_on_failure(api: k8s_client.ApiClient, namespaces: Iterable[str] | None = None) -> Iterator[None]:
    """Attach describe_unhealthy_pods() to any exception leaving the block (pytest prints exception notes)."""
    namespaces = list(namespaces) if namespaces is not None else None
    try:
        yield
    except BaseException as error:
        try:
            dump = describe_unhealthy_pods(api, namespaces)
        except Exception as dump_error:
            dump = f"(could not collect pod diagnostics: {dump_error})"
        error.add_note("--- unhealthy pods ---\n" + (dump or "(every pod is healthy)"))
        raise
