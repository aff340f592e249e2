"""Authentication as pure functions over request facts.

Authenticators, tried like kube-apiserver's union (``pkg/authentication/request/union``):

* **client certificate** — already chain-verified by the TLS layer or verified here against
  the CA: CN is the user, every O a group (``x509.CommonNameUserConversion``);
* **bearer token** from the static token file (``--token-auth-file``: CSV
  ``token,user,uid,"group1,group2"``; ``pkg/authentication/token/tokenfile``);
* **bearer ServiceAccount token** — a JWT shiplane signed (:mod:`serviceaccount`), user
  ``system:serviceaccount:<ns>:<name>``, groups ``system:serviceaccounts`` and
  ``system:serviceaccounts:<ns>``.

Every authenticated user also gets ``system:authenticated``. A request without credentials
is ``system:anonymous`` in ``system:unauthenticated`` (anonymous auth is on by default and RBAC
decides). Invalid credentials raise :class:`Unauthenticated` (401 ``Unauthorized``).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from shiplane.cluster.auth.errors import InvalidTokenFile, Unauthenticated
from shiplane.cluster.auth.serviceaccount import ServiceAccountTokens
from shiplane.cluster.auth.user import ANONYMOUS, AUTHENTICATED, UNAUTHENTICATED, UserInfo

__all__ = [
    "ANONYMOUS",
    "AUTHENTICATED",
    "RequestCredentials",
    "TokenFile",
    "UNAUTHENTICATED",
    "UserInfo",
    "authenticate",
    "parse_token_file",
    "user_from_certificate",
]

@dataclass(frozen=True)
class RequestCredentials:
    """What a request presents: the peer certificate (DER, if any) and Authorization header."""

    client_cert_der: bytes | None = None
    authorization: str | None = None
    cert_chain_verified: bool = False


TokenFile = Mapping[str, UserInfo]


def parse_token_file(text: str, *, source: str = "token file") -> dict[str, UserInfo]:
    """``token,user,uid[,"group1,group2"]`` per line; blank lines skipped."""
    out: dict[str, UserInfo] = {}
    for line_no, record in enumerate(csv.reader(io.StringIO(text)), start=1):
        if not record or all(not cell.strip() for cell in record):
            continue
        if len(record) < 3:
            raise InvalidTokenFile(
                f"{source} line {line_no}: must have at least 3 columns (token, user name, "
                f"user uid), found {len(record)}"
            )
        token, user, uid = (cell.strip() for cell in record[:3])
        if not token:
            raise InvalidTokenFile(f"{source} line {line_no}: the token is empty")
        groups: tuple[str, ...] = ()
        if len(record) > 3 and record[3].strip():
            groups = tuple(g.strip() for g in record[3].split(",") if g.strip())
        out[token] = UserInfo(user, uid, groups)
    return out


def user_from_certificate(
    cert_der: bytes, ca: x509.Certificate | None = None, *, now: dt.datetime | None = None
) -> UserInfo:
    """The user a client certificate names; verified against ``ca`` when given."""
    try:
        cert = x509.load_der_x509_certificate(cert_der)
    except ValueError:
        raise Unauthenticated("client certificate is not valid DER") from None
    now = now or dt.datetime.now(dt.UTC)
    if ca is not None:
        if cert.issuer != ca.subject:
            raise Unauthenticated("x509: certificate signed by unknown authority")
        public = ca.public_key()
        try:
            if isinstance(public, ec.EllipticCurvePublicKey):
                public.verify(cert.signature, cert.tbs_certificate_bytes,
                              ec.ECDSA(cert.signature_hash_algorithm))  # type: ignore[arg-type]
            else:  # pragma: no cover - shiplane's CAs are ECDSA
                cert.verify_directly_issued_by(ca)
        except (InvalidSignature, ValueError, TypeError):
            raise Unauthenticated("x509: certificate signed by unknown authority") from None
    if now < cert.not_valid_before_utc or now > cert.not_valid_after_utc:
        raise Unauthenticated("x509: certificate has expired or is not yet valid")
    try:
        usages = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
        if ExtendedKeyUsageOID.CLIENT_AUTH not in usages and ExtendedKeyUsageOID.ANY_EXTENDED_KEY_USAGE not in usages:
            raise Unauthenticated("x509: certificate specifies an incompatible key usage")
    except x509.ExtensionNotFound:
        pass
    names = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    if not names or not str(names[0].value):
        raise Unauthenticated("x509: the certificate has no common name")
    groups = tuple(str(a.value) for a in cert.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME))
    return UserInfo(str(names[0].value), "", groups).with_authenticated()


def authenticate(
    credentials: RequestCredentials,
    *,
    ca: x509.Certificate | None = None,
    token_file: TokenFile | None = None,
    service_accounts: ServiceAccountTokens | None = None,
    service_account_exists: Callable[[str, str, str], bool] | None = None,
    now: dt.datetime | None = None,
) -> UserInfo:
    """Who is asking. Bearer tokens are tried before the certificate, as kube-apiserver's
    union lists them; an invalid token fails the request even if a certificate is present."""
    header = credentials.authorization
    if header:
        scheme, _, token = header.partition(" ")
        token = token.strip()
        if scheme.lower() == "bearer" and token:
            if token_file is not None and token in token_file:
                return token_file[token].with_authenticated()
            if service_accounts is not None and token.count(".") == 2:
                return service_accounts.authenticate(token, exists=service_account_exists, now=now)
            raise Unauthenticated("invalid bearer token")
    if credentials.client_cert_der is not None:
        return user_from_certificate(credentials.client_cert_der,
                                     None if credentials.cert_chain_verified else ca, now=now)
    return UserInfo(ANONYMOUS, "", (UNAUTHENTICATED,))
