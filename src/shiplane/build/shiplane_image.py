"""shiplane's own image (the ``shiplane`` CLI; the GitOps controller's chart runs it), built
by shiplane's builder from this environment, offline (``shiplane gitops image build``).

The build context is assembled in a temp folder: the Dockerfile and ``slim.py`` shipped in
``files/shiplane-image/``, ``wheels/`` (the wheelhouse of :mod:`wheelhouse`: the installed
runtime dependencies and a ``requirements.txt`` pinning them), ``pip/`` (pip's wheel),
``app/`` (shiplane's wheel, from the code imported now) and ``syslibs/``. The Dockerfile installs the dependencies
with pip ``--no-index`` in one stage (and slims them), shiplane in the next, and copies both
onto a fresh base as two layers: neither the wheels nor pip end up in the image, and a code
change rebuilds and ships only the small shiplane layer.

The base is the offline python image of :mod:`baseimage` (the host's CPython, the same
minor version the wheels were installed for), made in the builder's store when missing.
With SOURCE_DATE_EPOCH unset the image's date is 0: the same environment and code give the
same digest, and an unchanged rebuild is all cache hits after packing the wheels.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

from shiplane.build.baseimage import (
    create_base_images,
    library_location,
    python_libraries,
    shared_libraries,
)
from shiplane.build.builder import BuildOptions, Builder
from shiplane.build.errors import BuildError
from shiplane.build.images import push_tags
from shiplane.build.oci import write_layout
from shiplane.build.tagged_build import split_reference
from shiplane.build.wheelhouse import runtime_closure, write_wheelhouse

__all__ = ["DOCKERFILE", "ShiplaneImage", "ShiplaneImageRequest", "build_shiplane_image"]

FILES = Path(__file__).parent / "files" / "shiplane-image"
DOCKERFILE = FILES / "Dockerfile"


@dataclass(frozen=True)
class ShiplaneImageRequest:
    state_dir: Path  # the builder's state (layer cache, image store)
    reference: str = "shiplane"  # repository[:tag]; the tag defaults to shiplane's version
    push: bool = False
    output_layout: Path | None = None
    base_image: str | None = None  # default: the offline python base image, made if missing
    no_cache: bool = False
    progress: Callable[[str], None] | None = None


@dataclass(frozen=True)
class ShiplaneImage:
    reference: str  # repository:tag
    digest: str
    size: int  # compressed bytes of config + layers (what a pull transfers, at most)
    seconds: float
    pushed: bool

    @property
    def pinned(self) -> str:
        return f"{self.reference}@{self.digest}"


def _version() -> str:
    return metadata.version("shiplane")


def _base_image(builder: Builder, requested: str | None) -> str:
    """The FROM image: ``requested``, else ``python:<this minor>-slim`` of the local store
    (made from the host's CPython when missing), which must match this interpreter."""
    if requested:
        return requested
    minor = f"{sys.version_info.major}.{sys.version_info.minor}"
    reference = f"python:{minor}-slim"
    image = builder.images.lookup(reference)
    if image is None:
        create_base_images(builder, names=("python",))
        image = builder.images.lookup(reference)
    env = dict(item.split("=", 1) for item in image.config.get("config", {}).get("Env", [])) \
        if image is not None else {}
    if image is None or env.get("PYTHON_VERSION", minor) != minor:
        raise BuildError(f"the offline python base image is not Python {minor}",
                         hint="the wheels are this interpreter's: run with the Python the "
                              "base image is made from, or pass --base-image")
    return reference


def _copy_system_libraries(dists: list[metadata.Distribution], target: Path) -> list[str]:
    """The host libraries the installed extension modules of ``dists`` need beyond the python
    base image's (manylinux wheels may use librt, libstdc++, libdl... of the system), copied
    into ``target`` where they go in the image."""
    modules = [Path(str(item.locate())) for dist in dists for item in dist.files or ()
               if ".so" in item.name and not item.parts[0].endswith(".dist-info")]
    sites = {str(Path(str(dist.locate_file("")))) for dist in dists}
    have = {library_location(library) for library in python_libraries()}
    copied = []
    for library in sorted(shared_libraries(p for p in modules if p.is_file())):
        if library_location(library) in have or \
                any(library.startswith(site + "/") for site in sites):
            continue  # in the base image, or a wheel's own (auditwheel's <pkg>.libs)
        destination = target / library_location(library)
        destination.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(Path(library).resolve(), destination)
        copied.append(library)
    return copied


def build_shiplane_image(request: ShiplaneImageRequest) -> ShiplaneImage:
    """Build the shiplane image; tag it locally (and in ``output_layout``), push if asked."""
    from shiplane.cluster.openapi.definitions import KUBERNETES_VERSION

    started = time.monotonic()
    repository, tag = split_reference(request.reference)
    if repository is None:  # a bare name: "shiplane" is a repository, not a tag
        repository, tag = tag, ""
    tag = tag or _version()
    say = request.progress or (lambda line: None)
    builder = Builder.at(request.state_dir)
    base = _base_image(builder, request.base_image)
    with tempfile.TemporaryDirectory(prefix="shiplane-image-", dir=builder.work_root) as tmp:
        context = Path(tmp) / "context"
        shutil.copytree(FILES, context)
        say("packing shiplane and its runtime dependencies as wheels")
        wheels = write_wheelhouse(context / "wheels")
        (context / "app").mkdir()
        (context / "pip").mkdir()
        requirements = []
        for wheel in wheels:
            if wheel.project in ("shiplane", "pip"):
                folder = "app" if wheel.project == "shiplane" else "pip"
                wheel.path.rename(context / folder / wheel.path.name)
            else:
                requirements.append(f"{wheel.project}=={wheel.version}\n")
        (context / "wheels" / "requirements.txt").write_text("".join(sorted(requirements)))
        (context / "syslibs").mkdir()
        libraries = _copy_system_libraries(runtime_closure("shiplane"), context / "syslibs")
        say(f"{len(wheels)} wheels, system libraries {', '.join(Path(p).name for p in libraries)};"
            f" building FROM {base}")
        result = builder.build(BuildOptions(
            context, build_args={"BASE_IMAGE": base, "KUBERNETES_SCHEMA": KUBERNETES_VERSION},
            no_cache=request.no_cache, progress=request.progress,
            labels={"org.opencontainers.image.title": "shiplane",
                    "org.opencontainers.image.version": _version()}))
        image = result.image
        builder.images.tag(f"{repository}:{tag}", image)
        layout = Path(request.output_layout) if request.output_layout else Path(tmp) / "layout"
        write_layout(layout, builder.blobs, image, [tag])
        if request.push:
            say(f"pushing {repository}:{tag}")
            push_tags(layout, repository, [tag])
    size = image.manifest["config"]["size"] + sum(layer["size"] for layer in image.layers)
    return ShiplaneImage(f"{repository}:{tag}", image.digest, size,
                         time.monotonic() - started, request.push)
