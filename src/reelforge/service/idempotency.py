"""Idempotent creates (Stripe's `Idempotency-Key`): a create retried with the same key and the
same request within 24 hours gets the first answer back and creates nothing; the same key with a
different request is refused (409, `idempotency_key_reused`). Keys are scoped per account.

What is stored: only answers that created something (2xx). Any other answer created nothing, so
its claim is released and a retry with the key runs afresh: a 4xx (a refused body, an
insufficient balance, a rate or concurrency limit) can then succeed once corrected, topped up or
waited out, and a 5xx or a crashed request does not pin a server fault for a day. (Stripe also
skips storing requests that never started executing; it stores the 5xx of those that did. Here a
refused or failed create has no side effect left to protect, so re-running it is always safe.)

The HTTP side (which routes, what "the same request" means, waiting for a racing first request)
is api/idempotency.py.
"""

from dataclasses import dataclass

from reelforge.core.errors import Conflict, InvalidRequest
from reelforge.db.idempotency import Claim, IdempotencyStore

MAX_KEY = 255  # characters, as Stripe


class KeyReused(Conflict):
    code = "idempotency_key_reused"


class KeyInUse(Conflict):
    code = "idempotency_key_in_use"


@dataclass(frozen=True)
class Answer:
    """An HTTP answer as it left the server (header names in lower case)."""

    status: int
    headers: dict[str, str]
    body: bytes


def kept(status: int) -> bool:
    """Whether an answer is stored for replay (see the module docstring)."""
    return 200 <= status < 300


class Idempotency:
    def __init__(self, store: IdempotencyStore):
        self._store = store

    def begin(self, account_id: str, key: str, request_hash: str) -> Claim | Answer | None:
        """The claim to run this request, the first answer to replay, or None while the first
        request with the key is still running. A key used with another request: KeyReused."""
        if not 0 < len(key) <= MAX_KEY:
            raise InvalidRequest(f"Idempotency-Key must be 1 to {MAX_KEY} characters")
        found = self._store.claim(account_id, key, request_hash)
        if isinstance(found, Claim):
            return found
        if found.request_hash != request_hash:
            raise KeyReused("this Idempotency-Key was already used with a different request")
        if found.status_code is None:
            return None
        return Answer(found.status_code, found.headers or {}, found.body or b"")

    def finish(self, claim: Claim, answer: Answer) -> None:
        """Store the answer of a claimed request for its retries, or release the claim."""
        if kept(answer.status):
            self._store.save(claim, answer.status, answer.body, answer.headers)
        else:
            self._store.release(claim)

    def release(self, claim: Claim) -> None:
        """Give up a claim whose request ended without an answer (an error escaped, a crash)."""
        self._store.release(claim)
