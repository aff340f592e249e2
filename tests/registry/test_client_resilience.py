"""Client behaviour that needs a misbehaving or remote registry: retries, ECR quirks,
credentials from the Docker config file and from ECR (moto)."""

import base64
import hashlib
import json

import httpx
import pytest

from shiplane.registry import (
    Credentials,
    CredentialsError,
    RegistryApiError,
    RegistryClient,
    RegistryUnreachable,
    docker_config_credentials,
    ecr_credentials,
    parse_ecr_host,
    resolve_credentials,
)


class FaultInjector(httpx.BaseTransport):
    """Sits in front of a real registry and alters some answers (status by rule)."""

    def __init__(self, rules):
        self.inner = httpx.HTTPTransport()
        self.rules = rules  # list of (method, path-substring, remaining count, status)
        self.seen = []

    def handle_request(self, request):
        self.seen.append((request.method, request.url.path))
        for rule in self.rules:
            method, fragment, remaining, status = rule
            if remaining and request.method == method and fragment in request.url.path:
                rule[2] -= 1
                if status in (201,):  # rewrite a real answer's status (ECR's PATCH quirk)
                    real = self.inner.handle_request(request)
                    real.read()
                    return httpx.Response(201, headers=real.headers, content=real.content)
                request.read()
                return httpx.Response(status, headers={"Retry-After": "0"}, json={"errors": [
                    {"code": "TOOMANYREQUESTS" if status == 429 else "UNKNOWN", "message": "injected", "detail": None}]})
        return self.inner.handle_request(request)


def _d(data):
    return "sha256:" + hashlib.sha256(data).hexdigest()


def test_retries_5xx_and_429_with_backoff(embedded_registry):
    faults = FaultInjector([["PUT", "/blobs/uploads/", 2, 503], ["HEAD", "/blobs/", 1, 429],
                            ["GET", "/manifests/", 1, 502]])
    with RegistryClient(embedded_registry.host, resolve=False, transport=faults, backoff=0.001) as client:
        assert client.push_blob("retry/app", b"data") == (_d(b"data"), 4)
        assert client.pull_blob("retry/app", _d(b"data")) == b"data"
    puts = [s for s in faults.seen if s[0] == "PUT"]
    assert len(puts) == 3  # two injected 503s, then the real one


def test_gives_up_after_retries(embedded_registry):
    faults = FaultInjector([["GET", "/v2/", 99, 500]])
    with RegistryClient(embedded_registry.host, resolve=False, transport=faults, retries=2,
                        backoff=0.001) as client, pytest.raises(RegistryApiError) as error:
        client.ping()
    assert error.value.status == 500 and len(faults.seen) == 3


def test_unreachable_registry_is_our_error():
    with RegistryClient("127.0.0.1:1", resolve=False, retries=1, backoff=0.001) as client:
        with pytest.raises(RegistryUnreachable, match="127.0.0.1:1"):
            client.ping()


def test_tolerates_201_on_patch_like_ecr(embedded_registry):
    faults = FaultInjector([["PATCH", "/blobs/uploads/", 99, 201]])
    data = bytes(range(256)) * 1000
    with RegistryClient(embedded_registry.host, resolve=False, transport=faults,
                        chunk_size=64 * 1024) as client:
        assert client.push_blob("ecr/quirk", data)[0] == _d(data)
        assert client.pull_blob("ecr/quirk", _d(data)) == data
    assert sum(1 for s in faults.seen if s[0] == "PATCH") == 4


def test_honours_oci_chunk_min_length(tmp_path):
    from shiplane.registry import EmbeddedRegistry, MemoryStorage, ServerSettings

    with EmbeddedRegistry(MemoryStorage(), settings=ServerSettings(chunk_min_length=100_000)) as registry:
        faults = FaultInjector([])
        with RegistryClient(registry.host, resolve=False, transport=faults, chunk_size=10_000) as client:
            client.push_blob("chunks/app", b"x" * 250_000)
        assert sum(1 for s in faults.seen if s[0] == "PATCH") == 3  # 100k chunks, not 10k


def test_docker_config_credentials(tmp_path, monkeypatch):
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"auths": {
        "registry.example:5000": {"auth": base64.b64encode(b"alice:pw:with:colons").decode()},
        "https://index.docker.io/v1/": {"username": "hub", "password": "hubpw"},
        "ghcr.io": {"identitytoken": "refresh-me"}}}))
    assert docker_config_credentials("registry.example:5000", config) == Credentials("alice", "pw:with:colons")
    hub = docker_config_credentials("docker.io", config)
    assert (hub.username, hub.password) == ("hub", "hubpw")
    assert docker_config_credentials("ghcr.io", config).identity_token == "refresh-me"
    assert docker_config_credentials("other.example", config) is None
    monkeypatch.setenv("DOCKER_CONFIG", str(tmp_path))
    assert resolve_credentials("registry.example:5000").username == "alice"
    config.write_text('{"auths": {"bad.example": {"auth": "%%%"}}}')
    with pytest.raises(CredentialsError, match="base64"):
        docker_config_credentials("bad.example", config)


def test_docker_config_credentials_used_for_token_flow(tmp_path, monkeypatch):
    from shiplane.registry import EmbeddedRegistry, MemoryStorage
    from shiplane.registry.auth import AuthConfig, TokenAuth, User
    from shiplane.registry.policy import Effect, RepositoryPolicy, Statement
    from shiplane.registry.tokens import SigningKey

    config = AuthConfig(users=(User("alice", "pw"),), policies=(
        RepositoryPolicy("*", (Statement(Effect.ALLOW, ("alice",), frozenset({"ecr:*"})),)),))
    with EmbeddedRegistry(MemoryStorage(), auth=TokenAuth(config, SigningKey.generate())) as registry:
        (tmp_path / "config.json").write_text(json.dumps({"auths": {registry.host: {
            "auth": base64.b64encode(b"alice:pw").decode()}}}))
        monkeypatch.setenv("DOCKER_CONFIG", str(tmp_path))
        with RegistryClient(registry.host) as client:
            assert client.push_blob("cfg/app", b"via docker config")[1] == 17


