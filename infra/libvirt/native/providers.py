"""Pulumi dynamic providers, one per libvirt object kind, on libvirt-python.

Pulumi pickles each provider object into the state, by reference to its class in this module: so these classes
keep no state on `self` (connections live in infra.libvirt.native.connection's cache), they are defined here (not
imported from elsewhere) and this module's path and their names must not move. The lifecycle they share (create
with rollback and adoption, read with drift, diff, update, idempotent delete) is lifecycle.py's; each class here
declares only what its kind does differently.

Inputs are plain data: the rendered XML plus a few fields (props.py). Outputs add `live` (the managed facts read
back from libvirt, see facts.py) and `drift` (how live differs from the declared XML); `pulumi refresh` updates
both, and the next diff compares the declared XML with what libvirt really has.
"""

from __future__ import annotations

from typing import Any

from pulumi.dynamic import CheckFailure, CheckResult

from infra.checksums import sha256_bytes
from infra.libvirt import images
from infra.libvirt.model import BaseImageDef
from infra.libvirt.native import render, transfer, xml_edit
from infra.libvirt.native.connection import LibvirtObjectError, libvirt_module
from infra.libvirt.native.facts import (
    CAPACITY,
    DNS_HOST,
    FactKey,
    dhcp_host_key,
    dhcp_host_value,
    disk_source,
    dns_host_key,
    domain_facts,
    is_reservation,
    network_facts,
    volume_facts,
)
from infra.libvirt.native.lifecycle import (
    UNKNOWN,
    ObjectProvider,
    Undo,
    XmlObjectProvider,
    drift_lines,
    explain,
    lookup,
    public,
    undo,
)

GIB = 1024**3


class PoolProvider(XmlObjectProvider):
    """A dir pool. Update: redefined in place under its UUID. Replace: libvirt keeps pool names and target paths
    unique, so a pool that keeps either must be deleted before the new one is made."""

    kind = facts_kind = "pool"
    identity = ("uri", "name")
    outputs_only = ("live", "drift")  # its path is an input
    replace_facts = frozenset({FactKey("pool/@type"), FactKey("target/path")})
    remedy = "virsh pool-destroy + pool-undefine"

    def find(self, conn, props, id_):
        return lookup(conn.storagePoolLookupByUUIDString, id_)

    def find_existing(self, conn, props):
        return lookup(conn.storagePoolLookupByName, props["name"])

    def make(self, conn, props, made: Undo):
        pool = conn.storagePoolDefineXML(props["xml"], 0)
        made.append(pool.undefine)
        pool.build(0)  # mkdir (with the pool's mode); harmless when the directory exists
        made.append(lambda: pool.delete(0))  # removes the directory only while it is empty
        pool.create(0)
        made.append(pool.destroy)
        pool.setAutostart(1)
        return pool

    def adopt(self, conn, props, pool):
        if not pool.isActive():
            pool.build(0)
            pool.create(0)
        pool.setAutostart(1)
        return pool

    def object_id(self, pool, props) -> str:
        return pool.UUIDString()

    def outputs(self, conn, props, pool, **extra):
        return super().outputs(conn, props, pool, path=props["path"], **extra)

    def change(self, conn, id_, olds, news):
        return self.outputs(conn, news, conn.storagePoolDefineXML(xml_edit.with_uuid(news["xml"], id_), 0))

    def remove(self, conn, props, pool) -> None:
        if pool.isActive():
            pool.destroy()
        undo([lambda: pool.delete(0)])  # keep a directory that still holds foreign files
        pool.undefine()

    def collides(self, olds, news) -> bool:
        return olds.get("uri") == news.get("uri") and (
            olds.get("name") == news.get("name") or olds.get("path") == news.get("path"))


