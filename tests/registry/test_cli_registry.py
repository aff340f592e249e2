"""``shiplane registry`` commands: serve as a real process, the others in-process."""

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from shiplane.registry import push_oci_layout
import shiplane
from shiplane.testing import run_cli


@pytest.fixture
def served(tmp_path):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    root = tmp_path / "root"
    src = str(Path(shiplane.__file__).resolve().parent.parent)
    proc = subprocess.Popen([sys.executable, "-m", "shiplane", "registry", "serve", "--root", str(root),
                             "--port", str(port), "--immutable", "prod/*"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            env={**os.environ, "PYTHONPATH": src})
    deadline = time.monotonic() + 20
    while True:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/v2/").status_code == 401:
                break
        except httpx.TransportError:
            pass
        assert proc.poll() is None and time.monotonic() < deadline, proc.stderr.read().decode()
        time.sleep(0.1)
    yield f"127.0.0.1:{port}", root
    proc.terminate()
    proc.wait(timeout=10)


def test_serve_login_password_then_push_list_inspect_copy(served, layout_factory):
    host, root = served
    result = run_cli(["registry", "login-password", "--root", str(root)])
    assert result.exit_code == 0, result.output
    password = result.stdout.strip()
    assert password.count(".") == 2
    creds = ["-u", "AWS", "-p", password]
    from shiplane.registry import Credentials, RegistryClient
    layout, root_desc = layout_factory()
    with RegistryClient(host, credentials=Credentials("AWS", password)) as client:
        push_oci_layout(layout, f"{host}/team/app:1.0", client=client)
    tags = run_cli(["registry", "tags", f"{host}/team/app", *creds])
    assert tags.exit_code == 0 and tags.stdout.split() == ["1.0"], tags.output
    inspected = run_cli(["registry", "inspect", f"{host}/team/app:1.0", *creds])
    assert inspected.exit_code == 0 and root_desc["digest"] in inspected.stdout
    assert "entries:    3" in inspected.stdout
    copied = run_cli(["registry", "copy", f"{host}/team/app:1.0", f"{host}/prod/app:1.0",
                      "--src-creds", f"AWS:{password}", "--dest-creds", f"AWS:{password}"])
    assert copied.exit_code == 0, copied.output
    assert root_desc["digest"] in copied.stdout
    listed = run_cli(["registry", "ls", host, *creds])
    assert listed.stdout.split() == ["prod/app", "team/app"]
    wrong = run_cli(["registry", "tags", f"{host}/team/app", "-u", "AWS", "-p", "forged"])
    assert wrong.exit_code == 1 and "UNAUTHORIZED" in wrong.stderr


def test_immutable_tag_refused_with_clear_error(served, layout_factory):
    host, root = served
    password = run_cli(["registry", "login-password", "--root", str(root)]).stdout.strip()
    from shiplane.registry import Credentials, RegistryApiError, RegistryClient
    first, _ = layout_factory(seed="first")
    second, _ = layout_factory(seed="second")
    with RegistryClient(host, credentials=Credentials("AWS", password)) as client:
        push_oci_layout(first, f"{host}/prod/api:1.0", client=client)
        with pytest.raises(RegistryApiError) as refused:
            push_oci_layout(second, f"{host}/prod/api:1.0", client=client)
    assert refused.value.code == "DENIED" and "immutable" in refused.value.message


def test_bad_reference_is_a_usage_style_error():
    result = run_cli(["registry", "inspect", "UPPER/../x"])
    assert result.exit_code == 1 and "invalid" in result.stderr


def test_embedded_registry_fixture(embedded_registry, layout_factory):
    layout, root_desc = layout_factory()
    image = push_oci_layout(layout, f"{embedded_registry.host}/kit/app:v1")
    assert image.digest == root_desc["digest"]
    assert embedded_registry.storage.tag("kit/app", "v1") == root_desc["digest"]
