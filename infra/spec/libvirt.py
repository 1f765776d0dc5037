"""Which libvirt backend creates the machines, and machine-layer switches."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from infra.spec.base import Strict


class Libvirt(Strict):
    backend: Literal["native", "provider"] = Field(
        "native", description="native: libvirt-python dynamic providers; provider: pulumi-libvirt 0.5.4"
    )
    domain_type: Literal["kvm", "qemu"] = Field("kvm", description="qemu = TCG, for hosts without usable KVM")
    autostart: bool | None = Field(None, description="default: on for prod roles (active/spare), off otherwise")