class NetworkProvider(XmlObjectProvider):
    """The network itself: forward mode, bridge, addresses, DHCP range, DNS (api records, forwarders, the *.apps
    wildcard). Node reservations are separate resources (ReservationProvider) applied live, so they are not this
    resource's business: its facts leave them out and a redefinition keeps them. Changing anything here except
    the api DNS records needs the network restarted, which cuts every VM on it off for a moment, so the update
    only redefines it (in place, under its UUID) and reports what is pending. Replace: libvirt keeps network
    names and bridge names unique, so the old network goes first."""

    kind = facts_kind = "network"
    identity = ("uri", "name")
    replace_facts = frozenset({FactKey("forward/@mode"), FactKey("bridge/@name"), FactKey("ip/@address"),
                               FactKey("ip/@prefix")})
    restart_note = " (takes effect when the network restarts)"
    remedy = "virsh net-destroy + net-undefine"

    def live_xml(self, net) -> str:
        """The persistent definition (what a restart brings back); libvirt's test driver knows only the live one."""
        return _network_xml(net)

    def managed(self, live, declared):
        return {k: v for k, v in live.items() if not is_reservation(k) or k in declared}

    def note(self, key: FactKey) -> str:
        return " (applied live)" if key.path == DNS_HOST else super().note(key)

    def find(self, conn, props, id_):
        return lookup(conn.networkLookupByUUIDString, id_)

    def find_existing(self, conn, props):
        return lookup(conn.networkLookupByName, props["name"])

    def make(self, conn, props, made: Undo):
        net = conn.networkDefineXML(props["xml"])
        made.append(net.undefine)
        net.create()
        made.append(net.destroy)
        net.setAutostart(1)
        return net

    def adopt(self, conn, props, net):
        if not net.isActive():
            net.create()
        net.setAutostart(1)
        return net

    def object_id(self, net, props) -> str:
        return net.UUIDString()

    def change(self, conn, id_, olds, news):
        libvirt = libvirt_module()
        net = conn.networkLookupByUUIDString(id_)
        live_xml = _network_xml(net)
        delta = self.live_delta(net, news)
        if net.isActive():  # DNS records (api, api-int) change live; the rest waits for a restart
            for key in (k for k in delta if k.path == DNS_HOST):
                _replace_dns_host(net, xml_edit.element(live_xml, key) is not None, key.value,
                                  xml_edit.element(news["xml"], key), key.value,
                                  libvirt.VIR_NETWORK_UPDATE_AFFECT_LIVE)
        net = conn.networkDefineXML(xml_edit.keep_reservations(xml_edit.with_uuid(news["xml"], id_), live_xml))
        pending = explain({k: v for k, v in delta.items() if self.note(k) == self.restart_note}, self.note)
        return self.outputs(conn, news, net, pending_restart=pending)

    def remove(self, conn, props, net) -> None:
        if net.isActive():
            net.destroy()
        net.undefine()

    def collides(self, olds, news) -> bool:
        return olds.get("uri") == news.get("uri")  # same name, same bridge, or the same addresses: all unique


