"""The pulumi-libvirt backend (pulumi_libvirt 0.5.4, bridging terraform-provider-libvirt 0.8.1).

Deprecated upstream since February 2025, and its provider plugin cannot be installed on the build machines, so this
backend is exercised under Pulumi mocks only. Everything pulumi-libvirt specific lives in this package: switching
provider touches nothing else.
"""
