"""Fixtures for the builder tests: a real loopback registry (Debian ``docker-registry``) and
the busybox/python base images, created once per session and pushed to it (both fixtures live
in ``tests/conftest.py``: the process-runtime tests run the same images)."""

from __future__ import annotations

from pathlib import Path

import pytest

from shiplane.build import Builder
from shiplane.build.images import ImageStore
from shiplane.build.store import DiskBlobStore, DiskRecordStore, MemoryRecordStore


@pytest.fixture(scope="session")
def registry(base_image_registry: str) -> str:
    """``127.0.0.1:<port>`` of the session's docker-registry (``tests/conftest.py``)."""
    return base_image_registry


@pytest.fixture
def builder(base_images, tmp_path: Path) -> Builder:  # base_images: tests/conftest.py
    """A builder sharing the session's blobs (base images already local) with its own empty
    layer cache and image references; temp files go under ``tmp_path/work``."""
    blobs = DiskBlobStore(base_images.state / "build" / "blobs")
    refs = MemoryRecordStore()
    session_refs = ImageStore(blobs, DiskRecordStore(base_images.state / "build" / "refs"))
    images = ImageStore(blobs, refs)
    for reference in (base_images.busybox, base_images.python):
        image = session_refs.lookup(reference)
        assert image is not None
        images.tag(reference, image)
    work = tmp_path / "work"
    work.mkdir()
    return Builder(blobs, MemoryRecordStore(), images, work)


def write_tree(root: Path, files: dict[str, str | bytes]) -> Path:
    for name, content in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content)
    return root


@pytest.fixture
def make_context(tmp_path: Path):  # type: ignore[no-untyped-def]
    counter = iter(range(1000))

    def make(files: dict[str, str | bytes]) -> Path:
        root = tmp_path / f"ctx{next(counter)}"
        root.mkdir()
        return write_tree(root, files)

    return make
