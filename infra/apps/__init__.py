"""Apps on the cluster, one module each (infra/apps/registry.py lists them), switched on/off per stack."""
