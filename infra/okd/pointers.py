"""Ignition pointer configs to the machine-config server, for stacks that do not run openshift-install."""

from __future__ import annotations

import json


def mcs_pointer(cluster_domain: str, role: str) -> str:
    """What master.ign / worker.ign say, minus the root CA an installer would add: merge the role's config from
    the machine-config server behind api-int."""
    source = f"https://api-int.{cluster_domain}:22623/config/{role}"
    return json.dumps({"ignition": {"config": {"merge": [{"source": source}]}, "version": "3.2.0"}},
                      sort_keys=True, separators=(",", ":"))
