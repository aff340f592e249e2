#!/usr/bin/env bash
# Deploy @@name@@ to one environment with Helm (what CI's deploy step does).
#
#   scripts/deploy.sh <dev|staging|prod> [image-tag]
#
# The image tag is passed with --set-string so an all-digit git SHA stays a
# string; without it the tag from helm/values-<env>.yaml is used.
# IMAGE_REPOSITORY (e.g. <ecr-url>/@@name@@) overrides image.repository.
set -euo pipefail

ENVIRONMENT="${1:?usage: scripts/deploy.sh <environment> [image-tag]}"
TAG="${2:-}"
RELEASE="${RELEASE:-@@name@@}"
NAMESPACE="${NAMESPACE:-$ENVIRONMENT}"
CHART_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")/../helm" && pwd)"
VALUES_FILE="$CHART_DIR/values-$ENVIRONMENT.yaml"

if [[ ! -f "$VALUES_FILE" ]]; then
  echo "error: no values file for environment '$ENVIRONMENT' ($VALUES_FILE)" >&2
  exit 2
fi

args=(upgrade --install "$RELEASE" "$CHART_DIR"
      --namespace "$NAMESPACE" --create-namespace
      -f "$VALUES_FILE"
      --wait --timeout 5m0s)
if [[ -n "${IMAGE_REPOSITORY:-}" ]]; then
  args+=(--set-string "image.repository=$IMAGE_REPOSITORY")
fi
if [[ -n "$TAG" ]]; then
  args+=(--set-string "image.tag=$TAG")
fi

echo "+ helm ${args[*]}"
exec helm "${args[@]}"
