"""eaf-infra: the library behind the Pulumi program.

Import nothing heavy here: `python -m infra render` and the unit tests import submodules directly, and a full prod
stack must evaluate in seconds.
"""
