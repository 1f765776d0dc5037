"""The first-boot tier needs the machine's libvirtd (started by the shared fixture)."""

from tests.support.libvirtd import libvirt_system  # noqa: F401
