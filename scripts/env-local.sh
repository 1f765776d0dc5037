# Source after scripts/env.sh to work on the `local` stack with the plain CLI (`pulumi up -s local`, ...).
# The local stack's secrets are sandbox values (OKD's public fake pull secret, a sandbox-only SSH key), encrypted in
# Pulumi.local.yaml with this passphrase. Real stacks get their passphrase or secrets provider from the team's store.
export PULUMI_CONFIG_PASSPHRASE="${PULUMI_CONFIG_PASSPHRASE:-eaf-local-sandbox}"
