#!/usr/bin/env bash
# Set up everything (see setup.sh) and run shiplane's main job: `shiplane quickstart`.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec .venv/bin/shiplane quickstart "$@"
