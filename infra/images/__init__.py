"""Notebook images of the VO flavours: their builds as data, the buildah builder, the SBOM + vulnerability scan."""
