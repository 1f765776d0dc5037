"""The native libvirt backend: libvirt objects as Pulumi dynamic resources on libvirt-python, XML from templates."""
