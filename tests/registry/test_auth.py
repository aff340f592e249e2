"""Token auth: challenge → token endpoint → scoped, signed, expiring tokens; login-password."""

import base64
import time

import httpx
import pytest

from shiplane.registry import Credentials, EmbeddedRegistry, MemoryStorage, RegistryApiError, RegistryClient
from shiplane.registry.auth import AuthConfig, TokenAuth, User, issue_login_password, load_auth_config
from shiplane.registry.policy import PULL_ACTIONS, Effect, PrincipalKind, RepositoryPolicy, Statement
from shiplane.registry.tokens import SigningKey

LOGIN = frozenset({"ecr:GetAuthorizationToken"})
CONFIG = AuthConfig(
    users=(User("alice", "alice-pw"), User("bob", "bob-pw")),
    policies=(
        RepositoryPolicy("team/*", (
            Statement(Effect.ALLOW, ("ci",), frozenset({"ecr:*"})),
            Statement(Effect.ALLOW, ("kind:node", "bob"), PULL_ACTIONS | LOGIN),
            Statement(Effect.ALLOW, ("alice",), frozenset({"ecr:*"})),
        )),
    ),
    principal_kinds={"ci": PrincipalKind.CI},
)


class Clock:
    def __init__(self):
        self.now = 1_800_000_000.0

    def __call__(self):
        return self.now


@pytest.fixture(scope="module")
def key():
    return SigningKey.generate()


@pytest.fixture(scope="module")
def clock():
    return Clock()


@pytest.fixture(scope="module")
def secured(key, clock):
    auth = TokenAuth(CONFIG, key, clock=clock)
    with EmbeddedRegistry(MemoryStorage(), auth=auth) as registry:
        yield registry


def _client(registry, user, password):
    return RegistryClient(registry.host, credentials=Credentials(user, password), backoff=0.01)


def test_challenge_names_realm_service_scope(secured):
    r = httpx.get(f"{secured.url}/v2/team/app/tags/list")
    assert r.status_code == 401 and r.json()["errors"][0]["code"] == "UNAUTHORIZED"
    challenge = r.headers["www-authenticate"]
    assert challenge.startswith(f'Bearer realm="{secured.url}/token",service="shiplane-registry"')
    assert 'scope="repository:team/app:pull"' in challenge


def test_push_and_pull_with_tokens(secured):
    with _client(secured, "alice", "alice-pw") as alice:
        alice.push_blob("team/app", b"layer")
        assert alice.pull_blob("team/app", alice.push_blob("team/app", b"layer")[0]) == b"layer"


def test_wrong_password_and_anonymous_are_refused(secured):
    with _client(secured, "alice", "nope") as client, pytest.raises(RegistryApiError) as wrong:
        client.blob_exists("team/app", "sha256:" + "0" * 64)
    assert wrong.value.code == "UNAUTHORIZED"
    with RegistryClient(secured.host, resolve=False) as anonymous, pytest.raises(RegistryApiError) as anon:
        anonymous.list_tags("team/app")
    assert anon.value.code in ("UNAUTHORIZED", "DENIED")


def test_pull_only_principal_cannot_push(secured):
    with _client(secured, "alice", "alice-pw") as alice:
        digest, _ = alice.push_blob("team/app", b"for bob")
    with _client(secured, "bob", "bob-pw") as bob:
        assert bob.pull_blob("team/app", digest) == b"for bob"
        with pytest.raises(RegistryApiError) as denied:
            bob.push_blob("team/app", b"bob's layer")
        assert denied.value.code == "DENIED" and denied.value.status == 403


def test_token_scoped_per_repository(secured):
    token = httpx.get(f"{secured.url}/token", params={"service": "shiplane-registry",
                                                      "scope": "repository:team/one:pull,push"},
                      auth=("alice", "alice-pw")).json()["token"]
    headers = {"Authorization": f"Bearer {token}"}
    assert httpx.post(f"{secured.url}/v2/team/one/blobs/uploads/", headers=headers).status_code == 202
    other = httpx.post(f"{secured.url}/v2/team/two/blobs/uploads/", headers=headers)
    assert other.status_code == 401 and 'error="insufficient_scope"' in other.headers["www-authenticate"]
    outside = httpx.get(f"{secured.url}/token", params={"service": "shiplane-registry",
                                                        "scope": "repository:other/x:pull,push"},
                        auth=("alice", "alice-pw")).json()["token"]
    r = httpx.post(f"{secured.url}/v2/other/x/blobs/uploads/", headers={"Authorization": f"Bearer {outside}"})
    assert r.status_code == 403 and r.json()["errors"][0]["code"] == "DENIED"
    r = httpx.post(f"{secured.url}/v2/other/x/blobs/uploads/?digest={'sha256:' + '0' * 64}",
                   headers={"Authorization": f"Bearer {outside}"}, content=b"sneaky")
    assert r.status_code == 403
    assert "other/x" not in secured.storage.repositories()
    assert all(u.repository != "other/x" for u in secured.storage.list_uploads())


