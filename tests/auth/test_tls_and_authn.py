"""TLS material and authentication (k8s apiserver x509 and tokenfile tests; bound SA tokens)."""

import datetime as dt
import stat

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from shiplane.cluster.auth import (
    ANONYMOUS,
    AUTHENTICATED,
    UNAUTHENTICATED,
    CertificateAuthority,
    InvalidTokenFile,
    RequestCredentials,
    ServiceAccountTokens,
    TLSMaterialError,
    Unauthenticated,
    authenticate,
    parse_token_file,
    user_from_certificate,
    write_private,
    write_public,
)

NOW = dt.datetime(2026, 6, 1, tzinfo=dt.UTC)


@pytest.fixture(scope="module")
def ca():
    return CertificateAuthority.create("shiplane", now=NOW)


@pytest.fixture(scope="module")
def other_ca():
    return CertificateAuthority.create("other", now=NOW)


def der(issued):
    return issued.certificate.public_bytes(serialization.Encoding.DER)


def test_ca_round_trips_through_pem(ca):
    loaded = CertificateAuthority.load(ca.cert_pem, ca.key_pem)
    assert loaded.certificate == ca.certificate
    assert ca.certificate.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    with pytest.raises(TLSMaterialError, match="cannot be read"):
        CertificateAuthority.load(b"junk", ca.key_pem)


def test_serving_certificate_names(ca):
    cert = ca.issue_serving("dev-cluster", now=NOW).certificate
    sans = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert {str(ip) for ip in sans.get_values_for_type(x509.IPAddress)} == {"127.0.0.1", "::1"}
    assert {"localhost", "dev-cluster", "kubernetes.default.svc"} <= set(sans.get_values_for_type(x509.DNSName))
    usage = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert ExtendedKeyUsageOID.SERVER_AUTH in usage
    assert cert.issuer == ca.certificate.subject


def test_client_certificate_carries_user_and_groups(ca):
    cert = ca.issue_client("alice", ["developers", "payments"], now=NOW).certificate
    assert cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == "alice"
    assert [a.value for a in cert.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)] == ["developers", "payments"]
    with pytest.raises(TLSMaterialError, match="needs a user name"):
        ca.issue_client("")


def test_keys_are_written_0600_and_certs_0644(tmp_path, ca):
    write_private(tmp_path / "pki" / "ca.key", ca.key_pem)
    write_public(tmp_path / "pki" / "ca.crt", ca.cert_pem)
    assert stat.S_IMODE((tmp_path / "pki" / "ca.key").stat().st_mode) == 0o600
    assert stat.S_IMODE((tmp_path / "pki" / "ca.crt").stat().st_mode) == 0o644
    assert (tmp_path / "pki" / "ca.key").read_bytes() == ca.key_pem
    assert [p.name for p in (tmp_path / "pki").iterdir()] != []
    assert not list((tmp_path / "pki").glob(".*tmp"))


def test_write_failure_is_reported(tmp_path, ca):
    (tmp_path / "file").write_text("x")
    with pytest.raises(TLSMaterialError, match="cannot write"):
        write_private(tmp_path / "file" / "ca.key", ca.key_pem)


def test_certificate_user(ca):
    user = user_from_certificate(der(ca.issue_client("alice", ["dev"], now=NOW)), ca.certificate, now=NOW)
    assert (user.name, user.groups) == ("alice", ("dev", AUTHENTICATED))


@pytest.mark.parametrize("case, why", [
    ("other-ca", "unknown authority"),
    ("expired", "expired or is not yet valid"),
    ("server-cert", "incompatible key usage"),
])
def test_bad_certificates(ca, other_ca, case, why):
    if case == "other-ca":
        cert, now = der(other_ca.issue_client("mallory", now=NOW)), NOW
    elif case == "expired":
        cert, now = der(ca.issue_client("alice", valid_days=1, now=NOW)), NOW + dt.timedelta(days=2)
    else:
        cert, now = der(ca.issue_serving("x", now=NOW)), NOW
    with pytest.raises(Unauthenticated) as info:
        user_from_certificate(cert, ca.certificate, now=now)
    assert why in info.value.why  # for logs; the client only ever sees "Unauthorized"
    assert info.value.status() == {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                                   "message": "Unauthorized", "reason": "Unauthorized", "code": 401}