class ReservationProvider(ObjectProvider):
    """One node's DHCP reservation (MAC -> IP, hostname) and DNS record (IP -> FQDN) in a nat/route network,
    added and removed live with virNetworkUpdate (live + persistent config): adding a worker never restarts the
    network the other VMs are on. Update: the DHCP host is modified in place (libvirt matches it by MAC); a DNS
    record that moves to another address is added there before the old one goes; one that keeps its address but
    changes names is deleted first (libvirt holds one record per address and cannot modify one). Replace: the old
    goes first (libvirt refuses a second DHCP host with the same MAC, IP or name)."""

    kind = "network reservation"
    identity = ("uri", "network", "network_id", "mac")
    remedy = "virsh net-update <network> delete ip-dhcp-host / dns-host"

    def name_of(self, props) -> str:
        return f"{props.get('node')} ({props.get('mac')})"

    def _live(self, props, network_xml: str) -> dict[str, str]:
        facts = network_facts(network_xml)
        found = {"dhcp": facts.get(dhcp_host_key(props["mac"]), "")}
        if props.get("dns_xml"):
            found["dns"] = facts.get(dns_host_key(props["ip"]), "")
        return found

    def _declared(self, props) -> dict[str, str]:
        declared = {"dhcp": dhcp_host_value(props["ip"], props["hostname"])}
        if props.get("dns_xml"):
            declared["dns"] = " ".join(props["dns_names"])
        return declared

    def find(self, conn, props, id_):
        net = lookup(conn.networkLookupByName, props["network"])
        if net is None or not any(self._live(props, _network_xml(net)).values()):
            return None
        return net

    def find_existing(self, conn, props):
        return self.find(conn, props, "")

    def mismatch(self, conn, props, net) -> str | None:
        live, declared = self._live(props, _network_xml(net)), self._declared(props)
        wrong = [f"{part}: is {live[part]!r}, declared {declared[part]!r}" for part in declared
                 if live[part] and live[part] != declared[part]]
        return "; ".join(wrong) or None

    def adopt(self, conn, props, net):
        live = self._live(props, _network_xml(net))
        libvirt = libvirt_module()
        if not live["dhcp"]:
            _apply(net, libvirt.VIR_NETWORK_UPDATE_COMMAND_ADD_LAST, libvirt.VIR_NETWORK_SECTION_IP_DHCP_HOST,
                   props["dhcp_xml"])
        if props.get("dns_xml") and not live["dns"]:
            _apply(net, libvirt.VIR_NETWORK_UPDATE_COMMAND_ADD_LAST, libvirt.VIR_NETWORK_SECTION_DNS_HOST,
                   props["dns_xml"])
        return net

    def make(self, conn, props, made: Undo):
        libvirt = libvirt_module()
        net = conn.networkLookupByName(props["network"])
        _apply(net, libvirt.VIR_NETWORK_UPDATE_COMMAND_ADD_LAST, libvirt.VIR_NETWORK_SECTION_IP_DHCP_HOST,
               props["dhcp_xml"])
        made.append(lambda: _apply(net, libvirt.VIR_NETWORK_UPDATE_COMMAND_DELETE,
                                   libvirt.VIR_NETWORK_SECTION_IP_DHCP_HOST, props["dhcp_xml"]))
        if props.get("dns_xml"):
            _apply(net, libvirt.VIR_NETWORK_UPDATE_COMMAND_ADD_LAST, libvirt.VIR_NETWORK_SECTION_DNS_HOST,
                   props["dns_xml"])
        return net

    def object_id(self, net, props) -> str:
        return f"{props['network']}/{props['mac']}"

    def outputs(self, conn, props, net, **extra):
        live = self._live(props, _network_xml(net))
        return {**public(props), **extra, "live": live, "drift": drift_lines(self._declared(props), live)}

    def changes(self, olds, news):
        current = olds.get("live") or self._declared(olds)
        return current != self._declared(news), []

    def change(self, conn, id_, olds, news):
        libvirt = libvirt_module()
        net = conn.networkLookupByName(news["network"])
        live_xml = _network_xml(net)
        dhcp = libvirt.VIR_NETWORK_SECTION_IP_DHCP_HOST
        if xml_edit.element(live_xml, dhcp_host_key(news["mac"])) is not None:
            _apply(net, libvirt.VIR_NETWORK_UPDATE_COMMAND_MODIFY, dhcp, news["dhcp_xml"])
        else:
            _apply(net, libvirt.VIR_NETWORK_UPDATE_COMMAND_ADD_LAST, dhcp, news["dhcp_xml"])
        old_ip = olds["ip"] if olds.get("dns_xml") else None
        new_ip = news["ip"] if news.get("dns_xml") else None
        live_names = network_facts(live_xml).get(dns_host_key(old_ip)) if old_ip else None
        if old_ip != new_ip or live_names != " ".join(news["dns_names"]):
            flags = libvirt.VIR_NETWORK_UPDATE_AFFECT_CONFIG | (
                libvirt.VIR_NETWORK_UPDATE_AFFECT_LIVE if net.isActive() else 0)
            _replace_dns_host(net, live_names is not None, old_ip, news.get("dns_xml"), new_ip, flags)
        return self.outputs(conn, news, net)

    def remove(self, conn, props, net) -> None:
        """Delete the live elements for this MAC / IP (whatever they hold now, drift included)."""
        libvirt = libvirt_module()
        live_xml = _network_xml(net)
        dhcp = xml_edit.element(live_xml, dhcp_host_key(props["mac"]))
        if dhcp is not None:
            _apply(net, libvirt.VIR_NETWORK_UPDATE_COMMAND_DELETE, libvirt.VIR_NETWORK_SECTION_IP_DHCP_HOST, dhcp)
        # Without dns_xml the record at this IP is the network's own (api, api-int).
        if props.get("dns_xml") and xml_edit.element(live_xml, dns_host_key(props["ip"])) is not None:
            _apply(net, libvirt.VIR_NETWORK_UPDATE_COMMAND_DELETE, libvirt.VIR_NETWORK_SECTION_DNS_HOST,
                   render.dns_host_selector_xml(props["ip"]))

    def delete(self, id_, props) -> None:
        with self.call(props, "delete") as conn:
            net = lookup(conn.networkLookupByName, props["network"])
            if net is not None:
                self.remove(conn, props, net)

    def collides(self, olds, news) -> bool:
        return True


