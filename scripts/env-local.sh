# Source after scripts/env.sh to work on the `local` stack with the plain CLI:
#     source scripts/env.sh; source scripts/env-local.sh; pulumi up -s local
# The local stack's secrets are sandbox values (OKD's public fake pull secret, a sandbox-only SSH key), encrypted in
# Pulumi.local.yaml with a public passphrase (infra/data/state.yaml: sandboxPassphrase). It must never protect
# another stack, so nothing is exported: this defines a `pulumi` shell function that hands the passphrase to the
# one command that names the local stack explicitly (-s local, --stack local, --stack=local); every other command,
# `pulumi up -s prod-b` or a `pulumi stack init` without --stack local, runs with the caller's environment as it is.
# Real stacks get their passphrase from their own variable (EAF_PASSPHRASE_<STACK>, `python -m infra up`).

if [ -z "${BASH_VERSION:-}" ]; then
    echo "scripts/env-local.sh: source it from bash" >&2
    return 1 2>/dev/null || exit 1
fi

EAF_LOCAL_SANDBOX_PASSPHRASE="eaf-local-sandbox"
# An older env-local.sh exported it for every stack: take it back.
if [ "${PULUMI_CONFIG_PASSPHRASE:-}" = "$EAF_LOCAL_SANDBOX_PASSPHRASE" ]; then
    unset PULUMI_CONFIG_PASSPHRASE
fi

# True when the arguments name the local stack with -s/--stack (the last one wins, as in the CLI).
_eaf_names_local_stack() {
    local stack="" arg next=0
    for arg in "$@"; do
        if [ "$next" = 1 ]; then stack="$arg"; next=0; continue; fi
        case "$arg" in
            -s|--stack) next=1 ;;
            --stack=*) stack="${arg#--stack=}" ;;
            -s*) stack="${arg#-s}" ;;
        esac
    done
    [ "$stack" = "local" ] || [ "$stack" = "organization/eaf/local" ]
}

pulumi() {
    if _eaf_names_local_stack "$@"; then
        PULUMI_CONFIG_PASSPHRASE="$EAF_LOCAL_SANDBOX_PASSPHRASE" command pulumi "$@"
    else
        command pulumi "$@"
    fi
}
