"""A wheelhouse of the running environment: a package and its runtime dependencies as wheels,
packed from what is installed here — no index, no network, the exact versions tested.

Theory of operation. :func:`runtime_closure` walks ``Requires-Dist`` from a root distribution
(skipping requirements that only an extra asks for) and keeps the installed ones; a
requirement whose environment marker excludes this platform is normally not installed, and
one that is installed anyway costs a wheel pip will not use. :func:`pack_installed` writes
one distribution back into a wheel: the files its ``RECORD`` lists inside site-packages, its
``.dist-info`` minus the install-time files (``INSTALLER``, ``REQUESTED``,
``direct_url.json``), and a fresh ``RECORD``. Scripts (``../../../bin/…``) and ``__pycache__``
are left out: pip writes console scripts from ``entry_points.txt`` when it installs the wheel.

An editable install (``pip install -e``) records only a ``.pth`` file; for it (and for the
root, always) the files come from the package folder that is imported now, so the image gets
the code that is running, not another checkout's. pip then installs the wheelhouse with
``--no-index --find-links``, which also proves the closure is complete.

Zip entries carry a fixed date and sorted names: the same environment gives the same bytes.
"""

from __future__ import annotations

import base64
import hashlib
import importlib.metadata as metadata
import importlib.util
import re
import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from shiplane.build.errors import BuildError

__all__ = ["PackedWheel", "pack_installed", "runtime_closure", "write_wheelhouse"]

_NAME = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)")
_EXTRA_MARKER = re.compile(r";.*\bextra\s*==")
_INSTALL_TIME = {"INSTALLER", "REQUESTED", "direct_url.json", "RECORD"}
_ZIP_DATE = (1980, 1, 1, 0, 0, 0)


def canonical(name: str) -> str:
    """PEP 503 normalised project name."""
    return re.sub(r"[-_.]+", "-", name).lower()


@dataclass(frozen=True)
class PackedWheel:
    project: str
    version: str
    path: Path


def runtime_closure(root: str) -> list[metadata.Distribution]:
    """``root`` and every installed distribution it needs at run time, sorted by name."""
    try:
        first = metadata.distribution(root)
    except metadata.PackageNotFoundError:
        raise BuildError(f"{root} is not installed in this environment",
                         hint=f"pip install {root}") from None
    found = {canonical(first.metadata["Name"]): first}
    todo = [first]
    while todo:
        dist = todo.pop()
        for requirement in dist.requires or ():
            match = _NAME.match(requirement)
            if not match or _EXTRA_MARKER.search(requirement):
                continue
            name = canonical(match.group(1))
            if name in found:
                continue
            try:
                found[name] = metadata.distribution(name)
            except metadata.PackageNotFoundError:
                continue  # not for this platform (an environment marker), pip will say if needed
            todo.append(found[name])
    return [found[name] for name in sorted(found)]


def _wheel_tag(dist: metadata.Distribution) -> str:
    text = dist.read_text("WHEEL") or ""
    tags = [line.split(":", 1)[1].strip() for line in text.splitlines()
            if line.startswith("Tag:")]
    if not tags:
        return "py3-none-any"
    # the compressed tag set of the file name (PEP 425): py2.py3-none-any, or
    # cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64
    parts = [tag.split("-") for tag in tags]
    return "-".join(".".join(dict.fromkeys(p[i] for p in parts)) for i in range(3))


def _editable(dist: metadata.Distribution) -> bool:
    return '"editable": true' in (dist.read_text("direct_url.json") or "").replace("'", '"')


def _installed_files(dist: metadata.Distribution) -> Iterator[tuple[str, Path]]:
    """(path in the wheel, file on disk) of the files installed into site-packages."""
    for item in dist.files or ():
        name = str(item)
        if name.startswith("..") or "__pycache__" in item.parts or \
                item.parts[0].endswith(".dist-info") or name.endswith(".pth"):
            continue
        yield name, Path(str(item.locate()))


