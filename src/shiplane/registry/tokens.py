"""Signed, expiring registry tokens (JWT shape, Ed25519 via ``cryptography``) — no I/O.

Two kinds share one signing key:

* **access tokens** (Docker token auth, distribution ``docs/spec/auth/jwt.md``):
  claims ``iss, sub, aud, iat, nbf, exp, jti`` and ``access`` = a list of
  ``{"type": "repository", "name": …, "actions": [...]}``; short-lived (5 min).
* **login passwords** (``shiplane registry login-password``, like ``aws ecr
  get-login-password``): claim ``kind: "login"``, valid 12 hours, presented as
  the basic-auth password of user ``AWS`` at the token endpoint.

Verification checks the signature, ``aud``, ``nbf``/``exp`` (with 30 s leeway
for clock skew) and the kind.
"""

from __future__ import annotations

import base64
import json
import os
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from shiplane.registry.errors import CredentialsError

__all__ = [
    "LOGIN_PASSWORD_TTL",
    "SigningKey",
    "TokenClaims",
    "TokenInvalid",
]

LOGIN_PASSWORD_TTL = 12 * 3600
ACCESS_TOKEN_TTL = 300
LEEWAY = 30


class TokenInvalid(CredentialsError):
    """A token's signature, audience, kind or lifetime does not check out."""


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass(frozen=True, slots=True)
class TokenClaims:
    subject: str
    audience: str
    issued_at: float
    expires_at: float
    kind: str
    access: tuple[tuple[str, str, tuple[str, ...]], ...]  # (type, name, actions)
    principal_kind: str = "user"

    def actions_for(self, type_: str, name: str) -> tuple[str, ...] | None:
        """Granted actions on a resource, or None if the token does not mention it."""
        found = None
        for t, n, actions in self.access:
            if t == type_ and n == name:
                found = tuple(sorted(set(found or ()) | set(actions)))
        return found


class SigningKey:
    """An Ed25519 key that signs and verifies tokens."""

    def __init__(self, private_key: Ed25519PrivateKey, issuer: str = "shiplane-registry") -> None:
        self._key = private_key
        self._public = private_key.public_key()
        self.issuer = issuer
        raw = self._public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        self.key_id = _b64(raw)[:16]

    @classmethod
    def generate(cls) -> "SigningKey":
        return cls(Ed25519PrivateKey.generate())

    @classmethod
    def load_or_create(cls, path: Path) -> "SigningKey":
        """The key in ``path`` (PEM), created with mode 0600 on first use."""
        try:
            pem = path.read_bytes()
        except FileNotFoundError:
            key = Ed25519PrivateKey.generate()
            pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                    serialization.NoEncryption())
            path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as handle:
                handle.write(pem)
            return cls(key)
        loaded = serialization.load_pem_private_key(pem, password=None)
        if not isinstance(loaded, Ed25519PrivateKey):
            raise CredentialsError(f"{path} is not an Ed25519 private key")
        return cls(loaded)

    def sign(self, claims: dict[str, Any]) -> str:
        header = {"alg": "EdDSA", "typ": "JWT", "kid": self.key_id}
        signing_input = f"{_b64(json.dumps(header).encode())}.{_b64(json.dumps(claims, separators=(',', ':')).encode())}"
        return f"{signing_input}.{_b64(self._key.sign(signing_input.encode()))}"

    def issue(self, subject: str, *, audience: str, now: float, ttl: float, kind: str,
              access: list[dict[str, Any]] | None = None, principal_kind: str = "user") -> str:
        claims = {"iss": self.issuer, "sub": subject, "aud": audience, "iat": int(now),
                  "nbf": int(now), "exp": int(now + ttl), "jti": uuid.uuid4().hex, "kind": kind,
                  "pk": principal_kind, "access": access or []}
        return self.sign(claims)

    def verify(self, token: str, *, audience: str, now: float, kind: str) -> TokenClaims:
        parts = token.split(".")
        if len(parts) != 3:
            raise TokenInvalid("token is not a signed JWT")
        try:
            self._public.verify(_unb64(parts[2]), f"{parts[0]}.{parts[1]}".encode())
            claims = json.loads(_unb64(parts[1]))
        except (InvalidSignature, ValueError):
            raise TokenInvalid("token signature does not verify") from None
        if claims.get("iss") != self.issuer or claims.get("aud") != audience:
            raise TokenInvalid("token was issued for another registry")
        if claims.get("kind") != kind:
            raise TokenInvalid(f"a {claims.get('kind')} token cannot be used as a {kind} token")
        if now + LEEWAY < claims.get("nbf", 0):
            raise TokenInvalid("token is not valid yet")
        if now - LEEWAY >= claims.get("exp", 0):
            raise TokenInvalid("token has expired", hint="get a new one (shiplane registry login-password)")
        access = tuple(
            (str(a.get("type")), str(a.get("name")), tuple(a.get("actions") or ()))
            for a in claims.get("access", []) if isinstance(a, dict))
        return TokenClaims(str(claims["sub"]), audience, float(claims["iat"]), float(claims["exp"]),
                           kind, access, str(claims.get("pk", "user")))
