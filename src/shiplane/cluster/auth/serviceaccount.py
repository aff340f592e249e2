"""ServiceAccount tokens: JWTs signed with the cluster's service-account key (ES256).

Claims follow bound service-account tokens (k8s.io/kubernetes
``pkg/serviceaccount/claims.go``): ``iss``, ``sub`` = ``system:serviceaccount:<ns>:<name>``,
``aud``, ``iat``/``nbf``/``exp``, and the private ``kubernetes.io`` claim
``{"namespace", "serviceaccount": {"name", "uid"}}``. Verification checks the signature, the
issuer, an audience overlap, the time window (with upstream's 60 s leeway for ``nbf``), and
— through a callback — that the ServiceAccount still exists with that uid.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature, encode_dss_signature

from shiplane.cluster.auth.errors import TLSMaterialError, Unauthenticated
from shiplane.cluster.auth.user import UserInfo

__all__ = ["DEFAULT_ISSUER", "ServiceAccountTokens", "service_account_user"]

DEFAULT_ISSUER = "https://kubernetes.default.svc.cluster.local"
_LEEWAY = 60


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def service_account_user(namespace: str, name: str) -> str:
    return f"system:serviceaccount:{namespace}:{name}"


@dataclass(frozen=True)
class ServiceAccountTokens:
    """Issues and verifies tokens with one signing key."""

    key: ec.EllipticCurvePrivateKey
    issuer: str = DEFAULT_ISSUER
    audiences: tuple[str, ...] = (DEFAULT_ISSUER,)

    @classmethod
    def generate(cls, **kwargs: Any) -> ServiceAccountTokens:
        return cls(ec.generate_private_key(ec.SECP256R1()), **kwargs)

    @classmethod
    def from_pem(cls, key_pem: bytes, **kwargs: Any) -> ServiceAccountTokens:
        try:
            key = serialization.load_pem_private_key(key_pem, password=None)
        except ValueError as exc:
            raise TLSMaterialError(f"the service-account key cannot be read: {exc}") from None
        if not isinstance(key, ec.EllipticCurvePrivateKey):
            raise TLSMaterialError("the service-account key is not an ECDSA P-256 key")
        return cls(key, **kwargs)

    @property
    def key_pem(self) -> bytes:
        return self.key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                      serialization.NoEncryption())

    @property
    def key_id(self) -> str:
        der = self.key.public_key().public_bytes(serialization.Encoding.DER,
                                                 serialization.PublicFormat.SubjectPublicKeyInfo)
        return _b64(hashlib.sha256(der).digest())

    def issue(self, namespace: str, name: str, uid: str, *, now: dt.datetime | None = None,
              expiration_seconds: int = 3600, audiences: tuple[str, ...] | None = None) -> str:
        now = now or dt.datetime.now(dt.UTC)
        iat = int(now.timestamp())
        claims = {
            "aud": list(audiences or self.audiences),
            "exp": iat + expiration_seconds,
            "iat": iat,
            "iss": self.issuer,
            "kubernetes.io": {"namespace": namespace, "serviceaccount": {"name": name, "uid": uid}},
            "nbf": iat,
            "sub": service_account_user(namespace, name),
        }
        header = {"alg": "ES256", "kid": self.key_id}
        signing_input = f"{_b64(json.dumps(header, separators=(',', ':')).encode())}." \
                        f"{_b64(json.dumps(claims, separators=(',', ':')).encode())}"
        der = self.key.sign(signing_input.encode(), ec.ECDSA(hashes.SHA256()))
        r, s = decode_dss_signature(der)
        return f"{signing_input}.{_b64(r.to_bytes(32, 'big') + s.to_bytes(32, 'big'))}"

    def verify(self, token: str, *, now: dt.datetime | None = None) -> dict[str, Any]:
        """The claims of a valid token; :class:`Unauthenticated` otherwise."""
        try:
            head_b64, claims_b64, sig_b64 = token.split(".")
            header = json.loads(_unb64(head_b64))
            claims = json.loads(_unb64(claims_b64))
            signature = _unb64(sig_b64)
        except (ValueError, json.JSONDecodeError):
            raise Unauthenticated("malformed service account token") from None
        if header.get("alg") != "ES256" or len(signature) != 64:
            raise Unauthenticated("unsupported token signing algorithm")
        der = encode_dss_signature(int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:], "big"))
        try:
            self.key.public_key().verify(der, f"{head_b64}.{claims_b64}".encode(), ec.ECDSA(hashes.SHA256()))
        except InvalidSignature:
            raise Unauthenticated("service account token signature is invalid") from None
        if claims.get("iss") != self.issuer:
            raise Unauthenticated("service account token has an unknown issuer")
        audience = claims.get("aud")
        audiences = [audience] if isinstance(audience, str) else list(audience or [])
        if not set(audiences) & set(self.audiences):
            raise Unauthenticated("service account token audience is not accepted")
        stamp = int((now or dt.datetime.now(dt.UTC)).timestamp())
        if "exp" in claims and stamp > int(claims["exp"]):
            raise Unauthenticated("service account token has expired")
        if "nbf" in claims and stamp + _LEEWAY < int(claims["nbf"]):
            raise Unauthenticated("service account token is not valid yet")
        return claims

    def authenticate(self, token: str, *, exists: Callable[[str, str, str], bool] | None = None,
                     now: dt.datetime | None = None) -> UserInfo:
        claims = self.verify(token, now=now)
        private = claims.get("kubernetes.io") or {}
        namespace = private.get("namespace", "")
        sa = private.get("serviceaccount") or {}
        name, uid = sa.get("name", ""), sa.get("uid", "")
        if not namespace or not name or claims.get("sub") != service_account_user(namespace, name):
            raise Unauthenticated("service account token has inconsistent claims")
        if exists is not None and not exists(namespace, name, uid):
            raise Unauthenticated(f"service account {namespace}/{name} has been deleted")
        return UserInfo(
            service_account_user(namespace, name),
            uid,
            ("system:serviceaccounts", f"system:serviceaccounts:{namespace}"),
        ).with_authenticated()
