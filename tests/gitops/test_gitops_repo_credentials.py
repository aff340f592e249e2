"""Helm repositories that need credentials, found as Argo CD finds them: Secrets labelled
``argocd.argoproj.io/secret-type: repository`` (same URL) or ``repo-creds`` (longest URL
prefix) in the ``argocd`` namespace (argo-cd ``util/db/repository_secrets.go``). An HTTP
repository behind basic auth and the embedded registry with token auth: without a Secret
the Application shows a ComparisonError naming the repository and the refusal; with one it
syncs."""

from __future__ import annotations

import base64
import functools
import http.server
import threading
from pathlib import Path

import pytest

from shiplane.charts import index_repository, package_chart
from shiplane.gitops import GitSources, SyncStatus, parse_application
from shiplane.gitops.credentials import (
    RepoCredentials,
    SecretRepositoryCredentials,
    credentials_for,
    normalize_url,
    parse_secret,
)
from shiplane.gitops.reconciler import Reconciler
from shiplane.gitops.status import MemoryStatusStore
from shiplane.kube import KubeClient
from shiplane.kube.errors import ApiError

USER, PASSWORD = "alice", "s3cret"


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def _secret(name: str, kind: str, **data: str) -> dict:
    return {"apiVersion": "v1", "kind": "Secret",
            "metadata": {"name": name, "namespace": "argocd",
                         "labels": {"argocd.argoproj.io/secret-type": kind}},
            "data": {k: _b64(v) for k, v in data.items()}}


# -- pure: which Secret serves which repoURL ----------------------------------------------
def test_parse_secret_reads_argocd_repository_secrets():
    found = parse_secret(_secret("private", "repository", url="https://charts.example.com",
                                 username=USER, password=PASSWORD, type="helm",
                                 enableOCI="true"))
    assert found == RepoCredentials("repository", "https://charts.example.com", USER, PASSWORD,
                                    "helm", enable_oci=True, source="Secret argocd/private")
    plain = {**_secret("s", "repository"), "stringData": {"url": "https://x.example"}}
    assert parse_secret(plain).url == "https://x.example"  # stringData as written
    assert parse_secret(_secret("c", "cluster", url="https://k8s.example")) is None
    assert parse_secret(_secret("no-url", "repository", username=USER)) is None


def test_credentials_for_exact_url_then_longest_repo_creds_prefix():
    # util/git/git.go NormalizeGitURL: case and .git do not matter; oci:// neither here
    assert normalize_url("OCI://Registry.example.com/Charts/") == "registry.example.com/charts"
    secrets = [
        parse_secret(_secret("org", "repo-creds", url="https://charts.example.com",
                             username="org", password="o")),
        parse_secret(_secret("team", "repo-creds", url="https://charts.example.com/team",
                             username="team", password="t")),
        parse_secret(_secret("exact", "repository", url="https://charts.example.com/team/a/",
                             username="a", password="a")),
        parse_secret(_secret("bare", "repository", url="https://charts.example.com/team/b")),
        parse_secret(_secret("oci", "repository", url="registry.example.com/charts",
                             enableOCI="true", username="r", password="r")),
        parse_secret(_secret("scoped", "repository", url="https://charts.example.com/p",
                             project="payments", username="p", password="p")),
    ]
    user = lambda url, **kw: (credentials_for(url, secrets, **kw) or  # noqa: E731
                              RepoCredentials("none", "")).username
    assert user("https://charts.example.com/team/a") == "a"  # the repository Secret
    # a repository Secret without credentials borrows them from the longest template
    assert user("https://charts.example.com/team/b") == "team"
    assert user("https://charts.example.com/team/c") == "team"
    assert user("https://charts.example.com/other") == "org"
    assert user("https://elsewhere.example.com/x") == ""
    assert user("oci://registry.example.com/charts") == "r"  # Argo CD's Helm-OCI form
    # a project-scoped Secret serves its project; other projects fall back to templates
    assert user("https://charts.example.com/p", project="payments") == "p"
    assert user("https://charts.example.com/p") == "org"


# -- on the wire: an HTTP repository behind basic auth -------------------------------------
def _chart(root: Path, version: str) -> Path:
    chart = root / f"src-{version}" / "private"
    (chart / "templates").mkdir(parents=True)
    (chart / "Chart.yaml").write_text(f"apiVersion: v2\nname: private\nversion: {version}\n")
    (chart / "templates" / "cm.yaml").write_text(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: private\n"
        f"data:\n  version: \"{version}\"\n")
    return chart


class _BasicAuthHandler(http.server.SimpleHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        if self.headers.get("Authorization") != "Basic " + _b64(f"{USER}:{PASSWORD}"):
            self.send_response(401, "Unauthorized")
            self.send_header("WWW-Authenticate", 'Basic realm="charts"')
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        super().do_GET()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def private_http_repo(tmp_path):
    repo = tmp_path / "repo"
    package_chart(_chart(tmp_path, "1.0.0"), repo)
    server = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(_BasicAuthHandler, directory=str(repo)))
    url = f"http://127.0.0.1:{server.server_address[1]}/charts"
    (repo / "charts").mkdir()
    for archive in repo.glob("*.tgz"):
        archive.rename(repo / "charts" / archive.name)
    index_repository(repo / "charts", url)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield url
    server.shutdown()
    server.server_close()


