"""A platform repo and the Model 2 service repo it deploys, made by the real scaffold."""

from __future__ import annotations

from pathlib import Path

import pytest

from shiplane.scaffold import init_platform, init_service
from shiplane.scaffold.platform import DEFAULT_GIT_BASE


@pytest.fixture(autouse=True)
def short_sync_wave_delay(monkeypatch: pytest.MonkeyPatch) -> None:
    """Argo CD pauses 2 s after each non-final sync wave (ARGOCD_SYNC_WAVE_DELAY); the tests
    here keep the pause (the code path runs) but short. Tests of the delay set their own."""
    monkeypatch.setenv("ARGOCD_SYNC_WAVE_DELAY", "0.05")


@pytest.fixture
def repos(tmp_path: Path) -> dict[str, Path]:
    """repoURL -> local git repository (fresh per test: tests commit to them)."""
    platform = init_platform("plat", environments=["dev", "staging", "prod"],
                             services=["payment-service"], directory=tmp_path)
    service = init_service("payment-service", directory=tmp_path, model=2)
    return {f"{DEFAULT_GIT_BASE}/plat.git": platform.path,
            f"{DEFAULT_GIT_BASE}/payment-service.git": service.path}


@pytest.fixture
def platform_root(repos: dict[str, Path]) -> Path:
    return repos[f"{DEFAULT_GIT_BASE}/plat.git"]


@pytest.fixture(scope="session")
def shiplane_image(base_images, tmp_path_factory: pytest.TempPathFactory):
    """``shiplane gitops image build --push``'s library call, once per session: the shiplane
    image FROM the session's offline python base image, pushed to an embedded registry that
    lives for the session. Yields (registry, ShiplaneImage)."""
    from shiplane.build import ShiplaneImageRequest, build_shiplane_image
    from shiplane.registry import EmbeddedRegistry, MemoryStorage

    with EmbeddedRegistry(MemoryStorage()) as registry:
        image = build_shiplane_image(ShiplaneImageRequest(
            state_dir=base_images.state, reference=f"{registry.host}/shiplane:0.1.0",
            base_image=base_images.python, push=True))
        yield registry, image
