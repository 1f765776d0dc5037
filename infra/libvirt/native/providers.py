"""Pulumi dynamic providers, one per libvirt object kind, on libvirt-python.

Pulumi pickles each provider object into the state, by reference to this module: so these classes keep no state
on `self` (connections live in infra.libvirt.native.connection's cache) and this module's path must not move.

Inputs are plain data: the rendered XML plus a few fields. Outputs add `live` (the managed facts read back from
libvirt, see facts.py) and `drift` (how live differs from the declared XML); `pulumi refresh` updates both, and
the next diff compares the declared XML with what libvirt really has.
"""

from __future__ import annotations

import hashlib
import xml.etree.ElementTree as ET
from collections.abc import Callable
from contextlib import contextmanager
from typing import Any, ClassVar

from pulumi.dynamic import CreateResult, DiffResult, ReadResult, ResourceProvider, UpdateResult

from infra.libvirt.model import BaseImageDef
from infra.libvirt.native import render, transfer
from infra.libvirt.native.connection import LibvirtObjectError, connection, libvirt_module
from infra.libvirt.native.facts import DNSMASQ_NS, FACTS, changed, domain_facts, network_facts, volume_facts

# Pulumi's marker for a value not known during preview (pulumi.runtime.rpc.UNKNOWN).
_UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"


def drift_lines(declared: dict[str, str], live: dict[str, str]) -> list[str]:
    """How the live object differs from what the stack declares: `memory: declared 536870912, live 1073741824`."""
    return [f"{key}: declared {want or '(none)'}, live {have or '(none)'}"
            for key, (want, have) in changed(declared, live).items()]


def explain(changes: dict[str, tuple[str, str]], note: Callable[[str], str]) -> list[str]:
    """One line per changed fact: `memory: 536870912 -> 1073741824 (takes effect after restart)`."""
    return [f"{key}: {old or '(none)'} -> {new or '(none)'}{note(key)}" for key, (old, new) in changes.items()]


@contextmanager
def _libvirt_call(props: dict[str, Any], kind: str, action: str):
    """Turn libvirt's exception into one that names the host, the object and the action."""
    libvirt = libvirt_module()
    try:
        yield
    except libvirt.libvirtError as error:
        raise LibvirtObjectError(props["host"], props["uri"], kind, _object_name(props), action,
                                 error.get_error_message()) from None


def _object_name(props: dict[str, Any]) -> str:
    """What an error calls the object: its libvirt name, or for a reservation its node and MAC."""
    return props.get("name") or f"{props.get('node')} ({props.get('mac')})"


def _undo(steps: list[Callable[[], None]]) -> None:
    """Roll back what a failed create made, newest first; a failing step must not stop the others."""
    for step in reversed(steps):
        try:
            step()
        except Exception:  # noqa: BLE001 - the create's own error is what the user needs to see
            pass


def _not_found(error) -> bool:
    libvirt = libvirt_module()
    return error.get_error_code() in (libvirt.VIR_ERR_NO_DOMAIN, libvirt.VIR_ERR_NO_NETWORK,
                                      libvirt.VIR_ERR_NO_STORAGE_POOL, libvirt.VIR_ERR_NO_STORAGE_VOL)