def _app(name: str, repo_url: str, version: str, namespace: str):
    return parse_application({
        "apiVersion": "argoproj.io/v1alpha1", "kind": "Application",
        "metadata": {"name": name, "namespace": "argocd"},
        "spec": {"project": "default",
                 "source": {"repoURL": repo_url, "chart": "private", "targetRevision": version},
                 "destination": {"server": "https://kubernetes.default.svc",
                                 "namespace": namespace},
                 "syncPolicy": {"automated": {}, "syncOptions": ["CreateNamespace=true"]}}})


@pytest.fixture(scope="module")
def client(kube_apiserver):
    with KubeClient.from_kubeconfig(kube_apiserver.kubeconfig) as c:
        try:
            c.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "argocd"}})
        except ApiError as error:
            if error.code != 409:
                raise
        yield c


def _reconciler(client: KubeClient) -> Reconciler:
    return Reconciler(client, GitSources({}, credentials=SecretRepositoryCredentials(client)),
                      MemoryStatusStore())


def _condition(reconciler: Reconciler, app_name: str) -> str:
    conditions = reconciler.store.load(app_name).get("conditions") or []
    assert [c["type"] for c in conditions] == ["ComparisonError"], conditions
    return conditions[0]["message"]


def test_http_repository_with_basic_auth_from_a_repository_secret(client, private_http_repo):
    reconciler = _reconciler(client)
    app = _app("private-http", private_http_repo, "1.0.0", "private-http")
    state = reconciler.reconcile(app)
    assert state.comparison.status is SyncStatus.UNKNOWN
    message = _condition(reconciler, app.name)
    assert private_http_repo in message and "401" in message, message
    assert "without credentials" in message

    client.create(_secret("private-http", "repository", url=private_http_repo, type="helm",
                          username=USER, password="wrong"))
    reconciler.reconcile(app)
    message = _condition(reconciler, app.name)
    assert "401" in message and "Secret argocd/private-http" in message, message

    client.patch("v1", "Secret", "private-http",
                 {"data": {"password": _b64(PASSWORD)}}, namespace="argocd")
    state = reconciler.reconcile(app)
    assert state.comparison.status is SyncStatus.SYNCED, state.comparison.message
    assert client.get("v1", "ConfigMap", "private", "private-http")["data"] == {"version": "1.0.0"}
    assert "conditions" not in reconciler.store.load(app.name)


# -- the embedded registry with token auth: oci:// and a repo-creds template ----------------
def test_oci_repository_with_token_auth_from_repo_creds(client, tmp_path):
    import helm_python

    from shiplane.registry import EmbeddedRegistry, MemoryStorage
    from shiplane.registry.auth import AuthConfig, TokenAuth, User
    from shiplane.registry.policy import Effect, RepositoryPolicy, Statement
    from shiplane.registry.tokens import SigningKey

    config = AuthConfig(users=(User(USER, PASSWORD),), policies=(RepositoryPolicy("*", (
        Statement(Effect.ALLOW, (USER,), frozenset({"ecr:*"})),)),))
    archive = package_chart(_chart(tmp_path, "2.0.0"), tmp_path / "dist")
    with EmbeddedRegistry(MemoryStorage(), auth=TokenAuth(config, SigningKey.generate())) as reg:
        with helm_python.RegistryClient(plain_http=True,
                                        credentials_file=tmp_path / "helm.json") as pusher:
            pusher.login(reg.host, USER, PASSWORD, plain_http=True)
            helm_python.push(archive, f"oci://{reg.host}/team/charts", client=pusher,
                             plain_http=True)
        remote = f"oci://{reg.host}/team/charts"
        reconciler = _reconciler(client)
        app = _app("private-oci", remote, "2.0.0", "private-oci")
        assert reconciler.reconcile(app).comparison.status is SyncStatus.UNKNOWN
        message = _condition(reconciler, app.name)
        assert remote in message and "denied" in message, message

        # a credential template for every repository under the registry host
        client.create(_secret("registry-creds", "repo-creds", url=f"oci://{reg.host}",
                              type="helm", enableOCI="true", username=USER,
                              password=PASSWORD))
        state = reconciler.reconcile(app)
        assert state.comparison.status is SyncStatus.SYNCED, state.comparison.message
        assert client.get("v1", "ConfigMap", "private", "private-oci")["data"] == \
            {"version": "2.0.0"}
        assert reconciler.store.load(app.name)["sync"]["revisions"] == ["2.0.0"]


def test_the_platform_workspace_reads_repository_secrets_of_its_cluster(client, platform_root):
    from shiplane.gitops.workspace import PlatformWorkspace

    reconciler = PlatformWorkspace.open(platform_root).reconciler(client)
    credentials = reconciler.sources.charts.credentials
    assert isinstance(credentials, SecretRepositoryCredentials)
    assert credentials.client is client and credentials.namespace == "argocd"
