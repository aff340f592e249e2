"""Small real base images made from this machine's files, for offline builds.

* ``busybox``: Debian's static busybox as ``/bin/busybox`` with a symlink per applet
  (``busybox --list-full``), ``/etc/passwd`` and ``/etc/group`` (root, nobody), ``/tmp``.
* ``python``: the busybox layer plus one layer with a host CPython (pyenv 3.11 or the venv's
  base): interpreter, a lean stdlib (no tests, ``__pycache__``, idle/tkinter/turtledemo,
  ensurepip, static libs, site-packages content) and every shared library ``ldd`` names for
  the interpreter and its extension modules, placed like on the host (merged /usr).

Both are reproducible (layers from :func:`shiplane.build.layers.write_layer`), are stored in
the builder's image store under their references, and can be written to an OCI layout and
pushed (``shiplane base-image --push 127.0.0.1:5000``).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import sysconfig
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from shiplane.build.builder import Builder
from shiplane.build.config import DEFAULT_PATH, HOST_PLATFORM, ImageConfig
from shiplane.build.errors import BuildError
from shiplane.build.images import push_layout
from shiplane.build.layers import TarEntry, write_layer
from shiplane.build.oci import LAYER_MEDIA_TYPE, Image, rfc3339, store_image, write_layout

__all__ = ["BaseImageResult", "create_base_images", "find_host_python", "library_location",
           "python_libraries", "shared_libraries"]

_DROP_DIRS = {"test", "tests", "idle_test", "__pycache__", "idlelib", "tkinter", "turtledemo",
              "ensurepip", "site-packages", "lib2to3", "pydoc_data"}
_DROP_SUFFIXES = (".a", ".pyc", ".pyo", ".exe", ".whl")
_DROP_EXT = re.compile(r"^(_test|_tkinter|xxlimited|_xxtestfuzz|_ctypes_test|xxsubtype)")
_PASSWD = "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n"
_GROUP = "root:x:0:\nnobody:x:65534:\n"


@dataclass(frozen=True)
class BaseImageResult:
    reference: str
    image: Image

    @property
    def digest(self) -> str:
        return self.image.digest


def find_host_python() -> Path:
    """A CPython installation prefix to copy: pyenv 3.11.7, else the running one's base."""
    candidates = [Path("/root/.pyenv/versions/3.11.7"), Path(sys.base_prefix)]
    for prefix in candidates:
        if list(prefix.glob("bin/python3.[0-9]*")):
            return prefix
    raise BuildError("no host Python installation found to build the python base image")


def _dir(path: str, mode: int = 0o755) -> TarEntry:
    return TarEntry(path, "dir", mode)


def _file(path: str, source: Path, mode: int | None = None) -> TarEntry:
    st = os.stat(source)
    return TarEntry(path, "file", mode if mode is not None else st.st_mode & 0o7777,
                    size=st.st_size, source=str(source))


def _text_file(work: Path, path: str, text: str, mode: int = 0o644) -> TarEntry:
    host = work / path.replace("/", "_")
    host.write_text(text)
    return _file(path, host, mode)


def _parents(entries: Iterable[TarEntry]) -> list[TarEntry]:
    paths = {e.path for e in entries}
    extra: dict[str, TarEntry] = {}
    for entry in entries:
        parts = entry.path.split("/")[:-1]
        for i in range(1, len(parts) + 1):
            parent = "/".join(parts[:i])
            if parent not in paths:
                extra.setdefault(parent, _dir(parent))
    return list(extra.values())


def _busybox_entries(work: Path) -> list[TarEntry]:
    busybox = shutil.which("busybox") or "/bin/busybox"
    if not os.path.exists(busybox):
        raise BuildError("busybox is not installed", hint="apt-get install busybox-static")
    listing = subprocess.run([busybox, "--list-full"], capture_output=True, text=True, check=True)
    entries = [_file("bin/busybox", Path(os.path.realpath(busybox)), 0o755),
               _dir("tmp", 0o1777), _dir("root", 0o700), _dir("etc"), _dir("home"), _dir("var"),
               _text_file(work, "etc/passwd", _PASSWD), _text_file(work, "etc/group", _GROUP)]
    for applet in listing.stdout.split():
        if applet != "bin/busybox":
            entries.append(TarEntry(applet, "symlink", 0o777, linkname="/bin/busybox"))
    return entries + _parents(entries)