def test_ecr_hosts_are_recognised():
    ecr = parse_ecr_host("123456789012.dkr.ecr.eu-west-3.amazonaws.com")
    assert (ecr.account, ecr.region) == ("123456789012", "eu-west-3")
    assert parse_ecr_host("123456789012.dkr.ecr-fips.us-east-1.amazonaws.com") is None
    assert parse_ecr_host("123456789012.dkr-fips.ecr.us-east-1.amazonaws.com") is not None
    assert parse_ecr_host("ghcr.io") is None


def test_ecr_credentials_from_get_authorization_token(monkeypatch):
    import moto  # test extra; imported here because it is slow to import
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    host = "123456789012.dkr.ecr.us-east-1.amazonaws.com"
    with moto.mock_aws():
        creds = ecr_credentials(host, now=0.0)
        assert creds.username == "AWS" and creds.password
        assert creds.expires_at is not None
        assert resolve_credentials(host) == creds  # cached until shortly before expiry
    with pytest.raises(CredentialsError):
        ecr_credentials("ghcr.io")


class DropsMidChunk(httpx.BaseTransport):
    """Delivers only the first half of the second PATCH to the real registry, then drops
    the connection — the client must resume from where the registry says it is."""

    def __init__(self):
        self.inner = httpx.HTTPTransport()
        self.patches = 0
        self.status_checks = 0

    def handle_request(self, request):
        if request.method == "GET" and "/blobs/uploads/" in request.url.path:
            self.status_checks += 1
        if request.method == "PATCH":
            self.patches += 1
            if self.patches == 2:
                body = request.read()
                start = int(request.headers["content-range"].split("-")[0])
                half = body[: len(body) // 2]
                headers = dict(request.headers)
                headers["content-range"] = f"{start}-{start + len(half) - 1}"
                headers["content-length"] = str(len(half))
                self.inner.handle_request(httpx.Request("PATCH", request.url, headers=headers, content=half)).read()
                raise httpx.ReadError("connection reset by peer")
        return self.inner.handle_request(request)


def test_chunked_upload_resumes_after_a_dropped_connection(embedded_registry):
    transport = DropsMidChunk()
    data = bytes(range(256)) * 2000
    with RegistryClient(embedded_registry.host, resolve=False, transport=transport,
                        chunk_size=100_000, backoff=0.001) as client:
        assert client.push_blob("resume/app", data)[0] == _d(data)
        assert client.pull_blob("resume/app", _d(data)) == data
    assert transport.status_checks == 1  # 416 on the re-sent chunk → asked the session's Range


class CutsFirstDownload(httpx.BaseTransport):
    """The first blob GET delivers a third of the body, then the connection breaks."""

    def __init__(self):
        self.inner = httpx.HTTPTransport()
        self.ranges = []

    def handle_request(self, request):
        response = self.inner.handle_request(request)
        if request.method != "GET" or "/blobs/sha256:" not in request.url.path:
            return response
        self.ranges.append(request.headers.get("range"))
        if len(self.ranges) > 1:
            return response
        body = response.read()

        class Broken(httpx.SyncByteStream):
            def __iter__(self):
                yield body[: len(body) // 3]
                raise httpx.ReadError("connection reset")
        return httpx.Response(response.status_code, headers=response.headers, stream=Broken())


def test_pull_resumes_with_range_after_a_dropped_connection(embedded_registry, tmp_path):
    data = bytes(range(256)) * 3000
    with RegistryClient(embedded_registry.host, resolve=False) as plain:
        plain.push_blob("resume/pull", data)
    transport = CutsFirstDownload()
    with RegistryClient(embedded_registry.host, resolve=False, transport=transport, backoff=0.001) as client:
        out = client.pull_blob("resume/pull", _d(data), tmp_path / "blob")
    assert out.read_bytes() == data
    assert transport.ranges == [None, f"bytes={len(data) // 3}-"]
    assert list(tmp_path.iterdir()) == [tmp_path / "blob"]  # no temp file left behind


def test_truncated_single_post_over_a_real_socket_stores_nothing():
    import socket
    import time

    from shiplane.registry import EmbeddedRegistry, MemoryStorage

    class Recording(MemoryStorage):
        started = 0

        def start_upload(self, repository):
            Recording.started += 1
            return super().start_upload(repository)

    storage = Recording()
    body = b"z" * 1000
    with EmbeddedRegistry(storage) as registry:
        host, port = registry.host.split(":")
        with socket.create_connection((host, int(port))) as sock:
            sock.sendall((f"POST /v2/cut/app/blobs/uploads/?digest={_d(body)} HTTP/1.1\r\n"
                          f"Host: {registry.host}\r\nContent-Length: {len(body)}\r\n\r\n").encode()
                         + body[:400])
            deadline = time.monotonic() + 5
            while Recording.started == 0 and time.monotonic() < deadline:
                time.sleep(0.01)
        for _ in range(250):  # the server notices the disconnect asynchronously
            if not storage.list_uploads():
                break
            time.sleep(0.02)
        assert Recording.started == 1
        assert storage.list_uploads() == [] and storage.list_blobs() == []
