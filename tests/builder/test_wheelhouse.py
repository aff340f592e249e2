"""The wheelhouse of the running environment (what `shiplane gitops image build` installs in
the image): the runtime closure, wheels packed from installed files with a fresh RECORD and
the compressed tag set, the same bytes twice, and pip accepting them offline."""

from __future__ import annotations

import base64
import hashlib
import importlib.metadata as metadata
import subprocess
import sys
import zipfile

from shiplane.build.wheelhouse import canonical, pack_installed, runtime_closure


def test_runtime_closure_follows_requirements_but_not_extras():
    names = {canonical(d.metadata["Name"]) for d in runtime_closure("shiplane")}
    assert {"shiplane", "httpx", "httpcore", "h11", "dulwich", "helm-python-sdk"} <= names
    # test extras of shiplane (and of its dependencies) stay out
    assert not {"pytest", "hypothesis", "moto", "playwright", "pip"} & names


def test_packed_wheel_has_its_files_a_valid_record_and_no_install_markers(tmp_path):
    dist = metadata.distribution("sniffio")
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    first, second = pack_installed(dist, tmp_path / "a"), pack_installed(dist, tmp_path / "b")
    assert first.path.read_bytes() == second.path.read_bytes()  # reproducible
    assert first.path.name == f"sniffio-{dist.version}-py3-none-any.whl"
    with zipfile.ZipFile(first.path) as wheel:
        names = wheel.namelist()
        info = f"sniffio-{dist.version}.dist-info"
        assert "sniffio/__init__.py" in names and f"{info}/METADATA" in names
        assert not [n for n in names if "__pycache__" in n or n.endswith(
            ("/INSTALLER", "/REQUESTED", "/direct_url.json"))]
        record = wheel.read(f"{info}/RECORD").decode().splitlines()
        assert f"{info}/RECORD,," in record
        for line in record:
            name, digest, size = line.rsplit(",", 2)
            if digest:
                data = wheel.read(name)
                expected = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=")
                assert digest == "sha256=" + expected.decode() and int(size) == len(data)


def test_compressed_tags_and_pip_installs_offline(tmp_path):
    wheels = tmp_path / "wheels"
    wheels.mkdir()
    six = pack_installed(metadata.distribution("six"), wheels)  # py2.py3-none-any
    assert six.path.name.endswith("-py2.py3-none-any.whl"), six.path.name
    yaml = pack_installed(metadata.distribution("PyYAML"), wheels)  # binary: platform tags
    assert f"-cp{sys.version_info.major}{sys.version_info.minor}-" in yaml.path.name
    target = tmp_path / "site"
    done = subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-index",
                           "--find-links", str(wheels), "--target", str(target), "--no-deps",
                           "six", "PyYAML"], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert (target / "six.py").is_file() and (target / "yaml" / "__init__.py").is_file()