TOKENS = '''token1,alice,1001,"developers,payments"
token2,bob,1002

token3,ci,1003,deployers
'''


def test_token_file_format():
    tokens = parse_token_file(TOKENS)
    assert tokens["token1"].name == "alice" and tokens["token1"].groups == ("developers", "payments")
    assert tokens["token2"].groups == () and tokens["token2"].uid == "1002"
    assert tokens["token3"].groups == ("deployers",)


@pytest.mark.parametrize("text, problem", [
    ("token,user\n", "line 1: must have at least 3 columns (token, user name, user uid), found 2"),
    (",user,uid\n", "line 1: the token is empty"),
])
def test_bad_token_files(text, problem):
    with pytest.raises(InvalidTokenFile, match=problem.replace("(", r"\(").replace(")", r"\)")):
        parse_token_file(text)


def test_authenticate_order_and_anonymous(ca):
    tokens = parse_token_file(TOKENS)
    user = authenticate(RequestCredentials(authorization="Bearer token1"), token_file=tokens)
    assert user.name == "alice" and AUTHENTICATED in user.groups
    anonymous = authenticate(RequestCredentials())
    assert (anonymous.name, anonymous.groups) == (ANONYMOUS, (UNAUTHENTICATED,))
    with pytest.raises(Unauthenticated):
        authenticate(RequestCredentials(authorization="Bearer nope"), token_file=tokens)
    cert = der(ca.issue_client("carol", now=NOW))
    via_cert = authenticate(RequestCredentials(client_cert_der=cert), ca=ca.certificate, now=NOW)
    assert via_cert.name == "carol"
    # a bad token is not rescued by a good certificate
    with pytest.raises(Unauthenticated):
        authenticate(RequestCredentials(client_cert_der=cert, authorization="Bearer nope"),
                     ca=ca.certificate, token_file=tokens, now=NOW)


@pytest.fixture(scope="module")
def sa_tokens():
    return ServiceAccountTokens.generate()


def test_service_account_tokens_round_trip(sa_tokens):
    token = sa_tokens.issue("argocd", "application-controller", "uid-1", now=NOW)
    claims = sa_tokens.verify(token, now=NOW)
    assert claims["sub"] == "system:serviceaccount:argocd:application-controller"
    assert claims["kubernetes.io"]["serviceaccount"] == {"name": "application-controller", "uid": "uid-1"}
    user = authenticate(RequestCredentials(authorization=f"Bearer {token}"), service_accounts=sa_tokens,
                        service_account_exists=lambda ns, name, uid: uid == "uid-1", now=NOW)
    assert user.name == "system:serviceaccount:argocd:application-controller"
    assert user.groups == ("system:serviceaccounts", "system:serviceaccounts:argocd", AUTHENTICATED)
    assert user.uid == "uid-1"
    reloaded = ServiceAccountTokens.from_pem(sa_tokens.key_pem)
    assert reloaded.verify(token, now=NOW)["iss"] == sa_tokens.issuer


def test_service_account_token_failures(sa_tokens):
    token = sa_tokens.issue("ns", "sa", "u", now=NOW, expiration_seconds=600)
    head, claims, sig = token.split(".")
    cases = [
        (token, NOW + dt.timedelta(hours=1), None, "expired"),
        (f"{head}.{claims}.{sig[:-4]}AAAA", NOW, None, "signature is invalid"),
        (ServiceAccountTokens.generate().issue("ns", "sa", "u", now=NOW), NOW, None, "signature is invalid"),
        (ServiceAccountTokens(sa_tokens.key, issuer="https://elsewhere").issue("ns", "sa", "u", now=NOW),
         NOW, None, "unknown issuer"),
        (sa_tokens.issue("ns", "sa", "u", now=NOW, audiences=("vault",)), NOW, None, "audience"),
        (token, NOW, lambda ns, name, uid: False, "ns/sa has been deleted"),
        ("a.b.c", NOW, None, "malformed"),
    ]
    for candidate, now, exists, why in cases:
        with pytest.raises(Unauthenticated) as info:
            sa_tokens.authenticate(candidate, exists=exists, now=now)
        assert why in info.value.why and str(info.value) == "Unauthorized"