def shared_libraries(paths: Iterable[Path]) -> set[str]:
    """Every shared library ``ldd`` resolves for ``paths`` (host paths)."""
    libraries: set[str] = set()
    for path in paths:
        result = subprocess.run(["ldd", str(path)], capture_output=True, text=True, check=False)
        for line in result.stdout.splitlines():
            match = re.search(r"(?:=>\s*)?(/\S+)\s+\(0x", line)
            if match:
                libraries.add(match.group(1))
    return libraries


def library_location(library: str) -> str:
    """Where a host library goes in an image: its real folder (merged /usr), or the
    multiarch folder for one from elsewhere (e.g. libpython of a pyenv prefix)."""
    multiarch = sysconfig.get_config_var("MULTIARCH") or f"{os.uname().machine}-linux-gnu"
    system_dirs = {f"/usr/lib/{multiarch}", "/usr/lib64", "/usr/lib", "/lib", "/lib64"}
    real_dir = os.path.realpath(os.path.dirname(library))
    if real_dir not in system_dirs and not real_dir.startswith("/usr/lib/"):
        real_dir = f"/usr/lib/{multiarch}"
    return f"{real_dir.lstrip('/')}/{os.path.basename(library)}"


def _interpreter_libraries(binary: Path, extensions: Iterable[Path]) -> set[str]:
    multiarch = sysconfig.get_config_var("MULTIARCH") or f"{os.uname().machine}-linux-gnu"
    # glibc dlopen()s libgcc_s for pthread_exit/cancellation: ldd does not list it, but a
    # threaded server stopping on SIGTERM needs it ("libgcc_s.so.1 must be installed").
    libgcc = f"/usr/lib/{multiarch}/libgcc_s.so.1"
    dlopened = {libgcc} if os.path.exists(libgcc) else set()
    return shared_libraries([binary, *extensions]) | dlopened


def python_libraries(prefix: Path | None = None) -> set[str]:
    """The host libraries the python base image made from ``prefix`` holds (as ldd names
    them), so an image built on it adds only the others its extension modules need."""
    prefix = prefix or find_host_python()
    binary = next(b for b in sorted(prefix.glob("bin/python3.[0-9]*"))
                  if re.fullmatch(r"python3\.\d+", b.name))
    dynload = prefix / "lib" / binary.name / "lib-dynload"
    return _interpreter_libraries(binary, sorted(p for p in dynload.glob("*.so")
                                                 if not _DROP_EXT.match(p.name)))


def _python_entries(prefix: Path) -> tuple[list[TarEntry], str]:
    binaries = sorted(prefix.glob("bin/python3.[0-9]*"))
    binary = next(b for b in binaries if re.fullmatch(r"python3\.\d+", b.name))
    version = binary.name.removeprefix("python")
    stdlib = prefix / "lib" / f"python{version}"
    entries: list[TarEntry] = [
        _file(f"usr/local/bin/python{version}", binary.resolve(), 0o755),
        TarEntry("usr/local/bin/python3", "symlink", 0o777, linkname=f"python{version}"),
        TarEntry("usr/local/bin/python", "symlink", 0o777, linkname=f"python{version}"),
        _dir(f"usr/local/lib/python{version}/site-packages"),
    ]
    extensions: list[Path] = []
    for directory, dirnames, filenames in os.walk(stdlib):
        rel_dir = os.path.relpath(directory, stdlib)
        dirnames[:] = sorted(d for d in dirnames if d not in _DROP_DIRS
                             and not d.startswith("config-"))
        for name in sorted(filenames):
            if name.endswith(_DROP_SUFFIXES) or (rel_dir == "lib-dynload" and _DROP_EXT.match(name)):
                continue
            host = Path(directory, name)
            if host.is_symlink():
                continue
            rel = name if rel_dir == "." else f"{rel_dir}/{name}"
            entries.append(_file(f"usr/local/lib/python{version}/{rel}", host))
            if name.endswith(".so"):
                extensions.append(host)
    for library in sorted(_interpreter_libraries(binary, extensions)):
        entries.append(_file(library_location(library), Path(os.path.realpath(library))))
    for link in ("lib", "lib64"):
        if os.path.islink(f"/{link}"):
            entries.append(TarEntry(link, "symlink", 0o777, linkname=os.readlink(f"/{link}")))
    deduped = {e.path: e for e in entries}
    entries = list(deduped.values())
    return entries + [p for p in _parents(entries) if p.path not in ("bin", "lib", "lib64")], version


