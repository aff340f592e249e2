"""Clients nobody here wrote, against the embedded registry over token auth:
skopeo (containers/image), the oras Python SDK, and Helm's own Go SDK."""

import hashlib
import json
import subprocess
from pathlib import Path

import pytest

from shiplane.registry import Credentials, DiskStorage, EmbeddedRegistry, RegistryClient
from shiplane.registry.auth import AuthConfig, TokenAuth, User
from shiplane.registry.policy import Effect, RepositoryPolicy, Statement
from shiplane.registry.tokens import SigningKey

PASSWORD = "s3cret-pw"


@pytest.fixture(scope="module")
def secured(tmp_path_factory):
    config = AuthConfig(users=(User("ci", PASSWORD),), policies=(
        RepositoryPolicy("*", (Statement(Effect.ALLOW, ("ci",), frozenset({"ecr:*"})),)),))
    storage = DiskStorage(tmp_path_factory.mktemp("secured-store"))
    with EmbeddedRegistry(storage, auth=TokenAuth(config, SigningKey.generate())) as registry:
        yield registry


@pytest.fixture
def client(secured):
    with RegistryClient(secured.host, credentials=Credentials("ci", PASSWORD)) as c:
        yield c


def _skopeo(*args, cwd=None):
    proc = subprocess.run(["skopeo", "--insecure-policy", *args], capture_output=True, text=True,
                          timeout=120, cwd=cwd)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def test_skopeo_copy_in_and_out_preserves_digests(secured, client, layout_factory, tmp_path):
    layout, root = layout_factory(tag="v1")
    dest = f"docker://{secured.host}/skopeo/app:v1"
    _skopeo("copy", "--preserve-digests", "--dest-tls-verify=false", "--dest-creds", f"ci:{PASSWORD}",
            f"oci:{layout}:v1", dest)
    assert client.manifest_exists("skopeo/app", "v1") == root["digest"]
    raw = _skopeo("inspect", "--raw", "--tls-verify=false", "--creds", f"ci:{PASSWORD}", dest)
    assert "sha256:" + hashlib.sha256(raw.encode()).hexdigest() == root["digest"]
    out = tmp_path / "out"
    _skopeo("copy", "--preserve-digests", "--src-tls-verify=false", "--src-creds", f"ci:{PASSWORD}",
            dest, f"oci:{out}:v1")
    index = json.loads((out / "index.json").read_text())
    assert index["manifests"][0]["digest"] == root["digest"]
    assert {p.name for p in (out / "blobs/sha256").iterdir()} == {p.name for p in (layout / "blobs/sha256").iterdir()}


def test_skopeo_with_wrong_credentials_is_refused(secured, layout_factory):
    layout, _ = layout_factory(tag="v1")
    proc = subprocess.run(["skopeo", "--insecure-policy", "copy", "--dest-tls-verify=false",
                           "--dest-creds", "ci:wrong", f"oci:{layout}:v1",
                           f"docker://{secured.host}/skopeo/denied:v1"], capture_output=True, text=True, timeout=60)
    assert proc.returncode != 0 and ("unauthorized" in proc.stderr.lower() or "401" in proc.stderr)


def test_oras_push_pull_with_referrer(secured, client, tmp_path, monkeypatch):
    import oras.client
    import oras.oci

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DOCKER_CONFIG", str(tmp_path / "docker"))
    Path("artifact.txt").write_text("hello from oras\n")
    Path("sbom.json").write_text('{"spdxVersion": "SPDX-2.3"}')
    oras_client = oras.client.OrasClient(hostname=secured.host, insecure=True)
    oras_client.auth.set_basic_auth("ci", PASSWORD)
    target = f"{secured.host}/oras/artifact:v1"
    response = oras_client.push(target=target, files=["artifact.txt"], quiet=True)
    assert response.status_code == 201
    subject_digest = client.manifest_exists("oras/artifact", "v1")
    subject_manifest = client.get_manifest("oras/artifact", "v1")
    subject = oras.oci.Subject(mediaType=subject_manifest.media_type, digest=subject_digest,
                               size=len(subject_manifest.data))
    referrer = oras_client.push(target=f"{secured.host}/oras/artifact:sbom", files=["sbom.json:application/spdx+json"],
                                subject=subject, manifest_config="/dev/null:application/vnd.example.sbom", quiet=True)
    assert referrer.status_code == 201 and referrer.headers["OCI-Subject"] == subject_digest
    referrers = client.referrers("oras/artifact", subject_digest)
    assert [r["artifactType"] for r in referrers] == ["application/vnd.example.sbom"]
    Path("artifact.txt").unlink()
    files = oras_client.pull(target=target, outdir=str(tmp_path / "pulled"))
    assert Path(files[0]).read_text() == "hello from oras\n"


def test_helm_sdk_push_and_pull_chart_as_oci_artifact(secured, client, tmp_path):
    import helm_python

    chart = tmp_path / "demo"
    (chart / "templates").mkdir(parents=True)
    (chart / "Chart.yaml").write_text("apiVersion: v2\nname: demo\nversion: 0.3.1\nappVersion: \"1.0\"\n")
    (chart / "values.yaml").write_text("replicas: 2\n")
    (chart / "templates" / "cm.yaml").write_text(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: demo\ndata:\n  r: \"{{ .Values.replicas }}\"\n")
    archive = helm_python.package(chart, destination=tmp_path)
    helm_client = helm_python.RegistryClient(plain_http=True, credentials_file=tmp_path / "helm-creds.json")
    helm_client.login(secured.host, "ci", PASSWORD, plain_http=True)
    pushed = helm_python.push(archive, f"oci://{secured.host}/charts", client=helm_client, plain_http=True)
    assert pushed
    manifest = json.loads(client.get_manifest("charts/demo", "0.3.1").data)
    assert manifest["config"]["mediaType"] == "application/vnd.cncf.helm.config.v1+json"
    assert manifest["layers"][0]["mediaType"] == "application/vnd.cncf.helm.chart.content.v1.tar+gzip"
    out = tmp_path / "pulled"
    out.mkdir()
    helm_python.pull(f"oci://{secured.host}/charts/demo", client=helm_client, destination=out,
                     version="0.3.1", plain_http=True)
    assert (out / "demo-0.3.1.tgz").read_bytes() == Path(archive).read_bytes()
    shown = helm_client.show(f"oci://{secured.host}/charts/demo:0.3.1", output_format="chart",
                             plain_http=True)
    assert "name: demo" in shown
    # what an install from oci:// would apply, rendered offline by Helm from the pulled archive
    pulled_chart = helm_python.Chart.load_archive((out / "demo-0.3.1.tgz").read_bytes())
    rendered = pulled_chart.render({"replicas": 5}, name="demo", namespace="default", is_install=True)
    assert 'r: "5"' in rendered["demo/templates/cm.yaml"]


def test_skopeo_copies_a_multi_platform_index(secured, client, index_layout):
    layout, root = index_layout
    _skopeo("copy", "--all", "--preserve-digests", "--dest-tls-verify=false", "--dest-creds", f"ci:{PASSWORD}",
            f"oci:{layout}:multi", f"docker://{secured.host}/skopeo/multi:1")
    got = client.get_manifest("skopeo/multi", "1")
    assert got.digest == root["digest"] and got.media_type == "application/vnd.oci.image.index.v1+json"
    for child in json.loads(got.data)["manifests"]:
        assert client.manifest_exists("skopeo/multi", child["digest"]) == child["digest"]
