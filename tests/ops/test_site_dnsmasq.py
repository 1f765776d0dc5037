"""siteNetworkRecords -> dnsmasq (infra/ops/site_dnsmasq.py): what the site's DHCP/DNS serves, made from the export
alone. Checked against the repo's own bridge-mode stacks, by Debian's dnsmasq (`--test`), and, in the real tier,
by asking a running dnsmasq (busybox nslookup)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from functools import cache
from ipaddress import IPv4Address, IPv4Interface
from pathlib import Path

import pytest

from infra.cli import main as cli
from infra.ops.site_dnsmasq import SiteRecordsError, Subnet, dnsmasq_config, parse_site_records
from infra.ops.traffic import ZoneFileSwitch
from infra.plan.site import site_records
from infra.spec.offline import load_offline

SITE = {"dev": Subnet(IPv4Interface("10.42.16.2/24"), IPv4Address("10.42.16.1")),
        "prod-a": Subnet(IPv4Interface("10.42.32.2/24"), IPv4Address("10.42.32.1")),
        "prod-b": Subnet(IPv4Interface("10.42.48.2/24"), IPv4Address("10.42.48.1"))}
SERVICES = {"jupyter.eaf.fnal.gov": "jupyter.apps.eaf-prod-b.fnal.gov"}


@cache
def _exported(stack: str) -> str:
    return json.dumps(site_records(load_offline(stack).plan))


def _export(stack: str) -> dict:
    """What `pulumi stack output siteNetworkRecords --json` gives (the program exports site_records(plan))."""
    return json.loads(_exported(stack))


def _records(stack: str):
    return parse_site_records(_export(stack), stack)


def _lines(text: str, key: str) -> list[str]:
    return [line.split("=", 1)[1] for line in text.splitlines() if line.startswith(key + "=")]


def _dnsmasq() -> str:
    path = shutil.which("dnsmasq") or shutil.which("dnsmasq", path="/usr/sbin:/sbin")
    if path is None:
        pytest.fail("dnsmasq is missing: apt-get install dnsmasq-base (scripts/install-system-packages.sh)")
    return path


def test_every_reservation_of_the_export_becomes_a_dhcp_host() -> None:
    export = _export("dev")
    text = dnsmasq_config([_records("dev")], [SITE["dev"]])
    assert sorted(_lines(text, "dhcp-host")) == sorted(
        f"{r['mac']},set:cluster0,{r['ip']},{r['hostname'].split('.')[0]}" for r in export["dhcp"])
    assert "dhcp-option=tag:cluster0,option:domain-name,eaf-dev.fnal.gov" in text.splitlines()
    assert "dhcp-range=set:subnet0,10.42.16.0,static,255.255.255.0,1h" in text.splitlines()
    assert "dhcp-option=tag:subnet0,option:router,10.42.16.1" in text.splitlines()


def test_every_a_record_is_served_and_the_apps_wildcard_covers_the_subdomain() -> None:
    export = _export("dev")
    text = dnsmasq_config([_records("dev")], [SITE["dev"]])
    served = {tuple(line.split(",")) for line in _lines(text, "host-record")}
    served |= {("*." + suffix, ip) for _, suffix, ip in (line.split("/") for line in _lines(text, "address"))}
    assert served == {(r["name"], r["value"]) for r in export["dns"]}
    (ingress,) = [r["value"] for r in export["dns"] if r["name"] == "*.apps.eaf-dev.fnal.gov"]
    assert _lines(text, "address") == [f"/apps.eaf-dev.fnal.gov/{ingress}"]


def test_without_dhcp_only_dns_is_served() -> None:
    text = dnsmasq_config([_records("dev")], [SITE["dev"]], dhcp=False)
    assert not [line for line in text.splitlines() if line.startswith(("dhcp-", "domain="))]
    assert _lines(text, "host-record") and _lines(text, "address")


def test_the_output_does_not_depend_on_the_order_of_the_records() -> None:
    export = _export("prod-b")
    shuffled = {"dhcp": export["dhcp"][::-1], "dns": export["dns"][::-1]}
    assert dnsmasq_config([parse_site_records(shuffled, "prod-b")], [SITE["prod-b"]]) == dnsmasq_config(
        [_records("prod-b")], [SITE["prod-b"]])


def test_a_service_cname_under_a_clusters_wildcard_names_its_target_for_dnsmasq() -> None:
    text = dnsmasq_config([_records("prod-a"), _records("prod-b")], [SITE["prod-a"], SITE["prod-b"]],
                          cnames=SERVICES)
    assert _lines(text, "cname") == ["jupyter.eaf.fnal.gov,jupyter.apps.eaf-prod-b.fnal.gov"]
    ingress = next(r["value"] for r in _export("prod-b")["dns"] if r["name"].startswith("*.apps."))
    assert f"jupyter.apps.eaf-prod-b.fnal.gov,{ingress}" in _lines(text, "host-record")


def test_a_cname_to_a_name_no_records_answer_is_refused() -> None:
    with pytest.raises(SiteRecordsError, match="jupyter.apps.eaf-prod-b.fnal.gov") as error:
        dnsmasq_config([_records("prod-a")], [SITE["prod-a"]], cnames=SERVICES)
    assert "give the records of the cluster the name points at" in str(error.value)


def test_a_node_outside_every_served_subnet_is_refused() -> None:
    with pytest.raises(SiteRecordsError, match=r"in no subnet this server has an address in") as error:
        dnsmasq_config([_records("dev")], [SITE["prod-a"]])
    assert "add --subnet" in str(error.value)


def test_two_clusters_with_the_same_mac_are_refused() -> None:
    export = _export("prod-a")
    clash = {"dhcp": [{**export["dhcp"][0], "ip": "10.42.48.200", "hostname": "x.eaf-prod-b.fnal.gov"}], "dns": []}
    with pytest.raises(SiteRecordsError, match="already reserved for prod-a: lb"):
        dnsmasq_config([_records("prod-a"), parse_site_records(clash, "other")], [SITE["prod-a"], SITE["prod-b"]])


@pytest.mark.parametrize(("field", "value", "why"), [
    ("mac", "52:54:00:zz:00:01", "not a MAC address"),
    ("ip", "10.42.16.300", "not an IPv4 address"),
    ("hostname", "ctrl 0.eaf-dev.fnal.gov", "not a DNS name"),
])
def test_a_bad_value_is_named_with_its_place(field: str, value: str, why: str) -> None:
    export = _export("dev")
    export["dhcp"][2][field] = value
    with pytest.raises(SiteRecordsError) as error:
        parse_site_records(export, "dev.json")
    assert error.value.where == f"dev.json: dhcp[2].{field}" and why in error.value.why


@pytest.mark.parametrize("stack", ["dev", "prod-a", "prod-b"])
def test_dnsmasq_accepts_the_configuration(stack: str, tmp_path: Path) -> None:
    config = tmp_path / "site.conf"
    config.write_text(dnsmasq_config([_records(stack)], [SITE[stack]]), encoding="utf-8")
    done = subprocess.run([_dnsmasq(), "--test", f"--conf-file={config}"], capture_output=True, text=True,
                          timeout=30)
    assert done.returncode == 0 and "syntax check OK" in done.stderr, done.stderr


def test_the_command_reads_the_stacks_whole_outputs_and_writes_the_file(tmp_path: Path, capsys) -> None:
    outputs = tmp_path / "prod-b-outputs.json"
    outputs.write_text(json.dumps({"apiUrl": "https://x", "siteNetworkRecords": _export("prod-b")}))
    zone = tmp_path / "services.zone"
    ZoneFileSwitch(zone).point(SERVICES)
    target = tmp_path / "site.conf"
    assert cli(["site-dnsmasq", str(outputs), "--subnet", "10.42.48.2/24,router=10.42.48.1",
                "--cname-zone", str(zone), "--out", str(target)]) == 0
    assert target.read_text() == dnsmasq_config([parse_site_records(_export("prod-b"), str(outputs))],
                                                [SITE["prod-b"]], cnames=SERVICES)


def test_the_command_says_what_is_wrong_and_exits_2(tmp_path: Path, capsys) -> None:
    outputs = tmp_path / "local-outputs.json"
    outputs.write_text(json.dumps({"apiUrl": "https://x", "pins": {}}))
    assert cli(["site-dnsmasq", str(outputs), "--subnet", "10.42.48.2/24"]) == 2
    assert "only bridge-mode stacks export them" in capsys.readouterr().err


# ---- a running dnsmasq answers -----------------------------------------------------------------------------------

def _nslookup(name: str, server: str) -> tuple[list[str], str]:
    done = subprocess.run(["busybox", "nslookup", "-type=a", name, server], capture_output=True, text=True,
                          timeout=20)
    answers, named = [], False
    for line in done.stdout.splitlines():
        named = named or line.startswith("Name:")
        if named and line.startswith("Address:"):
            answers.append(line.split()[1])
    return sorted(answers), done.stdout


@pytest.mark.real
def test_a_running_dnsmasq_answers_what_the_records_say(tmp_path: Path) -> None:
    """DNS only (no DHCP: no broadcast socket), on a loopback address of its own, port 53 (this tier runs as root)."""
    listen = f"127.86.{os.getpid() % 250}.{1 + os.getpid() // 250 % 250}"
    config = tmp_path / "site.conf"
    config.write_text(dnsmasq_config([_records("prod-a"), _records("prod-b")],
                                     [Subnet(IPv4Interface(f"{listen}/32"))], dhcp=False, cnames=SERVICES))
    server = subprocess.Popen([_dnsmasq(), "--keep-in-foreground", f"--conf-file={config}",
                               f"--pid-file={tmp_path / 'pid'}"], stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 10
        while not (tmp_path / "pid").exists() and server.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert server.poll() is None, server.stderr.read() if server.stderr else ""
        export = _export("prod-b")
        ingress = next(r["value"] for r in export["dns"] if r["name"].startswith("*.apps."))
        api = next(r["value"] for r in export["dns"] if r["name"].startswith("api."))
        routers = sorted(r["value"] for r in export["dns"] if r["name"].startswith("ingress."))
        expected = {"api.eaf-prod-b.fnal.gov": [api], "api-int.eaf-prod-b.fnal.gov": [api],
                    "anything.apps.eaf-prod-b.fnal.gov": [ingress], "ingress.eaf-prod-b.fnal.gov": routers,
                    "jupyter.eaf.fnal.gov": [ingress], "nothing.eaf-prod-b.fnal.gov": []}
        for name, addresses in expected.items():
            answers, raw = _nslookup(name, listen)
            assert answers == addresses, (name, raw)
    finally:
        server.terminate()
        server.wait(timeout=10)
