"""The typed cluster spec: one validated model of a cluster, read from stack config (infra.spec.load)."""