def test_expired_and_forged_tokens(secured, clock):
    token = httpx.get(f"{secured.url}/token", params={"service": "shiplane-registry",
                                                      "scope": "repository:team/exp:pull"},
                      auth=("alice", "alice-pw")).json()["token"]
    url = f"{secured.url}/v2/team/exp/tags/list"
    assert httpx.get(url, headers={"Authorization": f"Bearer {token}"}).status_code == 404  # valid: NAME_UNKNOWN
    header, claims, signature = token.split(".")
    forged_claims = base64.urlsafe_b64encode(
        base64.urlsafe_b64decode(claims + "==").replace(b'"alice"', b'"admin"')).rstrip(b"=").decode()
    forged = httpx.get(url, headers={"Authorization": f"Bearer {header}.{forged_claims}.{signature}"})
    assert forged.status_code == 401 and 'error="invalid_token"' in forged.headers["www-authenticate"]
    clock.now += 3600
    try:
        expired = httpx.get(url, headers={"Authorization": f"Bearer {token}"})
        assert expired.status_code == 401 and "expired" in expired.json()["errors"][0]["message"]
        # the client simply fetches a fresh token (token expiry during long pushes, moby #33558)
        with _client(secured, "alice", "alice-pw") as alice:
            alice.push_blob("team/exp", b"after expiry")
    finally:
        clock.now -= 3600


def test_login_password_lasts_twelve_hours(secured, key, clock):
    password = issue_login_password(key, "ci", now=clock.now, kind=PrincipalKind.CI)
    with _client(secured, "AWS", password) as ci:
        ci.push_blob("team/ci", b"from ci")
    clock.now += 11 * 3600
    try:
        with _client(secured, "AWS", password) as ci:
            ci.push_blob("team/ci", b"still valid")
        clock.now += 2 * 3600
        with _client(secured, "AWS", password) as ci, pytest.raises(RegistryApiError) as expired:
            ci.push_blob("team/ci", b"too late")
        assert expired.value.code == "UNAUTHORIZED" and "expired" in expired.value.message
    finally:
        clock.now -= 13 * 3600


def test_anonymous_pull_when_enabled(key):
    config = AuthConfig(users=(User("alice", "pw"),), anonymous_pull=True, policies=CONFIG.policies)
    with EmbeddedRegistry(MemoryStorage(), auth=TokenAuth(config, key)) as registry:
        with _client(registry, "alice", "pw") as alice:
            digest, _ = alice.push_blob("team/pub", b"public")
        with RegistryClient(registry.host, resolve=False) as anonymous:
            assert anonymous.pull_blob("team/pub", digest) == b"public"
            with pytest.raises(RegistryApiError) as denied:
                anonymous.push_blob("team/pub", b"no")
            assert denied.value.code == "DENIED"


def test_load_auth_config(tmp_path):
    path = tmp_path / "auth.yaml"
    path.write_text(
        "anonymous_pull: true\nusers: [{name: alice, password: pw}]\n"
        "principals: [{name: ci, kind: ci}]\n"
        "policies:\n  - repository: 'team/*'\n    statements:\n"
        "      - {effect: Allow, principals: [ci], actions: ['ecr:PutImage', 'ecr:GetAuthorizationToken']}\n")
    config = load_auth_config(path)
    assert config.anonymous_pull and config.users[0].name == "alice"
    assert config.kind_of("ci") is PrincipalKind.CI
    path.write_text("policies: [{repository: x, statements: [{actions: ['ecr:Fly']}]}]\n")
    with pytest.raises(Exception, match="unknown action"):
        load_auth_config(path)


def test_signing_key_persists(tmp_path):
    first = SigningKey.load_or_create(tmp_path / "k.pem")
    second = SigningKey.load_or_create(tmp_path / "k.pem")
    token = issue_login_password(first, "ci")
    assert second.verify(token, audience="shiplane-registry", now=time.time(), kind="login").subject == "ci"
    assert (tmp_path / "k.pem").stat().st_mode & 0o777 == 0o600


def test_ecr_style_basic_auth_with_login_password(key, tmp_path, layout_factory):
    """ECR's scheme: Basic challenge, AWS + 12-hour password on each request, ECR actions checked."""
    import subprocess

    from shiplane.registry import push_oci_layout
    from shiplane.registry.auth import BasicAuth

    config = AuthConfig(policies=(RepositoryPolicy("svc/*", (
        Statement(Effect.ALLOW, ("ci",), frozenset({"ecr:*"})),
        Statement(Effect.ALLOW, ("kind:node",), PULL_ACTIONS | LOGIN))),))
    with EmbeddedRegistry(MemoryStorage(), auth=BasicAuth(config, key)) as registry:
        r = httpx.get(f"{registry.url}/v2/")
        assert r.status_code == 401 and r.headers["www-authenticate"].startswith("Basic realm=")
        ci_password = issue_login_password(key, "ci", kind=PrincipalKind.CI)
        node_password = issue_login_password(key, "node-1", kind=PrincipalKind.NODE)
        layout, root = layout_factory()
        with _client(registry, "AWS", ci_password) as ci:
            assert push_oci_layout(layout, f"{registry.host}/svc/api:1", client=ci).digest == root["digest"]
        with _client(registry, "AWS", node_password) as node:
            assert node.get_manifest("svc/api", "1").digest == root["digest"]
            with pytest.raises(RegistryApiError) as denied:
                node.push_blob("svc/api", b"nodes do not push")
            assert denied.value.code == "DENIED" and "ecr:InitiateLayerUpload" in denied.value.message
        out = tmp_path / "skopeo-out"
        proc = subprocess.run(["skopeo", "--insecure-policy", "copy", "--src-tls-verify=false",
                               "--src-creds", f"AWS:{node_password}", f"docker://{registry.host}/svc/api:1",
                               f"oci:{out}:1"], capture_output=True, text=True, timeout=60)
        assert proc.returncode == 0, proc.stderr