class VolumeProvider(XmlObjectProvider):
    """Root (copy-on-write on the base image) and data volumes. A volume whose state says `protected` is never
    deleted, whatever the program asks: prod root and data disks hold the cluster. A bigger capacity is applied in
    place (the volume is grown, and the disk of a running VM with it, live); a smaller one is refused before
    anything is changed. Replace (other format or backing file): the old volume goes first when the new one has
    its name (libvirt keeps volume names unique in a pool)."""

    kind = facts_kind = "volume"
    identity = ("uri", "name", "pool")
    plain_inputs = ("protected", "node", "kind")
    replace_facts = frozenset({FactKey("name"), FactKey("target/format/@type"), FactKey("backingStore/path")})
    remedy = "virsh vol-delete"

    def check(self, olds, news) -> CheckResult:
        """A disk that would shrink in place is refused at preview, before anything changes."""
        return CheckResult(news, [CheckFailure("xml", reason)] if (reason := self._shrinks(olds, news)) else [])

    def _shrinks(self, olds, news) -> str | None:
        if not olds.get("xml") or UNKNOWN in (olds["xml"], news.get("xml")):
            return None  # a new volume, or not known yet
        if any(olds.get(k) != news.get(k) for k in self.identity) or self.changes(olds, news)[1]:
            return None  # a new volume replaces it: nothing shrinks
        recorded = (olds.get("elements") or {}).get(str(CAPACITY))
        before = int(recorded or volume_facts(olds["xml"])[CAPACITY])
        after = int(volume_facts(news["xml"])[CAPACITY])
        if after >= before:
            return None
        return (f"host {news.get('host')}: volume {news.get('name')!r} would shrink from {_size(before)} to "
                f"{_size(after)}: disks only grow in place (shrinking would cut off the file system). Keep the "
                "size (diskGiB, or the data disk's sizeGiB) at least as it is, or remove the node and add it anew "
                "with the smaller disk")

    def find(self, conn, props, id_):
        return lookup(conn.storageVolLookupByKey, id_)

    def find_existing(self, conn, props):
        return lookup(_active_pool(conn, props).storageVolLookupByName, props["name"])

    def make(self, conn, props, made: Undo):
        return _active_pool(conn, props).createXML(props["xml"], 0)

    def object_id(self, vol, props) -> str:
        return vol.key()

    def outputs(self, conn, props, vol, **extra):
        return super().outputs(conn, props, vol, path=vol.path(), **extra)

    def change(self, conn, id_, olds, news):
        vol = conn.storageVolLookupByKey(id_)
        want = int(volume_facts(news["xml"])[CAPACITY])
        have = int(volume_facts(vol.XMLDesc(0))[CAPACITY])
        if want > have:
            _grow(conn, vol, want)
        # Otherwise only the `protected` flag or the XML's layout changed: recorded.
        return self.outputs(conn, news, vol)

    def delete(self, id_, props) -> None:
        if props.get("protected"):
            raise LibvirtObjectError(
                props["host"], props["uri"], "volume", props["name"], "delete",
                "it is protected (a prod root/data disk). If it really must go, first run `pulumi up` with the "
                "volume unprotected (VolumeDef.protect false), then delete; or `pulumi state unprotect` it")
        super().delete(id_, props)

    def remove(self, conn, props, vol) -> None:
        vol.delete(0)


