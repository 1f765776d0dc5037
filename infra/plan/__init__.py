"""The machine plan: every VM of a cluster with its host, address, MAC, shape and GPUs, derived from the spec."""

from infra.plan.model import ClusterPlan, GpuAssignment, PlannedNode, Role

__all__ = ["ClusterPlan", "GpuAssignment", "PlannedNode", "Role"]
