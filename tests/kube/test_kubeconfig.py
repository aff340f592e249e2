import base64
from pathlib import Path

import pytest
import yaml

from shiplane.kube import KubeconfigError, load_kubeconfig


def _write(path: Path, doc: dict) -> Path:
    path.write_text(yaml.safe_dump(doc))
    return path


def _doc(context: str, server: str, current: str | None = None, **user) -> dict:
    doc = {
        "apiVersion": "v1", "kind": "Config",
        "clusters": [{"name": context, "cluster": {"server": server}}],
        "users": [{"name": context, "user": user}],
        "contexts": [{"name": context, "context": {"cluster": context, "user": context}}],
    }
    if current:
        doc["current-context"] = current
    return doc


def test_merge_first_file_wins_for_names_and_current_context(tmp_path, monkeypatch):
    # client-go loader.go: the first file to set a map key or current-context wins.
    a = _write(tmp_path / "a", _doc("dev", "https://a.example", current="dev", token="ta"))
    b_doc = _doc("dev", "https://b.example", current="prod", token="tb")
    b_doc["clusters"].append({"name": "prod", "cluster": {"server": "https://prod.example"}})
    b_doc["contexts"].append({"name": "prod", "context": {"cluster": "prod", "user": "dev", "namespace": "pay"}})
    b = _write(tmp_path / "b", b_doc)
    monkeypatch.setenv("KUBECONFIG", f"{a}:{b}:{tmp_path / 'missing'}")
    config = load_kubeconfig()
    assert config.current_context == "dev"
    dev = config.settings()
    assert (dev.server, dev.token, dev.namespace) == ("https://a.example", "ta", "default")
    prod = config.settings("prod")
    assert (prod.server, prod.token, prod.namespace) == ("https://prod.example", "ta", "pay")


def test_relative_paths_resolve_against_the_kubeconfig_folder(tmp_path):
    (tmp_path / "certs").mkdir()
    (tmp_path / "certs" / "ca.crt").write_bytes(b"CA")
    (tmp_path / "token").write_text("from-file\n")
    doc = _doc("x", "https://x.example", current="x", tokenFile="token")
    doc["clusters"][0]["cluster"]["certificate-authority"] = "certs/ca.crt"
    doc["users"][0]["user"]["exec"] = {"apiVersion": "client.authentication.k8s.io/v1",
                                       "command": "./bin/plugin", "args": ["a"], "interactiveMode": "Never"}
    settings = load_kubeconfig(_write(tmp_path / "config", doc)).settings()
    assert settings.ca_data == b"CA"
    assert settings.token_file == tmp_path / "token"
    assert settings.exec.command == str(tmp_path / "bin" / "plugin")
    assert settings.exec.interactive_mode == "Never"


def test_data_fields_are_base64_decoded(tmp_path):
    doc = _doc("x", "https://x", current="x",
               **{"client-certificate-data": base64.b64encode(b"CERT").decode(),
                  "client-key-data": base64.b64encode(b"KEY").decode()})
    settings = load_kubeconfig(_write(tmp_path / "c", doc)).settings()
    assert (settings.client_cert_data, settings.client_key_data) == (b"CERT", b"KEY")


@pytest.mark.parametrize(
    ("mutate", "context", "message"),
    [
        (lambda d: None, "nope", "context 'nope' not found in kubeconfig (known: x)"),
        (lambda d: d.pop("current-context"), None, "no current-context"),
        (lambda d: d["contexts"][0]["context"].update(cluster="gone"), None, "names cluster 'gone'"),
        (lambda d: d["contexts"][0]["context"].update(user="ghost"), None, "names user 'ghost'"),
        (lambda d: d["users"][0]["user"].update({"client-key-data": "%%%"}), None, "not valid base64"),
        (lambda d: d["users"][0]["user"].update(exec={"command": "x"}), None, "needs 'command' and 'apiVersion'"),
    ],
)
def test_bad_kubeconfigs_are_refused_clearly(tmp_path, mutate, context, message):
    doc = _doc("x", "https://x", current="x", token="t")
    mutate(doc)
    with pytest.raises(KubeconfigError) as info:
        load_kubeconfig(_write(tmp_path / "c", doc)).settings(context)
    assert message in str(info.value)


def test_missing_files_are_an_error_naming_them(tmp_path):
    with pytest.raises(KubeconfigError, match="no kubeconfig found"):
        load_kubeconfig([tmp_path / "none"])