class BaseImageProvider(ObjectProvider):
    """The OS image, imported once per host: fetched, verified and decompressed on the machine running Pulumi
    (infra/libvirt/images.py, one download for all hosts), then uploaded with its sha256 checked again. Never
    updated: another image is another volume (its name carries the image's name), made before the old one goes;
    the same name means the old one goes first."""

    kind = "base image volume"
    identity = ("uri", "pool", "name", "source", "sha256", "checksum_file", "format")
    remedy = "virsh vol-delete"

    def _local(self, props) -> images.LocalImage:
        image = _image_def(props)
        return images.prepare(images.ImagePin(image.source, image.sha256, image.checksum_file,
                                              image.uncompressed_sha256))

    def find(self, conn, props, id_):
        return lookup(conn.storageVolLookupByKey, id_)

    def find_existing(self, conn, props):
        return lookup(_active_pool(conn, props).storageVolLookupByName, props["name"])

    def mismatch(self, conn, props, vol) -> str | None:
        expected, actual = self._local(props).sha256, transfer.volume_sha256(conn, vol)
        return None if actual == expected else f"its content has sha256 {actual}, the image {expected}"

    def discard_leftover(self, conn, props, vol, reason) -> bool:
        """An import that an interrupted `up` (or a libvirtd restart) cut off leaves a volume of this name with
        part of the image. Nothing can rest on it as long as no other volume has it as its backing file: then it
        is removed and imported anew; otherwise it is refused (root volumes on it would be corrupted)."""
        path = vol.path()
        pool = _active_pool(conn, props)
        for other in pool.listAllVolumes(0):
            if volume_facts(other.XMLDesc(0))[FactKey("backingStore/path")] == path:
                return False
        vol.delete(0)
        return True

    def make(self, conn, props, made: Undo):
        local = self._local(props)
        vol = _active_pool(conn, props).createXML(render.base_image_xml(_image_def(props), local.size), 0)
        made.append(lambda: vol.delete(0))
        transfer.upload_image(conn, vol, local)
        return vol

    def object_id(self, vol, props) -> str:
        return vol.key()

    def outputs(self, conn, props, vol, **extra):
        verified = props.get("verified_sha256") or images.ImagePin(
            props["source"], props.get("sha256"), props.get("checksum_file")).expected_sha256()
        return {**public(props), **extra, "path": vol.path(), "live": _flat_volume_facts(vol), "drift": [],
                "verified_sha256": verified}

    def remove(self, conn, props, vol) -> None:
        vol.delete(0)


class IgnitionProvider(ObjectProvider):
    """One domain's Ignition file as a raw volume. The content is a secret input: it is never returned as an
    output nor put in an error message; the state keeps only its sha256 and size. Update: the new content is
    uploaded to a staging volume first; only once it is complete is the old file replaced by a copy of it under
    the same name (the domain's fw_cfg entry names the path; libvirt can neither rename a volume nor shrink one
    below what it holds), so a failed upload leaves the old file in place."""

    kind = "Ignition volume"
    identity = ("uri", "pool", "name")
    remedy = "virsh vol-delete"

    def find(self, conn, props, id_):
        return lookup(conn.storageVolLookupByKey, id_)

    def find_existing(self, conn, props):
        return lookup(_active_pool(conn, props).storageVolLookupByName, props["name"])

    def mismatch(self, conn, props, vol) -> str | None:
        data = _ignition_bytes(props)
        live = transfer.download_bytes(conn, vol, vol.info()[1])
        return None if live == data else "its content differs"

    def discard_leftover(self, conn, props, vol, reason) -> bool:
        """This node's Ignition file with other content: a create or update that was cut off. Ignition files are
        read at a VM's start only, so it is rewritten."""
        vol.delete(0)
        return True

    def make(self, conn, props, made: Undo):
        return _upload_ignition(conn, props, props["name"], made)

    def object_id(self, vol, props) -> str:
        return vol.key()

    def outputs(self, conn, props, vol, **extra):
        return self._outs(props, vol, _ignition_bytes(props))

    def _outs(self, props, vol, data: bytes) -> dict[str, Any]:
        return {**public(props, "content"), "path": vol.path(), "size": len(data),
                "content_sha256": sha256_bytes(data), "drift": []}

    def read_outputs(self, conn, props, vol):
        size = int(props.get("size") or vol.info()[1])
        outs = self._outs(props, vol, transfer.download_bytes(conn, vol, size))
        if outs["content_sha256"] != props.get("content_sha256"):
            outs["drift"] = drift_lines({"content sha256": props.get("content_sha256") or ""},
                                        {"content sha256": outs["content_sha256"]})
        return outs

    def unknown(self, news) -> bool:
        return news.get("content") == UNKNOWN

    def changes(self, olds, news):
        return sha256_bytes(news["content"].encode()) != olds.get("content_sha256"), []

    def change(self, conn, id_, olds, news):
        data = _ignition_bytes(news)
        pool = _active_pool(conn, news)
        staging_name = news["name"] + ".next"
        stale = lookup(pool.storageVolLookupByName, staging_name)
        if stale is not None:
            stale.delete(0)
        made: Undo = []
        try:
            staging = _upload_ignition(conn, news, staging_name, made)
        except BaseException:
            undo(made)
            raise
        try:
            old = lookup(conn.storageVolLookupByKey, id_) or lookup(pool.storageVolLookupByName, news["name"])
            if old is not None:
                old.delete(0)
            vol = pool.createXMLFrom(render.ignition_xml(news["name"], len(data)), staging, 0)
        finally:
            undo([lambda: staging.delete(0)])
        return self._outs(news, vol, data)

    def remove(self, conn, props, vol) -> None:
        vol.delete(0)