class _XmlObjectProvider(ResourceProvider):
    """Shared diff/read logic for objects fully described by their XML (pool, network, volume, domain)."""

    kind: ClassVar[str]
    identity: ClassVar[tuple[str, ...]] = ("uri", "name")  # a different value means a different object
    replace_facts: ClassVar[tuple[str, ...]] = ()  # fact key prefixes libvirt cannot change in place
    restart_note: ClassVar[str] = ""
    outputs_only: ClassVar[tuple[str, ...]] = ("live", "drift", "path", "running", "pending_restart")
    plain_inputs: ClassVar[tuple[str, ...]] = ()  # inputs outside the XML that an update applies

    def _note(self, key: str) -> str:
        if key.startswith(self.replace_facts):
            return " (needs a new object: replace)"
        return self.restart_note

    def _facts(self, xml: str) -> dict[str, str]:
        return FACTS[self.kind](xml)

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        replaces = [k for k in self.identity if olds.get(k) != news.get(k)]
        if news.get("xml") == _UNKNOWN:
            return DiffResult(changes=True, replaces=replaces)
        delta = self.changes(olds, news)
        if any(key.startswith(self.replace_facts) for key in delta):
            replaces.append("xml")
        text_changed = olds.get("xml") != news.get("xml")
        plain_changed = any(olds.get(k) != news.get(k) for k in self.plain_inputs)
        return DiffResult(changes=bool(replaces or delta or text_changed or plain_changed), replaces=replaces,
                          delete_before_replace=bool(replaces))

    def changes(self, olds: dict[str, Any], news: dict[str, Any]) -> dict[str, tuple[str, str]]:
        """What differs between the object as last seen (live facts, else the old XML) and the new XML."""
        current = olds.get("live") or self._facts(olds["xml"])
        return changed(current, self._facts(news["xml"]))

    def describe(self, olds: dict[str, Any], news: dict[str, Any]) -> list[str]:
        return explain(self.changes(olds, news), self._note)

    def _read_result(self, id_: str, outs: dict[str, Any]) -> ReadResult:
        """After a refresh the recorded inputs carry the live `elements`, so the next preview's diff names each
        XML element that drifted (`elements.memory: "1073741824" => "536870912"`), not just "xml changed"."""
        inputs = {k: v for k, v in outs.items() if k not in self.outputs_only}
        inputs["elements"] = outs["live"]
        return ReadResult(id_, outs, inputs)

    def _managed(self, live: dict[str, str], declared: dict[str, str]) -> dict[str, str]:
        """The live facts this resource owns (a network leaves node reservations to their own resources)."""
        return live

    def _outs(self, props: dict[str, Any], live_xml: str, **extra: Any) -> dict[str, Any]:
        live = self._managed(self._facts(live_xml), self._facts(props["xml"]))
        drift = drift_lines(self._facts(props["xml"]), live)
        outs = {k: v for k, v in props.items() if k != "__provider"}
        return {**outs, **extra, "live": live, "drift": drift}


