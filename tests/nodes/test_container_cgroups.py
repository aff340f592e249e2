"""The cgroup adapter's parts that need no real cgroup: stale-folder sweeping and the join
command (a real hierarchy is exercised in test_process_cgroups.py)."""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

from shiplane.cluster.nodes.container_cgroups import (
    ContainerCgroup,
    ContainerCgroups,
    _pid_namespace,
    _sweep_stale,
)


def _dead_pid() -> int:
    process = subprocess.Popen(["true"])
    process.wait()
    return process.pid


def test_sweep_removes_kubepods_of_gone_processes_and_old_flat_leftovers(tmp_path: Path) -> None:
    ns, dead = _pid_namespace(), _dead_pid()
    gone = tmp_path / f"shiplane-kubepods-{ns}-{dead}-0badc0de"
    (gone / "shiplane-uid-app-0").mkdir(parents=True)
    alive = tmp_path / f"shiplane-kubepods-{ns}-{os.getppid()}-00c0ffee"
    (alive / "shiplane-uid-app-0").mkdir(parents=True)
    elsewhere = tmp_path / f"shiplane-kubepods-{ns + 1}-{dead}-0ddba11"  # other pid namespace
    elsewhere.mkdir()
    old, young = tmp_path / "shiplane-old-app-0", tmp_path / "shiplane-young-app-0"
    old.mkdir(), young.mkdir()
    an_hour_ago = time.time() - 3600
    os.utime(old, (an_hour_ago, an_hour_ago))
    others = tmp_path / "someone-else"
    others.mkdir()

    _sweep_stale(tmp_path)

    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        [alive.name, elsewhere.name, young.name, "someone-else"])
    assert (alive / "shiplane-uid-app-0").is_dir()


def test_join_command_enters_every_hierarchy_then_execs(tmp_path: Path) -> None:
    folders = (tmp_path / "cpu", tmp_path / "memory")
    for folder in folders:
        folder.mkdir()
    cgroup = ContainerCgroup(folders, folders[0], folders[1], 1)
    prefix = ContainerCgroups.join_command("sh", cgroup)
    out = subprocess.run([*prefix, "sh", "-c", 'echo "$PPID $$ $1"', "x", "arg"],
                         capture_output=True, text=True, check=True).stdout.split()
    # the prefix's shell wrote its pid into both, then became the command (same pid)
    assert (folders[0] / "cgroup.procs").read_text().strip() == out[1]
    assert (folders[1] / "cgroup.procs").read_text().strip() == out[1]
    assert out[2] == "arg"
    assert ContainerCgroups.join_command("sh", None) == []


def test_join_command_fails_when_a_cgroup_cannot_be_joined(tmp_path: Path) -> None:
    cgroup = ContainerCgroup((tmp_path / "missing",), tmp_path / "missing", None, 1)
    done = subprocess.run([*ContainerCgroups.join_command("sh", cgroup), "echo", "ran"],
                          capture_output=True, text=True)
    assert done.returncode == 125 and "ran" not in done.stdout
