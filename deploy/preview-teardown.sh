#!/usr/bin/env bash
# Tear down one preview stack: drop its database and login role (an execution of dev's preview-db state machine,
# input {"action": "drop", "pr": <n>}: `app preview-db drop pr_<n>` with dev's image), `pulumi destroy`, then
# `pulumi stack rm`. A failed drop stops here and keeps the stack. Used by .github/workflows/preview-env.yml (PR
# closed, and the janitor).
# Usage: deploy/preview-teardown.sh pr-<n>   (AWS credentials and a logged-in pulumi CLI in the environment)
set -euo pipefail
stack="${1:?usage: preview-teardown.sh pr-<n>}"
[[ "$stack" =~ ^pr-[1-9][0-9]*$ ]] || { echo "refusing: $stack is not a preview stack (pr-<n>)" >&2; exit 2; }
pr="${stack#pr-}"
db="pr_${pr}"
# The machine is the stack's `database_admin` output; a PR refused before its first `pulumi up` (plan gate, cap) has
# no stack, but preview-env.yml may have started its database beside the install: then the machine comes from
# SLIPWAY_PREVIEW_DB_STATE_MACHINE_ARN and only the (idempotent) drop runs.
exists=0
machine=""
if outputs="$(pulumi stack output --json --stack "$stack" 2>/dev/null)"; then
  exists=1
  machine="$(jq -r '.database_admin // empty' <<<"$outputs")"
fi
machine="${machine:-${SLIPWAY_PREVIEW_DB_STATE_MACHINE_ARN:-}}"
if [ -n "$machine" ]; then
  execution="$(aws stepfunctions start-execution --state-machine-arn "$machine" --name "drop-$stack-$(date +%s)" \
    --input "$(jq -cn --argjson pr "$pr" '{action: "drop", pr: $pr}')" --query executionArn --output text)"
  # no CLI waiter for executions: poll DescribeExecution until it leaves RUNNING (at most 15 minutes)
  status=RUNNING
  for _ in $(seq 180); do
    status="$(aws stepfunctions describe-execution --execution-arn "$execution" --query status --output text)"
    [ "$status" = RUNNING ] || break
    sleep 5
  done
  if [ "$status" != SUCCEEDED ]; then
    aws stepfunctions describe-execution --execution-arn "$execution" --query '{error: error, cause: cause}' >&2 || true
    echo "dropping database $db failed ($status, execution $execution); the stack is kept" >&2
    exit 1
  fi
fi
if [ "$exists" = 0 ]; then
  echo "no stack $stack: database $db dropped${machine:+ (if it existed)}, nothing else to remove"
  exit 0
fi
pulumi destroy --yes --stack "$stack" --non-interactive
pulumi stack rm --yes --stack "$stack" --non-interactive
echo "preview $stack removed (database $db dropped)"
