"""The shared state backend tier needs libvirtd (started by the shared fixture)."""

from tests.support.libvirtd import libvirt_system  # noqa: F401
