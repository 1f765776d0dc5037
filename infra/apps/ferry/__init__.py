"""FERRY (Fermilab's Frontier Experiments RegistRY) as the facility reads it: who a user is on the file systems.

Standard library only, relative imports only: the same files are what the identity sync's CronJob runs in a plain
Python image (infra/apps/identity.py ships them in a ConfigMap and runs `python -m ferry.sync`), so what the tests
check is what runs. `model` parses FERRY's JSON into typed records, `client` asks FERRY's REST API, `sync` turns the
answers into the identity map the hub reads, `spawner_hook` is what the hub's KubeSpawner does with that map.
"""