class PoolProvider(_XmlObjectProvider):
    kind = "pool"
    outputs_only = ("live", "drift")  # its path is an input
    replace_facts = ("pool/@type", "target/path")

    def create(self, props: dict[str, Any]) -> CreateResult:
        conn = connection(props["uri"], props["host"])
        made: list[Callable[[], None]] = []
        with _libvirt_call(props, "pool", "create"):
            _refuse_existing(conn.storagePoolLookupByName, props, "pool", "virsh pool-destroy + pool-undefine")
            try:
                pool = conn.storagePoolDefineXML(props["xml"], 0)
                made.append(pool.undefine)
                pool.build(0)  # mkdir (with the pool's mode); harmless when the directory exists
                made.append(lambda: pool.delete(0))  # removes the directory only while it is empty
                pool.create(0)
                made.append(pool.destroy)
                pool.setAutostart(1)
            except BaseException:
                _undo(made)
                raise
            return CreateResult(pool.UUIDString(), self._outs(props, pool.XMLDesc(0), path=props["path"]))

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        conn = connection(props["uri"], props["host"])
        with _libvirt_call(props, "pool", "read"):
            pool = _lookup(conn.storagePoolLookupByUUIDString, id_)
            if pool is None:
                return ReadResult(None, {})
            return self._read_result(id_, self._outs(props, pool.XMLDesc(0), path=props["path"]))

    def update(self, id_: str, olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        conn = connection(news["uri"], news["host"])
        with _libvirt_call(news, "pool", "redefine"):
            pool = conn.storagePoolDefineXML(_with_uuid(news["xml"], id_), 0)
            return UpdateResult(self._outs(news, pool.XMLDesc(0), path=news["path"]))

    def delete(self, id_: str, props: dict[str, Any]) -> None:
        conn = connection(props["uri"], props["host"])
        with _libvirt_call(props, "pool", "delete"):
            pool = _lookup(conn.storagePoolLookupByUUIDString, id_)
            if pool is None:
                return
            if pool.isActive():
                pool.destroy()
            _undo([lambda: pool.delete(0)])  # keep a directory that still holds foreign files
            pool.undefine()


class NetworkProvider(_XmlObjectProvider):
    """The network itself: forward mode, bridge, addresses, DHCP range, DNS (api records, forwarders, the *.apps
    wildcard). Node reservations are separate resources (ReservationProvider) applied live, so they are not this
    resource's business: its facts leave them out and a redefinition keeps them. Changing anything here except
    the api DNS records needs the network restarted, which cuts every VM on it off for a moment, so the update
    only redefines it and reports what is pending."""

    kind = "network"
    replace_facts = ("forward/@mode", "bridge/@name", "ip/@address", "ip/@prefix")
    restart_note = " (takes effect when the network restarts)"
    _reservation_keys: ClassVar[tuple[str, ...]] = ("ip/dhcp/host[", "dns/host[")

    def _managed(self, live: dict[str, str], declared: dict[str, str]) -> dict[str, str]:
        return {k: v for k, v in live.items() if not k.startswith(self._reservation_keys) or k in declared}

    def _note(self, key: str) -> str:
        if key.startswith("dns/host["):
            return " (applied live)"
        return super()._note(key)

    def create(self, props: dict[str, Any]) -> CreateResult:
        conn = connection(props["uri"], props["host"])
        made: list[Callable[[], None]] = []
        with _libvirt_call(props, "network", "create"):
            _refuse_existing(conn.networkLookupByName, props, "network", "virsh net-destroy + net-undefine")
            try:
                net = conn.networkDefineXML(props["xml"])
                made.append(net.undefine)
                net.create()
                made.append(net.destroy)
                net.setAutostart(1)
            except BaseException:
                _undo(made)
                raise
            return CreateResult(net.UUIDString(), self._outs(props, _network_xml(net)))

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        conn = connection(props["uri"], props["host"])
        with _libvirt_call(props, "network", "read"):
            net = _lookup(conn.networkLookupByUUIDString, id_)
            if net is None:
                return ReadResult(None, {})
            return self._read_result(id_, self._outs(props, _network_xml(net)))

    def update(self, id_: str, olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        libvirt = libvirt_module()
        conn = connection(news["uri"], news["host"])
        delta = self.changes(olds, news)
        with _libvirt_call(news, "network", "update"):
            net = conn.networkLookupByUUIDString(id_)
            live_xml = _network_xml(net)
            if net.isActive():  # DNS records (api, api-int) change live; the rest waits for a restart
                for key in (k for k in delta if k.startswith("dns/host[")):
                    ip = key.split("'")[1]
                    if _element(live_xml, key) is not None:
                        net.update(libvirt.VIR_NETWORK_UPDATE_COMMAND_DELETE, libvirt.VIR_NETWORK_SECTION_DNS_HOST,
                                   -1, render.dns_host_selector_xml(ip), libvirt.VIR_NETWORK_UPDATE_AFFECT_LIVE)
                    new = _element(news["xml"], key)
                    if new is not None:
                        net.update(libvirt.VIR_NETWORK_UPDATE_COMMAND_ADD_LAST, libvirt.VIR_NETWORK_SECTION_DNS_HOST,
                                   -1, new, libvirt.VIR_NETWORK_UPDATE_AFFECT_LIVE)
            net = conn.networkDefineXML(_keep_reservations(_with_uuid(news["xml"], id_), live_xml))
            pending = [line for line in explain(delta, self._note) if line.endswith(self.restart_note)]
            return UpdateResult(self._outs(news, _network_xml(net), pending_restart=pending))

    def delete(self, id_: str, props: dict[str, Any]) -> None:
        conn = connection(props["uri"], props["host"])
        with _libvirt_call(props, "network", "delete"):
            net = _lookup(conn.networkLookupByUUIDString, id_)
            if net is None:
                return
            if net.isActive():
                net.destroy()
            net.undefine()


class ReservationProvider(ResourceProvider):
    """One node's DHCP reservation (MAC -> IP, hostname) and DNS record (IP -> FQDN) in a nat/route network,
    added and removed live with virNetworkUpdate (live + persistent config): adding a worker never restarts the
    network the other VMs are on."""

    identity: ClassVar[tuple[str, ...]] = ("uri", "network", "network_id", "mac")

    def _facts(self, props: dict[str, Any], network_xml: str) -> dict[str, str]:
        facts = network_facts(network_xml)
        found = {"dhcp": facts.get(f"ip/dhcp/host[@mac='{props['mac'].lower()}']", "")}
        if props.get("dns_xml"):
            found["dns"] = facts.get(f"dns/host[@ip='{props['ip']}']", "")
        return found

    def _declared(self, props: dict[str, Any]) -> dict[str, str]:
        declared = {"dhcp": f"{props['ip']} {props['hostname']}"}
        if props.get("dns_xml"):
            declared["dns"] = " ".join(props["dns_names"])
        return declared

    def _outs(self, props: dict[str, Any], network_xml: str) -> dict[str, Any]:
        live = self._facts(props, network_xml)
        drift = drift_lines(self._declared(props), live)
        outs = {k: v for k, v in props.items() if k != "__provider"}
        return {**outs, "live": live, "drift": drift}

    def _network(self, conn, props: dict[str, Any]):
        return conn.networkLookupByName(props["network"])

    def _apply(self, net, command: str, section: str, element: str) -> None:
        libvirt = libvirt_module()
        flags = libvirt.VIR_NETWORK_UPDATE_AFFECT_CONFIG
        if net.isActive():
            flags |= libvirt.VIR_NETWORK_UPDATE_AFFECT_LIVE
        net.update(getattr(libvirt, command), getattr(libvirt, section), -1, element, flags)

    def create(self, props: dict[str, Any]) -> CreateResult:
        conn = connection(props["uri"], props["host"])
        with _libvirt_call(props, "network reservation", "add"):
            net = self._network(conn, props)
            self._apply(net, "VIR_NETWORK_UPDATE_COMMAND_ADD_LAST", "VIR_NETWORK_SECTION_IP_DHCP_HOST",
                        props["dhcp_xml"])
            try:
                if props.get("dns_xml"):
                        self._apply(net, "VIR_NETWORK_UPDATE_COMMAND_ADD_LAST", "VIR_NETWORK_SECTION_DNS_HOST",
                                props["dns_xml"])
            except BaseException:
                _undo([lambda: self._apply(net, "VIR_NETWORK_UPDATE_COMMAND_DELETE",
                                           "VIR_NETWORK_SECTION_IP_DHCP_HOST", props["dhcp_xml"])])
                raise
            return CreateResult(f"{props['network']}/{props['mac']}", self._outs(props, _network_xml(net)))

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        conn = connection(props["uri"], props["host"])
        with _libvirt_call(props, "network reservation", "read"):
            net = _lookup(conn.networkLookupByName, props["network"])
            if net is None:
                return ReadResult(None, {})
            outs = self._outs(props, _network_xml(net))
            if not any(outs["live"].values()):
                return ReadResult(None, {})
            return ReadResult(id_, outs)

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        replaces = [k for k in self.identity if olds.get(k) != news.get(k)]
        current = olds.get("live") or self._declared(olds)
        changes = bool(replaces) or current != self._declared(news)
        return DiffResult(changes=changes, replaces=replaces, delete_before_replace=bool(replaces))

    def update(self, id_: str, olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        conn = connection(news["uri"], news["host"])
        with _libvirt_call(news, "network reservation", "update"):
            net = self._network(conn, news)
            self._remove(net, olds)
            self.create(news)
            return UpdateResult(self._outs(news, _network_xml(net)))

    def _remove(self, net, props: dict[str, Any]) -> None:
        """Delete the live elements for this MAC / IP (whatever they hold now, drift included)."""
        live_xml = _network_xml(net)
        dhcp = _element(live_xml, f"ip/dhcp/host[@mac='{props['mac'].lower()}']")
        if dhcp is not None:
            self._apply(net, "VIR_NETWORK_UPDATE_COMMAND_DELETE", "VIR_NETWORK_SECTION_IP_DHCP_HOST", dhcp)
        # Without dns_xml the record at this IP is the network's own (api, api-int).
        if props.get("dns_xml") and _element(live_xml, f"dns/host[@ip='{props['ip']}']") is not None:
            self._apply(net, "VIR_NETWORK_UPDATE_COMMAND_DELETE", "VIR_NETWORK_SECTION_DNS_HOST",
                        render.dns_host_selector_xml(props["ip"]))

    def delete(self, id_: str, props: dict[str, Any]) -> None:
        conn = connection(props["uri"], props["host"])
        with _libvirt_call(props, "network reservation", "remove"):
            net = _lookup(conn.networkLookupByName, props["network"])
            if net is not None:
                self._remove(net, props)


class VolumeProvider(_XmlObjectProvider):
    """Root (copy-on-write on the base image) and data volumes. A volume whose state says `protected` is never
    deleted, whatever the program asks: prod root and data disks hold the cluster."""

    kind = "volume"
    identity = ("uri", "name", "pool")
    plain_inputs = ("protected", "node", "kind")
    replace_facts = ("name", "capacity", "target/format", "backingStore")

    def create(self, props: dict[str, Any]) -> CreateResult:
        conn = connection(props["uri"], props["host"])
        with _libvirt_call(props, "volume", "create"):
            pool = _active_pool(conn, props)
            _refuse_existing(pool.storageVolLookupByName, props, "volume", "virsh vol-delete")
            vol = pool.createXML(props["xml"], 0)
            return CreateResult(vol.key(), self._outs(props, vol.XMLDesc(0), path=vol.path()))

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        conn = connection(props["uri"], props["host"])
        with _libvirt_call(props, "volume", "read"):
            vol = _lookup(conn.storageVolLookupByKey, id_)
            if vol is None:
                return ReadResult(None, {})
            return self._read_result(id_, self._outs(props, vol.XMLDesc(0), path=vol.path()))

    def update(self, id_: str, olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        # Only the `protected` flag or XML layout can change here (capacity, format, backing replace): record it.
        conn = connection(news["uri"], news["host"])
        with _libvirt_call(news, "volume", "read"):
            vol = conn.storageVolLookupByKey(id_)
            return UpdateResult(self._outs(news, vol.XMLDesc(0), path=vol.path()))

    def delete(self, id_: str, props: dict[str, Any]) -> None:
        if props.get("protected"):
            raise LibvirtObjectError(
                props["host"], props["uri"], "volume", props["name"], "delete",
                "it is protected (a prod root/data disk). If it really must go, first run `pulumi up` with the "
                "volume unprotected (VolumeDef.protect false), then delete; or `pulumi state unprotect` it")
        _delete_volume(props, id_)


class BaseImageProvider(ResourceProvider):
    """The OS image, imported once per host after its sha256 is verified on the machine running Pulumi."""

    identity: ClassVar[tuple[str, ...]] = ("uri", "pool", "name", "source", "sha256", "checksum_file", "format")

    def create(self, props: dict[str, Any]) -> CreateResult:
        conn = connection(props["uri"], props["host"])
        image = BaseImageDef(props["host"], props["pool"], props["name"], props["source"], props.get("sha256"),
                             props["format"], props.get("checksum_file"))
        try:
            expected = image.expected_sha256()
        except (OSError, ValueError) as error:
            raise transfer.ImageError(f"OS image {image.source}: {error}") from None
        with transfer.verified_image(props["source"], expected) as path, \
                _libvirt_call(props, "base image volume", "import"):
            pool = _active_pool(conn, props)
            _refuse_existing(pool.storageVolLookupByName, props, "volume", "virsh vol-delete")
            vol = pool.createXML(render.base_image_xml(image, path.stat().st_size), 0)
            try:
                transfer.upload_file(conn, vol, path)
            except BaseException:
                _undo([lambda: vol.delete(0)])
                raise
            return CreateResult(vol.key(), {**self._outs(props, vol), "verified_sha256": expected})

    def _outs(self, props: dict[str, Any], vol) -> dict[str, Any]:
        outs = {k: v for k, v in props.items() if k != "__provider"}
        return {**outs, "path": vol.path(), "live": volume_facts(vol.XMLDesc(0)), "drift": []}

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        conn = connection(props["uri"], props["host"])
        with _libvirt_call(props, "base image volume", "read"):
            vol = _lookup(conn.storageVolLookupByKey, id_)
            return ReadResult(None, {}) if vol is None else ReadResult(id_, self._outs(props, vol))

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        replaces = [k for k in self.identity if olds.get(k) != news.get(k)]
        # Root volumes are overlays on this file: the old image must be gone before one of the same name is made.
        return DiffResult(changes=bool(replaces), replaces=replaces, delete_before_replace=bool(replaces))

    def delete(self, id_: str, props: dict[str, Any]) -> None:
        _delete_volume(props, id_)


class IgnitionProvider(ResourceProvider):
    """One domain's Ignition file as a raw volume. The content is a secret input: it is never returned as an
    output nor put in an error message; the state keeps only its sha256 and size."""

    identity: ClassVar[tuple[str, ...]] = ("uri", "pool", "name")

    def create(self, props: dict[str, Any]) -> CreateResult:
        conn = connection(props["uri"], props["host"])
        data = _ignition_bytes(props)
        with _libvirt_call(props, "Ignition volume", "create"):
            pool = _active_pool(conn, props)
            _refuse_existing(pool.storageVolLookupByName, props, "volume", "virsh vol-delete")
            vol = pool.createXML(render.ignition_xml(props["name"], len(data)), 0)
            try:
                transfer.upload_bytes(conn, vol, data)
            except BaseException:
                _undo([lambda: vol.delete(0)])
                raise
            return CreateResult(vol.key(), self._outs(props, vol, data))

    def _outs(self, props: dict[str, Any], vol, data: bytes) -> dict[str, Any]:
        keep = {k: v for k, v in props.items() if k not in ("__provider", "content")}
        digest = hashlib.sha256(data).hexdigest()
        return {**keep, "path": vol.path(), "size": len(data), "content_sha256": digest, "drift": []}

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        conn = connection(props["uri"], props["host"])
        with _libvirt_call(props, "Ignition volume", "read"):
            vol = _lookup(conn.storageVolLookupByKey, id_)
            if vol is None:
                return ReadResult(None, {})
            size = int(props.get("size") or vol.info()[1])
            live = transfer.download_bytes(conn, vol, size)
            outs = self._outs(props, vol, live)
            if outs["content_sha256"] != props.get("content_sha256"):
                outs["drift"] = drift_lines({"content sha256": props.get("content_sha256") or ""},
                                            {"content sha256": outs["content_sha256"]})
            return ReadResult(id_, outs)

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        replaces = [k for k in self.identity if olds.get(k) != news.get(k)]
        content = news.get("content")
        if content == _UNKNOWN:
            return DiffResult(changes=True, replaces=replaces, delete_before_replace=bool(replaces))
        digest = hashlib.sha256(content.encode()).hexdigest()
        return DiffResult(changes=bool(replaces) or digest != olds.get("content_sha256"), replaces=replaces,
                          delete_before_replace=bool(replaces))

    def update(self, id_: str, olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        """New content under the same name, so the same path (the volume's key and the domain's fw_cfg entry stay
        valid). The volume is made anew: libvirt cannot shrink a volume below its allocation. Ignition runs on a
        node's first boot only: an existing node keeps its config until it is re-provisioned."""
        conn = connection(news["uri"], news["host"])
        data = _ignition_bytes(news)
        with _libvirt_call(news, "Ignition volume", "update"):
            old = _lookup(conn.storageVolLookupByKey, id_)
            if old is not None:
                old.delete(0)
            pool = _active_pool(conn, news)
            vol = pool.createXML(render.ignition_xml(news["name"], len(data)), 0)
            try:
                transfer.upload_bytes(conn, vol, data)
            except BaseException:
                _undo([lambda: vol.delete(0)])
                raise
            return UpdateResult(self._outs(news, vol, data))

    def delete(self, id_: str, props: dict[str, Any]) -> None:
        _delete_volume(props, id_)


class DomainProvider(_XmlObjectProvider):
    """A VM. Memory, vCPUs, disks, NICs etc. are redefined in place and take effect at the next restart (the
    update reports them as `pending_restart`); another type or name is a new domain."""

    kind = "domain"
    replace_facts = ("domain/@type", "name")
    plain_inputs = ("autostart", "start", "node")
    restart_note = " (takes effect after restart)"

    def create(self, props: dict[str, Any]) -> CreateResult:
        conn = connection(props["uri"], props["host"])
        made: list[Callable[[], None]] = []
        with _libvirt_call(props, "domain", "create"):
            _refuse_existing(conn.lookupByName, props, "domain", "virsh destroy + undefine --nvram")
            try:
                dom = conn.defineXML(props["xml"])
                made.append(lambda: _undefine(dom))
                dom.setAutostart(1 if props["autostart"] else 0)
                if props["start"]:
                    dom.create()
                    made.append(dom.destroy)
            except BaseException:
                _undo(made)
                raise
            return CreateResult(dom.UUIDString(), self._domain_outs(props, dom))

    def _domain_outs(self, props: dict[str, Any], dom, **extra: Any) -> dict[str, Any]:
        libvirt = libvirt_module()
        return self._outs(props, dom.XMLDesc(libvirt.VIR_DOMAIN_XML_INACTIVE), running=bool(dom.isActive()),
                          **extra)

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        conn = connection(props["uri"], props["host"])
        with _libvirt_call(props, "domain", "read"):
            dom = _lookup(conn.lookupByUUIDString, id_)
            if dom is None:
                return ReadResult(None, {})
            return self._read_result(id_, self._domain_outs(props, dom))

    def update(self, id_: str, olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        conn = connection(news["uri"], news["host"])
        pending = self.describe(olds, news)
        with _libvirt_call(news, "domain", "redefine"):
            dom = conn.defineXML(_with_uuid(news["xml"], id_))
            dom.setAutostart(1 if news["autostart"] else 0)
            if news["start"] and not dom.isActive():
                dom.create()
                pending = []
            return UpdateResult(self._domain_outs(news, dom, pending_restart=pending if dom.isActive() else []))

    def delete(self, id_: str, props: dict[str, Any]) -> None:
        conn = connection(props["uri"], props["host"])
        with _libvirt_call(props, "domain", "delete"):
            dom = _lookup(conn.lookupByUUIDString, id_)
            if dom is None:
                return
            if dom.isActive():
                dom.destroy()
            _undefine(dom)


# --- helpers -----------------------------------------------------------------------------------------------------


def _lookup(lookup: Callable[[str], Any], key: str):
    """The object, or None when libvirt says it does not exist (deleted out of band)."""
    libvirt = libvirt_module()
    try:
        return lookup(key)
    except libvirt.libvirtError as error:
        if _not_found(error):
            return None
        raise


def _refuse_existing(lookup: Callable[[str], Any], props: dict[str, Any], kind: str, remedy: str) -> None:
    """Never adopt or overwrite an object the stack did not create."""
    if _lookup(lookup, props["name"]) is not None:
        raise LibvirtObjectError(props["host"], props["uri"], kind, props["name"], "create",
                                 f"a {kind} of that name already exists outside this stack; remove it "
                                 f"({remedy}) or import it into the stack")


def _active_pool(conn, props: dict[str, Any]):
    """The volume's pool, started if it is not. No refresh: libvirt refuses to refresh a pool while any volume
    in it is being created or uploaded, and Pulumi creates a host's volumes in parallel. A file put there out
    of band still cannot be overwritten: libvirt creates volume files exclusively and fails on a clash."""
    pool = conn.storagePoolLookupByName(props["pool"])
    if not pool.isActive():
        pool.create(0)
    return pool


def _delete_volume(props: dict[str, Any], key: str) -> None:
    conn = connection(props["uri"], props["host"])
    with _libvirt_call(props, "volume", "delete"):
        vol = _lookup(conn.storageVolLookupByKey, key)
        if vol is not None:
            vol.delete(0)


def _undefine(dom) -> None:
    """Undefine with the domain's NVRAM (UEFI variables) and any managed save/snapshot metadata. A driver
    without NVRAM or checkpoints (libvirt's test driver) rejects those flags; it has nothing of them to keep."""
    libvirt = libvirt_module()
    metadata = libvirt.VIR_DOMAIN_UNDEFINE_MANAGED_SAVE | libvirt.VIR_DOMAIN_UNDEFINE_SNAPSHOTS_METADATA
    try:
        dom.undefineFlags(metadata | libvirt.VIR_DOMAIN_UNDEFINE_NVRAM
                          | libvirt.VIR_DOMAIN_UNDEFINE_CHECKPOINTS_METADATA)
    except libvirt.libvirtError as error:
        if error.get_error_code() != libvirt.VIR_ERR_INVALID_ARG:
            raise
        dom.undefineFlags(metadata)


def _with_uuid(xml: str, uuid: str) -> str:
    """Redefining under the same name needs the object's UUID, else libvirt sees a second object."""
    return xml.replace("</name>", f"</name>\n  <uuid>{uuid}</uuid>", 1)


def _network_xml(net) -> str:
    """The persistent definition (what a restart brings back); libvirt's test driver knows only the live one."""
    libvirt = libvirt_module()
    try:
        return net.XMLDesc(libvirt.VIR_NETWORK_XML_INACTIVE)
    except libvirt.libvirtError as error:
        if error.get_error_code() != libvirt.VIR_ERR_INVALID_ARG:
            raise
        return net.XMLDesc(0)


def _element(xml: str, key: str) -> str | None:
    """The XML text of the network element a fact key names: `ip/dhcp/host[@mac='..']`, `dns/host[@ip='..']`."""
    path, selector = key.split("[@", 1)
    attribute, value = selector.rstrip("]").split("=", 1)
    for candidate in ET.fromstring(xml).findall(path):
        if candidate.get(attribute, "").lower() == value.strip("'").lower():
            return ET.tostring(candidate, encoding="unicode").strip()
    return None


def _keep_reservations(new_xml: str, live_xml: str) -> str:
    """`new_xml` plus the node reservations (DHCP and DNS hosts) the live network has and `new_xml` lacks:
    redefining the network must not drop what ReservationProvider added."""
    ET.register_namespace("dnsmasq", DNSMASQ_NS.strip("{}"))
    new, live = ET.fromstring(new_xml), ET.fromstring(live_xml)
    for path, key in (("ip/dhcp", "mac"), ("dns", "ip")):
        target = new.find(path)
        if target is None:
            continue
        present = {e.get(key, "").lower() for e in target.findall("host")}
        for element in live.findall(f"{path}/host"):
            if element.get(key, "").lower() not in present:
                element.tail = None
                target.append(element)
    return ET.tostring(new, encoding="unicode")


def _ignition_bytes(props: dict[str, Any]) -> bytes:
    data = props["content"].encode()
    if not data:
        raise LibvirtObjectError(props["host"], props["uri"], "Ignition volume", props["name"], "create",
                                 "the Ignition config is empty")
    return data


__all__ = ["BaseImageProvider", "DomainProvider", "IgnitionProvider", "NetworkProvider", "PoolProvider",
           "ReservationProvider", "VolumeProvider", "domain_facts"]
