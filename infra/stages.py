"""Each stage's input, cut from the validated stack: the only place that knows the whole LoadedStack's shape."""

from __future__ import annotations

from infra.catalog import versions
from infra.contracts import AppsInput, IgnitionInput, ImagePull, InstallInput, MachinesInput
from infra.paths import PROJECT_DIR
from infra.spec.load import LoadedStack


def install_input(loaded: LoadedStack) -> InstallInput:
    spec = loaded.spec
    return InstallInput(stack=loaded.stack, cluster=spec.cluster, network=spec.network, okd=spec.okd,
                        plan=loaded.plan, release_name=loaded.okd_release, release=loaded.release)


def image_pull(loaded: LoadedStack) -> ImagePull:
    okd = loaded.spec.okd
    proxy = okd.proxy
    return ImagePull(mirrors=tuple((m.source, tuple(m.mirrors)) for m in okd.image_mirrors),
                     http_proxy=proxy.http_proxy if proxy else None, https_proxy=proxy.https_proxy if proxy else None,
                     no_proxy=proxy.no_proxy if proxy else None, trust_bundle=okd.additional_trust_bundle)


def ignition_input(loaded: LoadedStack) -> IgnitionInput:
    pins = versions()
    return IgnitionInput(stack=loaded.stack, plan=loaded.plan, spec_version=pins.tools["ignition-spec"],
                         haproxy_image=pins.images["haproxy"], keepalived_image=pins.images["keepalived"],
                         lb_runtime_api=loaded.spec.okd.install.lb_runtime_api, image_pull=image_pull(loaded))


def machines_input(loaded: LoadedStack) -> MachinesInput:
    return MachinesInput(plan=loaded.plan, os_image=loaded.os_image, libvirt=loaded.spec.libvirt,
                         project_dir=PROJECT_DIR)


def apps_input(loaded: LoadedStack) -> AppsInput:
    return AppsInput(stack=loaded.stack, apps=loaded.spec.apps, plan=loaded.plan)