def _descriptor(builder: Builder, entries: list[TarEntry], work: Path) -> tuple[dict, str]:
    layer = write_layer(entries, work)
    builder.blobs.put_file(layer.path, layer.digest)
    return {"mediaType": LAYER_MEDIA_TYPE, "digest": layer.digest, "size": layer.size}, layer.diff_id


def _image(builder: Builder, layers: list[tuple[dict, str, str]], config: ImageConfig) -> Image:
    created = rfc3339(0)
    return store_image(builder.blobs, {
        "created": created,
        "architecture": HOST_PLATFORM.architecture,
        "os": HOST_PLATFORM.os,
        "config": config.to_oci(),
        "rootfs": {"type": "layers", "diff_ids": [diff_id for _, diff_id, _ in layers]},
        "history": [{"created": created, "created_by": text, "comment": "shiplane base-image"}
                    for _, _, text in layers],
    }, [descriptor for descriptor, _, _ in layers])


def create_base_images(builder: Builder, *, registry: str = "", names: Iterable[str] = ("busybox", "python"),
                       layout: Path | None = None, push: bool = False,
                       python_prefix: Path | None = None) -> list[BaseImageResult]:
    """Create the base images; ``registry`` prefixes their references (``host:port``)."""
    wanted = list(names)
    unknown = set(wanted) - {"busybox", "python"}
    if unknown:
        raise BuildError(f"unknown base image {sorted(unknown)[0]!r}: choose busybox or python")
    prefix = registry.rstrip("/") + "/" if registry else ""
    results: list[BaseImageResult] = []
    with tempfile.TemporaryDirectory(prefix="shiplane-base-", dir=builder.work_root) as tmp:
        work = Path(tmp)
        busybox = (*_descriptor(builder, _busybox_entries(work), work), "busybox-static")
        if "busybox" in wanted:
            config = ImageConfig(env=(("PATH", DEFAULT_PATH),), cmd=("sh",))
            results.append(BaseImageResult(f"{prefix}busybox:1.35", _image(builder, [busybox], config)))
        if "python" in wanted:
            entries, version = _python_entries(python_prefix or find_host_python())
            python = (*_descriptor(builder, entries, work), f"python {version} from the host")
            config = ImageConfig(env=(("PATH", "/usr/local/bin:" + DEFAULT_PATH.replace(
                "/usr/local/bin:", "")), ("LANG", "C.UTF-8"), ("PYTHON_VERSION", version)),
                cmd=("python3",))
            results.append(BaseImageResult(f"{prefix}python:{version}-slim",
                                           _image(builder, [busybox, python], config)))
        for result in results:
            builder.images.tag(result.reference, result.image)
        if layout is not None or push:
            target = Path(layout) if layout is not None else work / "layout"
            for result in results:
                name, tag = result.reference.rsplit(":", 1)
                local_tag = f"{name.rsplit('/', 1)[-1]}-{tag}"
                write_layout(target, builder.blobs, result.image, [local_tag])
                if push:
                    push_layout(target, local_tag, result.reference)
    return results
