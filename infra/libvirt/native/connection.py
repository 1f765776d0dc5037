"""One libvirt connection per hypervisor URI, opened when first needed, kept for the provider process's life.

The cache is module state on purpose: dynamic providers are pickled into the Pulumi state, so they must not hold
a connection themselves (it cannot be pickled, and it would pin one process's socket into the state).
"""

from __future__ import annotations

import threading
from typing import Any

_CONNECTIONS: dict[str, Any] = {}
# The provider process serves Pulumi's parallel steps on several threads: open each URI's connection once.
_LOCK = threading.Lock()


class LibvirtObjectError(RuntimeError):
    """A libvirt call failed: says which host, which object, what was attempted and libvirt's own message."""

    def __init__(self, host: str, uri: str, kind: str, name: str, action: str, message: str):
        self.host, self.uri, self.kind, self.name, self.action = host, uri, kind, name, action
        super().__init__(f"host {host} ({uri}): cannot {action} {kind} {name!r}: {message}")


def libvirt_module():
    """libvirt-python, imported only where a provider really talks to libvirt (never during program evaluation)."""
    import libvirt

    if not getattr(libvirt_module, "_quiet", False):
        # libvirt also prints every error to stderr; our errors carry its message already.
        libvirt.registerErrorHandler(lambda _ctx, _err: None, None)
        libvirt_module._quiet = True
    return libvirt


def connection(uri: str, host: str):
    """The open connection to `uri`; reopened when the previous one died (e.g. libvirtd restarted)."""
    libvirt = libvirt_module()
    with _LOCK:
        conn = _CONNECTIONS.get(uri)
        if conn is not None:
            try:
                if conn.isAlive():
                    return conn
            except libvirt.libvirtError:
                pass
            _CONNECTIONS.pop(uri, None)
        try:
            conn = libvirt.open(uri)
        except libvirt.libvirtError as error:
            raise LibvirtObjectError(host, uri, "hypervisor", uri, "connect to", error.get_error_message()) from None
        _CONNECTIONS[uri] = conn
        return conn


def close_all() -> None:
    """Close every cached connection (tests; the provider process simply exits)."""
    for conn in _CONNECTIONS.values():
        try:
            conn.close()
        except Exception:  # noqa: BLE001 - closing a dead connection must not hide the test's own result
            pass
    _CONNECTIONS.clear()
