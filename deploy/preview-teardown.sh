#!/usr/bin/env bash
# Tear down one preview stack: drop its database and login role (the creating task, `app preview-db drop`),
# `pulumi destroy`, then `pulumi stack rm`. Used by .github/workflows/preview-env.yml (PR closed, and the janitor).
# Usage: deploy/preview-teardown.sh pr-<n>   (AWS credentials and a logged-in pulumi CLI in the environment)
set -euo pipefail
stack="${1:?usage: preview-teardown.sh pr-<n>}"
[[ "$stack" =~ ^pr-[1-9][0-9]*$ ]] || { echo "refusing: $stack is not a preview stack (pr-<n>)" >&2; exit 2; }
db="pr_${stack#pr-}"
if task="$(pulumi stack output admin_task --json --stack "$stack" 2>/dev/null)" && [ -n "$task" ]; then
  cluster="$(jq -r .cluster <<<"$task")"
  network="$(jq -c '{awsvpcConfiguration: {subnets: .subnets, securityGroups: .security_groups, assignPublicIp: .assign_public_ip}}' <<<"$task")"
  overrides="$(jq -cn --arg db "$db" '{containerOverrides: [{name: "migrate", command: ["app", "preview-db", "drop", $db]}]}')"
  arn="$(aws ecs run-task --cluster "$cluster" --launch-type FARGATE --task-definition "$(jq -r .task_definition <<<"$task")" \
    --network-configuration "$network" --overrides "$overrides" --query 'tasks[0].taskArn' --output text)"
  aws ecs wait tasks-stopped --cluster "$cluster" --tasks "$arn"
  code="$(aws ecs describe-tasks --cluster "$cluster" --tasks "$arn" --query 'tasks[0].containers[0].exitCode' --output text)"
  [ "$code" = "0" ] || { echo "dropping database $db failed (exit $code); the stack is kept" >&2; exit 1; }
fi
pulumi destroy --yes --stack "$stack" --non-interactive
pulumi stack rm --yes --stack "$stack" --non-interactive
echo "preview $stack removed (database $db dropped)"
