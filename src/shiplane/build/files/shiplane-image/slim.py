"""Slim an installed site-packages for the shiplane image and check it (run inside the build).

* identical shared libraries (helm-python-sdk ships libhelm_c.so, .so.0 and .so.0.2.2, 85 MB
  each: wheels cannot hold symlinks) become symlinks to one copy;
* kubernetes-validate keeps only the schema version shiplane's API server serves;
* test folders and bytecode caches go;
* then every shared object must load (ctypes): a library missing from the image (a manylinux
  wheel's system dependency) fails the build here, not the controller at start.
"""

import ctypes
import hashlib
import shutil
import sys
from pathlib import Path

site, schema = Path(sys.argv[1]), sys.argv[2]

for lib in sorted({p.parent for p in site.rglob("*.so*") if p.is_file()}):
    seen = {}
    for path in sorted(lib.iterdir(), key=lambda p: (-len(p.name), p.name)):
        if not path.is_file() or path.is_symlink() or ".so" not in path.name:
            continue
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        if digest in seen:
            path.unlink()
            path.symlink_to(seen[digest])
        else:
            seen[digest] = path.name

schemas = site / "kubernetes_validate" / "kubernetes-json-schema"
if schemas.is_dir():
    keep = [p for p in schemas.iterdir() if p.name in (f"{schema}-local", f"{schema}-local-strict")]
    if not keep:
        sys.exit(f"kubernetes-validate has no {schema} schemas")
    for path in schemas.iterdir():
        if path not in keep:
            shutil.rmtree(path)

for path in sorted(site.rglob("__pycache__"), reverse=True):
    shutil.rmtree(path, ignore_errors=True)
for top in site.iterdir():
    for name in ("tests", "test"):
        if top.is_dir() and (top / name).is_dir() and top.name not in ("shiplane",):
            shutil.rmtree(top / name)

failed = []
for path in sorted(site.rglob("*.so*")):
    if path.is_file() and not path.is_symlink():
        try:
            ctypes.CDLL(str(path))
        except OSError as error:
            failed.append(f"{path.relative_to(site)}: {error}")
if failed:
    sys.exit("shared objects that do not load:\n" + "\n".join(failed))