class DomainProvider(XmlObjectProvider):
    """A VM. Memory, vCPUs, disks, NICs etc. are redefined in place under its UUID and take effect at the next
    restart (the update reports them as `pending_restart`); another type or name is a new domain. Replace: the
    new VM is made first unless it has the old one's name, MAC or GPUs (libvirt keeps names unique; two VMs with
    one MAC or one GPU cannot run together): then the old one goes first."""

    kind = facts_kind = "domain"
    identity = ("uri", "name")
    replace_facts = frozenset({FactKey("domain/@type"), FactKey("name")})
    plain_inputs = ("autostart", "start", "node")
    restart_note = " (takes effect after restart)"
    remedy = "virsh destroy + undefine --nvram"

    def live_xml(self, dom) -> str:
        return dom.XMLDesc(libvirt_module().VIR_DOMAIN_XML_INACTIVE)

    def find(self, conn, props, id_):
        return lookup(conn.lookupByUUIDString, id_)

    def find_existing(self, conn, props):
        return lookup(conn.lookupByName, props["name"])

    def make(self, conn, props, made: Undo):
        dom = conn.defineXML(props["xml"])
        made.append(lambda: _undefine(dom))
        dom.setAutostart(1 if props["autostart"] else 0)
        if props["start"]:
            dom.create()
            made.append(dom.destroy)
        return dom

    def adopt(self, conn, props, dom):
        dom.setAutostart(1 if props["autostart"] else 0)
        if props["start"] and not dom.isActive():
            dom.create()
        return dom

    def object_id(self, dom, props) -> str:
        return dom.UUIDString()

    def outputs(self, conn, props, dom, **extra):
        return super().outputs(conn, props, dom, running=bool(dom.isActive()), **extra)

    def change(self, conn, id_, olds, news):
        before = lookup(conn.lookupByUUIDString, id_)  # gone out of band: defined anew under its UUID
        pending = explain(self.live_delta(before, news), self.note) if before is not None else []
        dom = conn.defineXML(xml_edit.with_uuid(news["xml"], id_))
        dom.setAutostart(1 if news["autostart"] else 0)
        if news["start"] and not dom.isActive():
            dom.create()
            pending = []
        return self.outputs(conn, news, dom, pending_restart=pending if dom.isActive() else [])

    def remove(self, conn, props, dom) -> None:
        if dom.isActive():
            dom.destroy()
        _undefine(dom)

    def collides(self, olds, news) -> bool:
        if olds.get("uri") != news.get("uri"):
            return False
        if olds.get("name") == news.get("name") or UNKNOWN in (olds.get("xml"), news.get("xml")):
            return True
        old, new = domain_facts(olds["xml"]), domain_facts(news["xml"])
        nics = [{k for k in facts if k.path == "devices/interface"} for facts in (old, new)]
        gpus = [set(facts[FactKey("devices/hostdev")].split()) for facts in (old, new)]
        return bool(nics[0] & nics[1] or gpus[0] & gpus[1])


# --- helpers -----------------------------------------------------------------------------------------------------


