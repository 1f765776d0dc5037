"""Ignition for every node: OKD's configs (pointer or bootstrap) plus what eaf-infra plans for each VM.

Structure is built in Python and serialised canonically (ignition.document); text files come from jinja2
templates (ignition/templates). The result per node is one Ignition JSON text, which the machine layer hands to its
VM. Everything derived from a secret (the pull secret in bootstrap.ign, the SSH keys) stays a Pulumi secret.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the render command imports ignition.render without loading Pulumi
    import pulumi

    from infra.contracts import IgnitionInput, InstallAssets


def node_configs(args: IgnitionInput, ssh_public_keys: pulumi.Output[list[str]], assets: InstallAssets
                 ) -> dict[str, pulumi.Input[str]]:
    """{node name: Ignition JSON text}. Each text is a secret Output: it carries the SSH keys, and for the bootstrap
    node OKD's bootstrap.ign with the pull secret."""
    import pulumi

    from ignition.render import OkdConfigs, render_node

    def config_of(node):
        def render(values: list) -> str:
            master, worker, bootstrap, keys = values
            return render_node(args, node, OkdConfigs(master, worker, bootstrap), keys)

        rendered = pulumi.Output.all(assets.master_pointer, assets.worker_pointer, assets.bootstrap,
                                     ssh_public_keys).apply(render)
        return pulumi.Output.secret(rendered)

    return {node.name: config_of(node) for node in args.plan.nodes}
