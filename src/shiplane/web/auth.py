"""Who may act on the dashboard: users with bearer tokens, authorisation, CSRF.

Theory of operation. Reading is open (the dashboard is read-only by default). An
action — sync, rollback, approve, reject — needs a user: a bearer token
(``Authorization: Bearer T`` for API clients; the browser's sign-in form keeps it
in an HttpOnly, SameSite=Strict cookie) looked up in the users file
``<state dir>/web/users.yaml``::

    users:
      alice:
        token_sha256: 5e88...        # sha256 of the token; the token itself is never stored
        actions: [sync, rollback, approve, reject]   # optional; default: all of them

The user's name is the identity the libraries record, exactly as the CLI's
``--user``: ``Promoted-by`` / ``Approved-by`` trailers, ``initiatedBy.username`` of a
sync. :func:`authorise` is the pure decision: a user must be known, the action must
be one of theirs, and a promotion is never approved by its author (what
``shiplane promote approve`` enforces too; prod needs an approval by someone else).

Form posts are CSRF-safe two ways: the ``Origin`` (or ``Referer``) must be this
server, and the form carries ``csrf`` = HMAC(server secret, token), which a page
of another origin cannot compute.
"""

from __future__ import annotations

import enum
import hashlib
import hmac
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import yaml

from shiplane.web.errors import CsrfRejected, NotAllowed, NotSignedIn, UsersFileInvalid

__all__ = [
    "Action",
    "User",
    "Users",
    "add_user",
    "authorise",
    "csrf_token",
    "hash_token",
    "same_origin",
    "users_file",
]

USERS_FILE = Path("web") / "users.yaml"


class Action(str, enum.Enum):
    SYNC = "sync"
    ROLLBACK = "rollback"
    APPROVE = "approve"
    REJECT = "reject"


ALL_ACTIONS = frozenset(Action)


@dataclass(frozen=True)
class User:
    name: str
    actions: frozenset[Action] = ALL_ACTIONS


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def users_file(state_dir: Path) -> Path:
    return Path(state_dir) / USERS_FILE


@dataclass(frozen=True)
class Users:
    """Token hash -> user (as read from the users file)."""

    by_token_hash: Mapping[str, User]

    @classmethod
    def empty(cls) -> Users:
        return cls({})

    @classmethod
    def parse(cls, data: object, source: str = "users file") -> Users:
        if data is None:
            return cls.empty()
        if not isinstance(data, Mapping) or not isinstance(data.get("users") or {}, Mapping):
            raise UsersFileInvalid(f"{source}: expected a mapping 'users: {{name: {{...}}}}'")
        out: dict[str, User] = {}
        for name, entry in (data.get("users") or {}).items():
            if not isinstance(entry, Mapping) or not isinstance(entry.get("token_sha256"), str):
                raise UsersFileInvalid(f"{source}: user {name!r} has no token_sha256")
            digest = entry["token_sha256"].lower()
            if len(digest) != 64 or any(c not in "0123456789abcdef" for c in digest):
                raise UsersFileInvalid(f"{source}: user {name!r}: token_sha256 is not a "
                                       "sha256 hex digest")
            actions = entry.get("actions")
            try:
                allowed = ALL_ACTIONS if actions is None else frozenset(
                    Action(a) for a in actions)
            except (ValueError, TypeError):
                raise UsersFileInvalid(
                    f"{source}: user {name!r}: actions must be among "
                    f"{', '.join(a.value for a in Action)}") from None
            out[digest] = User(str(name), allowed)
        return cls(out)

    @classmethod
    def load(cls, path: Path) -> Users:
        """The users of ``path``; none when it does not exist (nobody can act)."""
        if not path.is_file():
            return cls.empty()
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8"))
        except (OSError, yaml.YAMLError) as error:
            raise UsersFileInvalid(f"{path}: cannot be read: {error}") from None
        return cls.parse(data, str(path))

    def identify(self, token: str | None) -> User | None:
        if not token:
            return None
        wanted = hash_token(token)
        for digest, user in self.by_token_hash.items():
            if hmac.compare_digest(digest, wanted):
                return user
        return None


def add_user(path: Path, name: str, actions: list[str] | None = None) -> str:
    """Add (or re-key) ``name`` in the users file; returns the new token (shown once)."""
    data: dict = {}
    if path.is_file():
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        Users.parse(data, str(path))  # refuse to extend a broken file
    if not name or not name.replace("-", "").replace("_", "").replace(".", "").isalnum():
        raise UsersFileInvalid(f"user name {name!r}: use letters, digits, '-', '_' or '.'")
    token = secrets.token_urlsafe(24)
    entry: dict = {"token_sha256": hash_token(token)}
    if actions:
        entry["actions"] = [Action(a).value for a in actions]
    data.setdefault("users", {})[name] = entry
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(".tmp")
    temporary.write_text(yaml.safe_dump(data, sort_keys=True), encoding="utf-8")
    temporary.chmod(0o600)
    temporary.replace(path)
    return token


def authorise(user: User | None, action: Action, *, author: str | None = None) -> User:
    """The user when they may perform ``action``; NotSignedIn / NotAllowed otherwise.

    ``author`` is who proposed the promotion being approved.
    """
    if user is None:
        raise NotSignedIn(f"{action.value} needs a signed-in user",
                          hint="sign in with your token (shiplane ui add-user NAME makes one)")
    if action not in user.actions:
        raise NotAllowed(f"{user.name} may not {action.value}",
                         hint=f"{user.name} may: "
                              + (", ".join(sorted(a.value for a in user.actions)) or "nothing"))
    if action is Action.APPROVE and author is not None and author == user.name:
        raise NotAllowed(f"{user.name} proposed this promotion and cannot approve it too",
                         hint="someone other than the author must approve")
    return user


def csrf_token(secret: bytes, token: str) -> str:
    return hmac.new(secret, b"csrf:" + token.encode(), hashlib.sha256).hexdigest()


def same_origin(headers: Mapping[str, str], host: str) -> bool:
    """Origin (else Referer) names ``host``; a post with neither is not from a page of ours."""
    source = headers.get("origin") or headers.get("referer")
    if not source or source == "null":
        return False
    rest = source.split("://", 1)[-1]
    return rest.split("/", 1)[0] == host


def check_form(headers: Mapping[str, str], host: str, form_csrf: str | None, secret: bytes,
               token: str) -> None:
    if not same_origin(headers, host):
        raise CsrfRejected("form posted from another origin (or without Origin/Referer)")
    if not form_csrf or not hmac.compare_digest(form_csrf, csrf_token(secret, token)):
        raise CsrfRejected("the form's CSRF token is missing or wrong",
                           hint="reload the page and try again")
