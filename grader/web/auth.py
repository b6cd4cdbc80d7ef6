"""Roster tokens: who may submit, and who may use the instructor routes.

The roster holds (student id, role, token hash).  A token is 32 random bytes from
:func:`secrets.token_urlsafe` (43 URL-safe characters) and is shown once, when it is
made; the store keeps only its SHA-256.  A fast hash is enough here, and a slow one
(bcrypt, argon2) would buy nothing: slow hashes protect *low-entropy* secrets such as
passwords from guessing after a database leak, but a 256-bit random token cannot be
guessed at any hashing speed, while a slow hash would add tens of milliseconds to every
request.  A request presents ``Authorization: Bearer <token>``; the token's hash is
looked up (an index lookup on a hash the caller cannot choose the preimage of, so its
timing tells nothing useful) and compared with :func:`hmac.compare_digest`.

Re-adding a student id gives it a new token and makes the old one useless at once.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass

from grader.web.errors import BadRequest, Conflict, NotFound
from grader.web.records import Role, RosterEntry
from grader.web.store import Store

TOKEN_BYTES = 32
MAX_TOKEN_LENGTH = 128
#: The stored token hash of a revoked entry starts so (a real hash is hex, so none matches it).
REVOKED_PREFIX = "revoked:"
# Student ids are shown in pages, CSV files and logs: printable, no spaces, at most 64 characters.
_STUDENT_ID = re.compile(r"^[^\s\x00-\x1f\x7f]{1,64}$")


@dataclass(frozen=True)
class Principal:
    """The caller a valid token stands for."""

    student_id: str
    role: Role

    @property
    def is_instructor(self) -> bool:
        return self.role is Role.INSTRUCTOR


def new_token() -> str:
    return secrets.token_urlsafe(TOKEN_BYTES)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def check_student_id(student_id: object) -> str:
    """The student id, if it is usable (printable, no whitespace, 1 to 64 characters)."""
    if not isinstance(student_id, str) or not _STUDENT_ID.match(student_id):
        raise BadRequest("student_id: expected 1 to 64 printable characters without spaces")
    return student_id


def bearer_token(authorization: str | None) -> str | None:
    """The token of an ``Authorization: Bearer <token>`` header, or ``None``."""
    if not authorization:
        return None
    scheme, _, token = authorization.strip().partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token or len(token) > MAX_TOKEN_LENGTH:
        return None
    return token


class Roster:
    """Tokens on top of the store's roster table."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def add(self, student_id: str, role: Role = Role.STUDENT) -> str:
        """Put ``student_id`` on the roster with ``role`` and return its new token (shown once)."""
        check_student_id(student_id)
        token = new_token()
        self.store.put_roster_entry(student_id, Role(role), token_hash(token))
        return token

    def register(self, student_id: str) -> str:
        """Self-registration of a student (open registration only): a new token, or :class:`Conflict`."""
        check_student_id(student_id)
        token = new_token()
        if not self.store.add_roster_entry_if_absent(student_id, Role.STUDENT, token_hash(token)):
            raise Conflict(f"student id {student_id!r} is already registered; ask your instructor for its token")
        return token

    def reissue(self, student_id: str) -> str:
        """A new token for someone on the roster (same role); the old token stops working at once."""
        entry = self._entry(student_id)
        return self.add(entry.student_id, entry.role)

    def revoke(self, student_id: str) -> None:
        """Take away someone's token: their submissions stay, nobody can log in as them until a
        reissue.  The stored hash becomes a value no token hashes to (hashes are hex)."""
        entry = self._entry(student_id)
        self.store.put_roster_entry(entry.student_id, entry.role, REVOKED_PREFIX + new_token())

    def _entry(self, student_id: str) -> RosterEntry:
        entry = next((e for e in self.store.roster() if e.student_id == student_id), None)
        if entry is None:
            raise NotFound(f"{student_id!r} is not on the roster")
        return entry

    def authenticate(self, token: str | None) -> Principal | None:
        """The principal of a token, or ``None`` for a missing or unknown token."""
        if not token or len(token) > MAX_TOKEN_LENGTH:
            return None
        presented = token_hash(token)
        entry = self.store.roster_entry_by_token_hash(presented)
        if entry is None or not hmac.compare_digest(entry.token_hash, presented):
            return None
        return Principal(entry.student_id, entry.role)
