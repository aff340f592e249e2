"""``--builder buildah`` delegates to the real buildah (vfs storage, chroot isolation)."""

from __future__ import annotations

import shutil
from pathlib import Path
from datetime import datetime, timezone

import pytest

from shiplane.build import BuildError, BuildRequest, build_and_tag, start_image, unpack_rootfs
from shiplane.build.buildah import buildah_command

pytestmark = pytest.mark.slow


def test_buildah_build_is_tagged_like_the_embedded_one(base_images, make_context, tmp_path):
    assert shutil.which("buildah"), "buildah is a declared system package (scripts/setup.sh)"
    ctx = make_context({"msg": "from buildah\n", "Dockerfile":
                        f"FROM {base_images.busybox}\nCOPY msg /msg\nRUN cat /msg > /copy\n"
                        'CMD ["cat", "/copy"]\n'})
    now = datetime(2026, 11, 25, 12, 0, 0, tzinfo=timezone.utc)
    result = build_and_tag(BuildRequest(
        path=ctx, state_dir=tmp_path / "state", repository="demo/app", version="2.0.0",
        builder="buildah", buildah_root=tmp_path / "buildah", now=now,
        output_layout=tmp_path / "layout"))
    assert result.tags == ["2.0.0", "build-1", "20261125120000"]  # no git repo: no sha tag
    assert result.references[0] == f"demo/app:2.0.0@{result.digest}"
    from shiplane.build import Builder

    builder = Builder.at(tmp_path / "state")
    image = builder.images.lookup("demo/app:2.0.0")
    assert image is not None and image.digest == result.digest
    root = unpack_rootfs(builder.blobs, image, tmp_path / "rootfs")
    process = start_image(root, image, network_host=False, stdout=-1).process
    assert process.communicate(timeout=30)[0] == b"from buildah\n"


def test_buildah_command_line():
    command = buildah_command(Path("/ctx"),
                              Path("/ctx/Dockerfile"), "img:1",
                              build_args={"A": "1"}, no_cache=True, network="host", insecure=True)
    assert command[1:] == ["--storage-driver", "vfs", "bud", "--isolation", "chroot", "--layers",
                           "-f", "/ctx/Dockerfile", "-t", "img:1", "--build-arg", "A=1",
                           "--no-cache", "--network=host", "--tls-verify=false", "/ctx"]


def test_unknown_builder_is_refused(tmp_path):
    with pytest.raises(BuildError, match="unknown builder 'podman'"):
        build_and_tag(BuildRequest(path=tmp_path, state_dir=tmp_path, builder="podman"))
