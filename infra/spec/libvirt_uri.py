"""libvirt connection URIs, parsed the way libvirt reads them (https://libvirt.org/uri.html, remote.html):

    driver[+transport]://[user@][host][:port]/path[?param=value&...]

This project drives QEMU's system daemon (qemu:///system here, qemu+ssh://user@host/system or qemu+tls://host/system
on a hypervisor) and libvirt's built-in test driver (test:///default, or test:///<file>.xml) in tests.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from functools import lru_cache
from ipaddress import ip_address
from urllib.parse import parse_qsl, urlsplit

DRIVERS = ("qemu", "test")
# Transports libvirt's remote driver has; `tcp` is plain text without authentication by default, `ext` runs an
# arbitrary command: neither is how a production hypervisor should be reached.
TRANSPORTS = ("ssh", "libssh", "libssh2", "tls", "unix")
REFUSED_TRANSPORTS = {"tcp": "sends the libvirt protocol unencrypted and, by default, unauthenticated",
                      "ext": "runs an external command of your choice as the transport"}
DEFAULT_PORTS = {"ssh": 22, "libssh": 22, "libssh2": 22, "tls": 16514}
# Extra parameters of the remote driver (libvirt's remote.html, "Extra parameters").
PARAMETERS = ("name", "command", "socket", "netcat", "keyfile", "no_verify", "no_tty", "pkipath", "known_hosts",
              "known_hosts_verify", "sshauth", "mode", "proxy", "tls_priority")
_USER = re.compile(r"^[A-Za-z0-9._-]+$")
_LABEL = r"[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_HOST = re.compile(rf"^(?=.{{1,253}}$){_LABEL}(\.{_LABEL})*$")
EXAMPLES = "qemu:///system (this machine), qemu+ssh://root@hv01.example.org/system, qemu+tls://hv01.example.org/system"


@dataclass(frozen=True)
class LibvirtUri:
    driver: str
    transport: str | None
    user: str | None
    host: str | None  # lower case; None for this machine
    port: int | None
    path: str

    @property
    def endpoint(self) -> tuple[str, str, int | None, str]:
        """What identifies the hypervisor behind the URI: the same daemon whatever user logs in to it."""
        port = self.port or DEFAULT_PORTS.get(self.transport or "")
        return (self.driver, self.host or "(this machine)", port if self.host else None, self.path)


class UriError(ValueError):
    """Why a text is not a libvirt URI this project can drive; the message ends with examples of good ones."""


def _refuse(why: str) -> UriError:
    return UriError(f"{why}; e.g. {EXAMPLES}")


def _host_problem(host: str) -> str | None:
    try:
        ip_address(host)
        return None
    except ValueError:
        pass
    return None if _HOST.match(host) else f"host {host!r} is not a DNS name or IP address"


def parse_libvirt_uri(text: str) -> LibvirtUri:
    """The URI's parts; raises UriError saying what libvirt would make of it."""
    parsed, error = _parsed(text) if isinstance(text, str) else (None, "empty")
    if parsed is None:
        raise UriError(error)
    return parsed


@lru_cache(maxsize=4096)
def _parsed(text: str) -> tuple[LibvirtUri | None, str]:
    try:
        return _parse(text), ""
    except UriError as error:
        return None, str(error)


def _parse(text: str) -> LibvirtUri:
    if not isinstance(text, str) or not text:
        raise _refuse("empty")
    if any(c.isspace() or not c.isprintable() for c in text):
        raise _refuse("contains a blank or an invisible character (libvirt would read it as part of the name)")
    if "://" not in text:
        raise _refuse("not a URI (no '://')")
    parts = urlsplit(text)
    driver, _, transport = parts.scheme.partition("+")
    if driver not in DRIVERS:
        close = difflib.get_close_matches(driver, DRIVERS, n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise _refuse(f"driver {driver!r}{hint} is not one this project drives (qemu for VMs, test for tests)")
    if transport in REFUSED_TRANSPORTS:
        raise _refuse(f"transport {transport!r} {REFUSED_TRANSPORTS[transport]}; use +ssh or +tls")
    if transport and transport not in TRANSPORTS:
        close = difflib.get_close_matches(transport, TRANSPORTS, n=1)
        hint = f" (did you mean '+{close[0]}'?)" if close else ""
        raise _refuse(f"unknown transport {transport!r}{hint}")
    if parts.fragment:
        raise _refuse("a libvirt URI has no '#fragment'")
    try:
        port = parts.port
    except ValueError:
        raise _refuse(f"port in {parts.netloc!r} is not a number from 1 to 65535") from None
    if port == 0:
        raise _refuse("port 0 is not a port")
    host = parts.hostname
    user = parts.username
    if parts.password is not None:
        raise _refuse("holds a password; libvirt URIs authenticate with SSH keys or TLS certificates")
    if user is not None and not _USER.match(user):
        raise _refuse(f"user {user!r} is not a login name")
    if host:
        problem = _host_problem(host)
        if problem:
            raise _refuse(problem)
    if transport in ("ssh", "libssh", "libssh2", "tls") and not host:
        raise _refuse(f"the {transport} transport needs a host: {driver}+{transport}://user@host/system")
    if transport == "unix" and host:
        raise _refuse("the unix transport reaches this machine's daemon only; drop the host, or use +ssh")
    if host and not transport:
        raise _refuse(f"names a host without a transport (libvirt would pick TLS); say which: {driver}+ssh://"
                      f"{user + '@' if user else ''}{host}/system or {driver}+tls://{host}/system")
    path = parts.path
    if driver == "qemu":
        if path == "/session":
            raise _refuse("/session is QEMU's per-user daemon: its VMs have no bridge networking and no PCI "
                          "passthrough; use /system")
        if path != "/system":
            raise _refuse(f"path {path or '(none)'!r}: QEMU's system daemon is /system")
    elif driver == "test" and not (path == "/default" or (path.startswith("/") and path.endswith(".xml"))):
        raise _refuse(f"path {path or '(none)'!r}: the test driver takes /default or an absolute path to an XML file")
    for key, _value in parse_qsl(parts.query, keep_blank_values=True):
        if key not in PARAMETERS:
            close = difflib.get_close_matches(key, PARAMETERS, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise _refuse(f"unknown parameter {key!r}{hint}; libvirt's remote driver knows: {', '.join(PARAMETERS)}")
    return LibvirtUri(driver=driver, transport=transport or None, user=user, host=host.lower() if host else None,
                      port=port, path=path)


def endpoint(text: str) -> tuple[str, str, int | None, str] | None:
    """The hypervisor a URI names, or None when it is not a valid URI (reported elsewhere)."""
    try:
        return parse_libvirt_uri(text).endpoint
    except UriError:
        return None