def _apply(net, command: int, section: int, element: str) -> None:
    """virNetworkUpdate on the persistent config, and the running network too when it runs."""
    libvirt = libvirt_module()
    flags = libvirt.VIR_NETWORK_UPDATE_AFFECT_CONFIG
    if net.isActive():
        flags |= libvirt.VIR_NETWORK_UPDATE_AFFECT_LIVE
    net.update(command, section, -1, element, flags)


def _replace_dns_host(net, old_present: bool, old_ip: str | None, new_record: str | None, new_ip: str | None,
                      flags: int) -> None:
    """Move or rewrite one DNS record: at a new address the new record is added before the old one goes; at the
    same address the old one must go first (libvirt holds one record per address and cannot modify one)."""
    libvirt = libvirt_module()
    section = libvirt.VIR_NETWORK_SECTION_DNS_HOST

    def delete_old() -> None:
        if old_present and old_ip:
            net.update(libvirt.VIR_NETWORK_UPDATE_COMMAND_DELETE, section, -1, render.dns_host_selector_xml(old_ip),
                       flags)

    if old_ip == new_ip:
        delete_old()
    if new_record:
        net.update(libvirt.VIR_NETWORK_UPDATE_COMMAND_ADD_LAST, section, -1, new_record, flags)
    if old_ip != new_ip:
        delete_old()


def _network_xml(net) -> str:
    """The persistent definition (what a restart brings back); libvirt's test driver knows only the live one."""
    libvirt = libvirt_module()
    try:
        return net.XMLDesc(libvirt.VIR_NETWORK_XML_INACTIVE)
    except libvirt.libvirtError as error:
        if error.get_error_code() != libvirt.VIR_ERR_INVALID_ARG:
            raise
        return net.XMLDesc(0)


def _active_pool(conn, props: dict[str, Any]):
    """The volume's pool, started if it is not. No refresh: libvirt refuses to refresh a pool while any volume
    in it is being created or uploaded, and Pulumi creates a host's volumes in parallel. A file put there out
    of band still cannot be overwritten: libvirt creates volume files exclusively and fails on a clash."""
    pool = conn.storagePoolLookupByName(props["pool"])
    if not pool.isActive():
        pool.create(0)
    return pool


def _grow(conn, vol, capacity: int) -> None:
    """Grow a volume in place. A running VM holds its disk image open (and locked): QEMU grows it then, and the
    guest sees the new size at once (virDomainBlockResize); otherwise libvirt grows the file
    (virStorageVolResize)."""
    libvirt = libvirt_module()
    path = vol.path()
    for dom in conn.listAllDomains(libvirt.VIR_CONNECT_LIST_DOMAINS_ACTIVE):
        for disk in xml_edit.parse(dom.XMLDesc(0)).findall("devices/disk"):
            if disk_source(disk) == path:
                dom.blockResize(disk.find("target").get("dev"), capacity, libvirt.VIR_DOMAIN_BLOCK_RESIZE_BYTES)
                return
    vol.resize(capacity, 0)


def _size(capacity: int) -> str:
    return f"{capacity / GIB:g} GiB" if capacity % (GIB // 4) == 0 else f"{capacity} bytes"


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


def _image_def(props: dict[str, Any]) -> BaseImageDef:
    return BaseImageDef(props["host"], props["pool"], props["name"], props["source"], props.get("sha256"),
                        props["format"], props.get("checksum_file"), props.get("uncompressed_sha256"))


def _flat_volume_facts(vol) -> dict[str, str]:
    return {str(k): v for k, v in volume_facts(vol.XMLDesc(0)).items()}


def _ignition_bytes(props: dict[str, Any]) -> bytes:
    data = props["content"].encode()
    if not data:
        raise LibvirtObjectError(props["host"], props["uri"], "Ignition volume", props["name"], "create",
                                 "the Ignition config is empty")
    return data


def _upload_ignition(conn, props: dict[str, Any], name: str, made: Undo):
    data = _ignition_bytes(props)
    vol = _active_pool(conn, props).createXML(render.ignition_xml(name, len(data)), 0)
    made.append(lambda: vol.delete(0))
    transfer.upload_bytes(conn, vol, data)
    return vol


__all__ = ["BaseImageProvider", "DomainProvider", "IgnitionProvider", "NetworkProvider", "PoolProvider",
           "ReservationProvider", "VolumeProvider", "domain_facts"]
