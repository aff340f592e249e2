"""The build plan is a pure function: stages, configs, COPY resolution and cache keys."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from shiplane.build.config import BaseImage
from shiplane.build.context import scan_context
from shiplane.build.dockerfile import parse_dockerfile
from shiplane.build.errors import BuildError, ContextError, DockerfileError, UnsupportedInstruction
from shiplane.build.plan import plan_build, required_images

BASE = BaseImage("reg/python:3.11", "sha256:" + "a" * 64, {
    "config": {"Env": ["PATH=/usr/local/bin:/bin", "LANG=C.UTF-8"], "Cmd": ["python3"],
               "WorkingDir": "/", "Labels": {"base": "yes"}},
    "rootfs": {"type": "layers", "diff_ids": []}}, ())


def plan(text: str, ctx: Path, args: dict[str, str] | None = None, target: str | None = None):
    df = parse_dockerfile(text)
    bases = {ref: BASE for ref in required_images(df, args or {})}
    return plan_build(df, scan_context(ctx), args or {}, bases, target)


@pytest.fixture
def ctx(tmp_path: Path) -> Path:
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "main.py").write_text("print('hi')\n")
    (tmp_path / "src" / "util.py").write_text("x = 1\n")
    (tmp_path / "requirements.txt").write_text("")
    return tmp_path


def test_global_args_feed_from_and_stage_args_inherit(ctx: Path) -> None:
    text = ("ARG REG=reg\nARG TAG=3.11\nFROM ${REG}/python:${TAG} AS app\n"
            "ARG TAG\nARG OTHER=dflt\nENV V=$TAG O=${OTHER} U=${UNDECLARED:-none}\n")
    p = plan(text, ctx)
    env = dict(p.stages[0].config.env)
    assert env["V"] == "3.11" and env["O"] == "dflt" and env["U"] == "none"
    assert required_images(parse_dockerfile(text), {"TAG": "3.12"}) == ["reg/python:3.12"]
    overridden = plan(text, ctx, {"OTHER": "given"})
    assert dict(overridden.stages[0].config.env)["O"] == "given"


def test_env_wins_over_arg_and_env_pairs_see_previous_values(ctx: Path) -> None:
    p = plan("FROM scratch\nARG X=arg\nENV X=env\nENV A=1\nENV A=2 B=$A\nLABEL l=$X\n", ctx)
    config = p.stages[0].config
    assert dict(config.env)["B"] == "1"  # Docker: same-instruction pairs see the old value
    assert dict(config.labels)["l"] == "env"


def test_config_instructions(ctx: Path) -> None:
    p = plan(
        "FROM reg/python:3.11\nWORKDIR /app\nWORKDIR sub\nUSER 10001:10001\n"
        "EXPOSE 8080 53/udp 9000-9001\nVOLUME [\"/data\"]\nSTOPSIGNAL SIGTERM\n"
        "HEALTHCHECK --interval=30s --timeout=1m30s --retries=3 CMD [\"curl\", \"-f\", \"x\"]\n"
        "ENTRYPOINT [\"python\"]\nLABEL a=b\n", ctx)
    oci = p.stages[0].config.to_oci()
    assert oci["WorkingDir"] == "/app/sub"
    assert oci["User"] == "10001:10001"
    assert set(oci["ExposedPorts"]) == {"8080/tcp", "53/udp", "9000/tcp", "9001/tcp"}
    assert oci["Volumes"] == {"/data": {}}
    assert oci["StopSignal"] == "SIGTERM"
    assert oci["Healthcheck"] == {"Test": ["CMD", "curl", "-f", "x"], "Interval": 30 * 10**9,
                                  "Timeout": 90 * 10**9, "Retries": 3}
    assert oci["Entrypoint"] == ["python"]
    assert "Cmd" not in oci  # ENTRYPOINT resets the CMD inherited from the base image
    assert oci["Labels"] == {"base": "yes", "a": "b"}
    assert "PATH=/usr/local/bin:/bin" in oci["Env"]


def test_shell_form_uses_shell_instruction(ctx: Path) -> None:
    p = plan('FROM scratch\nSHELL ["/bin/bash", "-eu", "-c"]\nRUN echo hi\nCMD run me\n', ctx)
    run = p.stages[0].steps[1].run
    assert run is not None and run.argv == ("/bin/bash", "-eu", "-c", "echo hi")
    assert p.stages[0].config.cmd == ("/bin/bash", "-eu", "-c", "run me")


def test_copy_resolution_globs_and_destinations(ctx: Path) -> None:
    p = plan("FROM scratch\nWORKDIR /app\nCOPY src/*.py lib/\nCOPY requirements.txt .\n"
             "COPY src /srv\n", ctx)
    steps = p.stages[0].steps
    assert [e.dest for e in steps[1].copy.entries] == ["app/lib/main.py", "app/lib/util.py"]
    assert [e.dest for e in steps[2].copy.entries] == ["app/requirements.txt"]
    assert [e.dest for e in steps[3].copy.entries] == ["srv", "srv/main.py", "srv/util.py"]


@pytest.mark.parametrize("source,message", [
    ("../x", "outside the build context"),
    ("/etc/passwd", "absolute path"),
    ("missing.txt", "not found in the build context"),
    ("nomatch*.txt", "no source files"),
    ("out", "outside the build context"),  # symlink to ../
    ("abs", "outside the build context"),  # symlink to /etc
    ("out/inner", "outside the build context"),  # through a symlinked directory
])
def test_copy_sources_outside_the_context_are_refused(ctx: Path, source: str, message: str) -> None:
    os.symlink("..", ctx / "out")
    os.symlink("/etc", ctx / "abs")
    with pytest.raises(ContextError) as info:
        plan(f"FROM scratch\n\nCOPY {source} /x\n", ctx)
    assert message in str(info.value)
    assert str(info.value).startswith("Dockerfile:3: COPY:")


def test_symlink_inside_context_is_followed(ctx: Path) -> None:
    os.symlink("src/main.py", ctx / "link.py")
    p = plan("FROM scratch\nCOPY link.py /app/\n", ctx)
    entry = p.stages[0].steps[0].copy.entries[0]
    assert entry.dest == "app/link.py" and entry.source.path == "src/main.py"


def test_multiple_sources_need_a_directory_destination(ctx: Path) -> None:
    with pytest.raises(DockerfileError, match="must end with /"):
        plan("FROM scratch\nCOPY requirements.txt src/main.py /app\n", ctx)


def test_add_url_is_refused_offline(ctx: Path) -> None:
    with pytest.raises(DockerfileError, match="not possible offline"):
        plan("FROM scratch\nADD https://example.com/x.tgz /x/\n", ctx)


def test_cross_platform_from_is_refused(ctx: Path) -> None:
    with pytest.raises(UnsupportedInstruction, match="cross-platform"):
        plan("FROM --platform=linux/s390x scratch\n", ctx)


def test_multi_stage_references_and_target(ctx: Path) -> None:
    text = ("FROM reg/python:3.11 AS build\nRUN make\nFROM scratch AS other\n"
            "FROM build AS final\nCOPY --from=build /out /out\nCOPY --from=reg/python:3.11 /x /x\n")
    p = plan(text, ctx)
    assert p.stages[2].base == "stage" and p.stages[2].base_stage == 0
    assert p.needed_stages() == [0, 3, 2]  # "other" is not needed; 3 = implicit image stage
    assert p.stages[3].base == "image"
    assert plan(text, ctx, target="other").needed_stages() == [1]
    with pytest.raises(BuildError, match="target stage 'nope'"):
        plan(text, ctx, target="nope")


def test_plan_is_pure_and_keys_change_only_downstream(ctx: Path) -> None:
    text = ("FROM reg/python:3.11\nCOPY requirements.txt /app/\nRUN install\n"
            "COPY src /app/src\nRUN build\n")
    keys1 = [s.key for s in plan(text, ctx).stages[0].steps]
    assert keys1 == [s.key for s in plan(text, ctx).stages[0].steps]
    (ctx / "src" / "util.py").write_text("x = 2\n")
    keys2 = [s.key for s in plan(text, ctx).stages[0].steps]
    assert keys1[:2] == keys2[:2]  # before the COPY that includes the file: unchanged
    assert keys1[2] != keys2[2] and keys1[3] != keys2[3]
    args_changed = [s.key for s in plan("ARG X=1\n" + text, ctx, {"X": "2"}).stages[0].steps]
    assert args_changed == keys2  # a global ARG not used in the stage changes nothing
