"""``shiplane init service NAME``: the guide's Model 1 (or Model 2) service repository.

Tree (every path of the guide, plus ``tests/conftest.py`` so pytest finds ``src/``)::

    NAME/ src/{main.py,config/,modules/}  tests/{unit,integration}/  Dockerfile
          .dockerignore  helm/{Chart.yaml,values*.yaml,.helmignore,charts/,templates/}
          scripts/deploy.sh  README.md  .gitignore  .github/workflows/ci-cd.yaml

Model 1's CI deploys with ``helm upgrade --install``; Model 2's CI stops after
the push and commits the new tag to the platform repo (Argo CD deploys).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from shiplane import __version__
from shiplane.charts import ChartError, lint_chart
from shiplane.scaffold.errors import ScaffoldError
from shiplane.scaffold.names import validate_name
from shiplane.scaffold.output import WrittenRepository, write_repository
from shiplane.scaffold.template_tree import RepoFile, render_tree

__all__ = [
    "DEFAULT_AWS_REGION",
    "DEFAULT_PLATFORM_REPO",
    "DEFAULT_REGISTRY",
    "MODELS",
    "ServiceSpec",
    "init_service",
    "service_files",
]

# The guide's example registry (ECR, ap-south-1) with a 12-digit account id.
DEFAULT_AWS_REGION = "ap-south-1"
DEFAULT_REGISTRY = f"123456789012.dkr.ecr.{DEFAULT_AWS_REGION}.amazonaws.com"
DEFAULT_PLATFORM_REPO = "example-org/k8s-platform-config"
MODELS = {1: "Model 1 (service-owned CI/CD)", 2: "Model 2 (hybrid GitOps)"}

_DEPLOY = {
    1: """CI (`.github/workflows/ci-cd.yaml`) deploys on every push to `main`:
dev, then staging, then prod (behind the `prod` environment's reviewers), each
with `helm upgrade --install` and `helm/values-<env>.yaml`:

    scripts/deploy.sh dev sha-1a2b3c4
    # = helm upgrade --install @@name@@ ./helm -n dev -f helm/values-dev.yaml \\
    #       --set-string image.tag=sha-1a2b3c4 --wait

The same pipeline runs on your machine: `shiplane pipeline run --env dev`
(test, build, tag, push, deploy), or on every `git push` to `shiplane git serve`.""",
    2: """CI (`.github/workflows/ci-cd.yaml`) never deploys. After pushing the image it
commits the new tag to the platform repo (`dev/@@name@@/values.yaml`); Argo CD
syncs dev from there. Promotion to staging and prod is a reviewed commit to
the platform repo (`shiplane platform set-image @@name@@ --env prod --tag ...`).
`scripts/deploy.sh` remains for local clusters only. The same pipeline runs on your
machine: `shiplane pipeline run --env dev --platform-repo PATH` (test, build, tag,
push, bump).""",
}


@dataclass(frozen=True)
class ServiceSpec:
    """What to generate; every field has the guide's default."""

    name: str
    model: int = 1
    registry: str = DEFAULT_REGISTRY
    aws_region: str = DEFAULT_AWS_REGION
    platform_repo: str = DEFAULT_PLATFORM_REPO

    @property
    def image_repository(self) -> str:
        return f"{self.registry.rstrip('/')}/{self.name}"

    def variables(self) -> dict[str, str]:
        title = " ".join(word.capitalize() for word in self.name.split("-"))
        base = {
            "name": self.name,
            "title": title,
            "model": str(self.model),
            "model_title": MODELS[self.model],
            "registry": self.registry,
            "image_repository": self.image_repository,
            "aws_region": self.aws_region,
            "platform_repo": self.platform_repo,
            "shiplane_version": __version__,
        }
        # The deploy section contains @@name@@ itself: substitute it first.
        base["deploy_section"] = _DEPLOY[self.model].replace("@@name@@", self.name)
        return base


def service_files(spec: ServiceSpec) -> dict[str, RepoFile]:
    """Every file of the repository for ``spec`` (pure: nothing is written)."""
    validate_name(spec.name)
    if spec.model not in MODELS:
        raise ScaffoldError(
            f"unknown delivery model {spec.model}", hint="--model 1 (CI deploys) or 2 (GitOps)"
        )
    return render_tree("service", spec.variables(), model=spec.model)


def _lint_generated_chart(root: Path) -> None:
    """Refuse to hand out a chart that Helm rejects (a shiplane bug, not the user's)."""
    try:
        report = lint_chart(root / "helm", strict=False)
    except ChartError as error:
        raise ScaffoldError(f"the generated chart does not load: {error}") from error
    if not report.ok:
        raise ScaffoldError(
            "the generated chart fails helm lint: " + "; ".join(map(str, report.errors))
        )


def init_service(
    name: str,
    *,
    directory: Path | None = None,
    model: int = 1,
    force: bool = False,
    registry: str = DEFAULT_REGISTRY,
    platform_repo: str = DEFAULT_PLATFORM_REPO,
) -> WrittenRepository:
    """Generate the service repository ``<directory>/<name>`` (a git repo, one commit)."""
    spec = ServiceSpec(name, model=model, registry=registry, platform_repo=platform_repo)
    files = service_files(spec)
    target = Path(directory or Path.cwd()) / name
    return write_repository(
        target,
        files,
        message=f"{name}: initial {MODELS[model]} scaffold (shiplane {__version__})",
        force=force,
        before_commit=_lint_generated_chart,
    )
