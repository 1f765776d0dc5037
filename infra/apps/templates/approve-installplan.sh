#!/bin/bash
# Approve the one InstallPlan that installs the pinned CSV, then wait until that CSV has succeeded.
# The Subscription says installPlanApproval: Manual, so OLM never installs an upgrade the catalog offers later;
# this Job (run by the program on every change of the pin) approves only the version pinned in versions.yaml.
set -euo pipefail
echo "waiting for the InstallPlan of ${PINNED_CSV} in ${NAMESPACE}"
for attempt in $(seq 1 120); do
  plan=$(oc get installplan -n "${NAMESPACE}" \
    -o jsonpath="{range .items[?(@.spec.clusterServiceVersionNames[0]=='${PINNED_CSV}')]}{.metadata.name}{end}")
  if [ -n "${plan}" ]; then
    oc patch installplan "${plan}" -n "${NAMESPACE}" --type merge -p '{"spec":{"approved":true}}'
    oc wait csv "${PINNED_CSV}" -n "${NAMESPACE}" --for=jsonpath='{.status.phase}'=Succeeded --timeout=900s
    echo "${PINNED_CSV} installed"
    exit 0
  fi
  echo "attempt ${attempt}: no InstallPlan yet"
  sleep 10
done
echo "no InstallPlan for ${PINNED_CSV} after 20 minutes: is the catalog source reachable?" >&2
exit 1
