"""The typed cluster spec: one validated model of a cluster, read from stack config."""

from infra.spec.errors import ConfigError, Problem
from infra.spec.load import load_spec

__all__ = ["ConfigError", "Problem", "load_spec"]
