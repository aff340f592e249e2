"""`shiplane chart lint|render` over a generated chart."""

from __future__ import annotations

import yaml

from shiplane.scaffold import init_service
from shiplane.testing import run_cli


def test_lint_and_render_commands(tmp_path):
    chart = init_service("svc", directory=tmp_path).path / "helm"
    lint = run_cli(["chart", "lint", str(chart), "--env", "prod", "--strict"])
    assert lint.exit_code == 0, lint.output
    assert "0 error(s), 0 warning(s)" in lint.stdout
    rendered = run_cli(["chart", "render", str(chart), "--env", "prod",
                        "--set", "image.tag=1234567", "--set-string", "image.tag=0123456"])
    assert rendered.exit_code == 0, rendered.output
    docs = list(yaml.safe_load_all(rendered.stdout))
    deployment = next(d for d in docs if d["kind"] == "Deployment")
    assert deployment["metadata"]["name"] == "svc"
    assert deployment["spec"]["template"]["spec"]["containers"][0]["image"].endswith(":0123456")
    bad = run_cli(["chart", "render", str(chart), "--set", "image.tag"])
    assert bad.exit_code == 1 and "--set 'image.tag'" in bad.stderr
    broken = run_cli(["chart", "lint", str(tmp_path / "missing")])
    assert broken.exit_code == 1 and "missing" in broken.stderr
