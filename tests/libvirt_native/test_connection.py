"""One cached libvirt connection per hypervisor URI, and errors that say which host failed."""

from __future__ import annotations

import pytest

from infra.libvirt.native.connection import LibvirtObjectError, connection


def test_the_same_uri_shares_one_connection():
    assert connection("test:///default", "a") is connection("test:///default", "b")


def test_unreachable_hypervisor_error_names_host_and_uri():
    uri = "qemu+ssh://nobody@eaf-test-unresolvable.invalid/system?no_tty=1&no_verify=1"
    with pytest.raises(LibvirtObjectError) as error:
        connection(uri, "hv-missing")
    message = str(error.value)
    assert "host hv-missing" in message and "eaf-test-unresolvable.invalid" in message, message