def _imported_files(module: str) -> Iterator[tuple[str, Path]]:
    """The files of the package ``module`` as imported now (an editable or PYTHONPATH one)."""
    spec = importlib.util.find_spec(module)
    if spec is None or not spec.submodule_search_locations:
        raise BuildError(f"cannot find the {module} package to pack")
    top = Path(next(iter(spec.submodule_search_locations)))
    for path in sorted(top.rglob("*")):
        rel = path.relative_to(top.parent)
        if path.is_file() and "__pycache__" not in rel.parts and path.suffix != ".pyc":
            yield rel.as_posix(), path


def _info_dir(dist: metadata.Distribution) -> Path:
    for item in dist.files or ():
        if item.parts[0].endswith(".dist-info"):
            return Path(str(dist.locate_file(item.parts[0])))
    raise BuildError(f"{dist.metadata['Name']} has no .dist-info listed in its RECORD")


def _top_level(dist: metadata.Distribution) -> str:
    names = (dist.read_text("top_level.txt") or "").split()
    return names[0] if names else canonical(dist.metadata["Name"]).replace("-", "_")


def _record_line(name: str, data: bytes) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"{name},sha256={digest},{len(data)}"


def pack_installed(dist: metadata.Distribution, directory: Path, *,
                   from_import: str | None = None) -> PackedWheel:
    """Write ``dist`` as a wheel into ``directory``; ``from_import`` takes the code from that
    imported package instead of the install record (editable installs)."""
    project, version = dist.metadata["Name"], dist.version
    stem = re.sub(r"[-_.]+", "_", project)
    info = f"{stem}-{version}.dist-info"
    files = dict(_imported_files(from_import) if from_import else _installed_files(dist))
    if not files:
        raise BuildError(f"{project} {version} lists no installed files to pack",
                         hint="reinstall it (pip install --force-reinstall --no-deps)")
    own_info = _info_dir(dist)
    for meta in sorted(own_info.iterdir()):
        if meta.is_file() and meta.name not in _INSTALL_TIME:
            files[f"{info}/{meta.name}"] = meta
    path = directory / f"{stem}-{version}-{_wheel_tag(dist)}.whl"
    record = []
    with zipfile.ZipFile(path, "w") as wheel:
        for name in sorted(files):
            data = files[name].read_bytes()
            entry = zipfile.ZipInfo(name, _ZIP_DATE)
            entry.external_attr = (0o755 if files[name].stat().st_mode & 0o111 else 0o644) << 16
            # shared libraries barely compress and are the bulk: store them, deflate the rest
            entry.compress_type = zipfile.ZIP_STORED if ".so" in name else zipfile.ZIP_DEFLATED
            wheel.writestr(entry, data, compresslevel=6)
            record.append(_record_line(name, data))
        record.append(f"{info}/RECORD,,")
        entry = zipfile.ZipInfo(f"{info}/RECORD", _ZIP_DATE)
        entry.external_attr = 0o644 << 16
        wheel.writestr(entry, "\n".join(record) + "\n", zipfile.ZIP_DEFLATED)
    return PackedWheel(canonical(project), version, path)


def write_wheelhouse(directory: Path, root: str = "shiplane",
                     extra: Iterable[str] = ("pip",)) -> list[PackedWheel]:
    """``root``'s runtime closure plus ``extra`` installed distributions as wheels in
    ``directory`` (pip itself, to install them inside an image that has no pip)."""
    directory.mkdir(parents=True, exist_ok=True)
    dists = runtime_closure(root)
    names = {canonical(d.metadata["Name"]) for d in dists}
    for name in extra:
        if canonical(name) not in names:
            try:
                dists.append(metadata.distribution(name))
            except metadata.PackageNotFoundError:
                raise BuildError(f"{name} is not installed in this environment (the image "
                                 f"build installs the wheels with it)",
                                 hint=f"pip install {name}") from None
    out = []
    for dist in dists:
        name = canonical(dist.metadata["Name"])
        from_import = _top_level(dist) if name == canonical(root) or _editable(dist) else None
        out.append(pack_installed(dist, directory, from_import=from_import))
    return out
