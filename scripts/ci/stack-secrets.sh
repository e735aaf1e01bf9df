#!/usr/bin/env bash
# Hands a stack the secret config values CI holds as GitHub secrets, encrypted by the stack's
# secrets provider on the runner (never committed, never on a command line): each
# AUDITFLOW_SECRET_<KEY> that is set becomes `pulumi config set --secret <key>` through stdin.
# Usage: stack-secrets.sh <stack>
set -euo pipefail
stack="${1:?usage: stack-secrets.sh <stack>}"
declare -A keys=(
  [sshPrivateKey]=AUDITFLOW_SECRET_SSH_PRIVATE_KEY
  [backupVerifyIdentity]=AUDITFLOW_SECRET_BACKUP_VERIFY_IDENTITY
  [backupOffsiteSecretKey]=AUDITFLOW_SECRET_BACKUP_OFFSITE_SECRET_KEY
  [registryPassword]=AUDITFLOW_SECRET_REGISTRY_PASSWORD
)
for key in "${!keys[@]}"; do
  var="${keys[$key]}"
  if [ -n "${!var:-}" ]; then
    printf '%s' "${!var}" | pulumi config set --secret --stack "$stack" "$key"
    echo "stack-secrets: $key set for stack $stack from $var"
  fi
done
