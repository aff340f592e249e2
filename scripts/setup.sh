#!/usr/bin/env bash
# Set up shiplane on a fresh Debian machine (as root) or a developer's machine:
# system packages, a virtualenv in .venv, shiplane and its test tools.
# Idempotent and quick when nothing changed.
set -euo pipefail
cd "$(dirname "$0")/.."

# System packages: bubblewrap (RUN sandbox, process runtime), skopeo (registry
# conformance), docker-registry (the CNCF distribution peer), busybox-static
# (offline base image), git; docker.io because `shiplane build --builder docker`
# delegates to a Docker engine and its tests start a real private dockerd; chromium
# because the dashboard's end-to-end tests drive it headless through Playwright
# (executable_path=/usr/bin/chromium: Playwright never downloads a browser).
SYSTEM_PACKAGES=(bubblewrap skopeo docker-registry busybox-static buildah docker.io git ca-certificates chromium)
if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
  missing=()
  for pkg in "${SYSTEM_PACKAGES[@]}"; do
    dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
  done
  if [ "${#missing[@]}" -gt 0 ]; then
    echo "setup: installing system packages: ${missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  fi
else
  echo "setup: not root with apt-get; make sure these are installed: ${SYSTEM_PACKAGES[*]}" >&2
fi

PYTHON=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
stamp=.venv/.shiplane-installed
want=$(cat pyproject.toml | sha256sum | cut -c1-16)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  .venv/bin/python -m pip install -q --upgrade pip setuptools wheel
  .venv/bin/python -m pip install -q --no-build-isolation -e '.[test]'
  echo "$want" > "$stamp"
fi
# The AWS CLI is what EKS kubeconfigs run (`aws eks get-token`); the tests use it for real.
if ! command -v aws >/dev/null 2>&1 && [ ! -x .venv/bin/aws ]; then
  .venv/bin/python -m pip install -q awscli
fi
