"""Idempotency-Key rows: one per (account, key). The first request with a key claims it; its
answer is stored and replayed to every retry with the same key and body for 24 hours.

A claim is named by the moment it was made (`Claim.claimed_at`, the row's `created_at`): saving
an answer or releasing a claim is a conditional update on it, so a request whose claim was taken
over (its process looked dead) can no longer store or drop anything. A claim left unanswered for
ABANDONED belongs to a process that crashed mid-request (no create runs that long: a create's
image fetches have a 30 s deadline each); the next request with the key takes it over.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Engine, delete, insert, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import sessionmaker

from reelforge.core.clock import aware, now
from reelforge.db.tables import IdempotencyRow

KEEP = timedelta(hours=24)
ABANDONED = timedelta(minutes=5)


@dataclass(frozen=True)
class Claim:
    """The right to run the request of (account, key) and store its answer."""

    account_id: str
    key: str
    claimed_at: datetime


@dataclass(frozen=True)
class Stored:
    """What the request that holds a key left: its answer, or nothing yet (still running)."""

    request_hash: str
    claimed_at: datetime  # as read back (naive on SQLite): compared as is in conditional updates
    status_code: int | None  # None: the first request is still running
    body: bytes | None
    headers: dict[str, str] | None


class IdempotencyStore:
    def __init__(self, database: Engine):
        self._session = sessionmaker(database, expire_on_commit=False)

    def claim(self, account_id: str, key: str, request_hash: str) -> Claim | Stored:
        """Claim the key for this request, or what an earlier request with it left. Rows older
        than KEEP are forgotten first; a claim unanswered for ABANDONED is taken over."""
        at = now()
        found = self.get(account_id, key)
        if found is None or aware(found.claimed_at) < at - KEEP:
            with self._session.begin() as s:  # expired rows go when a key is claimed, not while polled
                s.execute(delete(IdempotencyRow).where(IdempotencyRow.created_at < at - KEEP))
            try:
                with self._session.begin() as s:
                    s.execute(
                        insert(IdempotencyRow).values(
                            account_id=account_id, key=key, request_hash=request_hash, created_at=at
                        )
                    )
                return Claim(account_id, key, at)
            except IntegrityError:  # another request claimed it first
                return self.claim(account_id, key, request_hash)
        if found.status_code is None and aware(found.claimed_at) < at - ABANDONED:
            with self._session.begin() as s:
                taken = s.execute(
                    update(IdempotencyRow)
                    .where(*self._holding(account_id, key, found.claimed_at))
                    .values(request_hash=request_hash, created_at=at)
                ).rowcount
            return Claim(account_id, key, at) if taken else self.claim(account_id, key, request_hash)
        return found

    def get(self, account_id: str, key: str) -> Stored | None:
        with self._session.begin() as s:
            row = s.get(IdempotencyRow, (account_id, key))
            if row is None:
                return None
            return Stored(row.request_hash, row.created_at, row.status_code, row.body, row.headers)

    def save(self, claim: Claim, status_code: int, body: bytes, headers: dict[str, str]) -> bool:
        """Store the answer of a claimed request; False if the claim was taken over meanwhile."""
        with self._session.begin() as s:
            return bool(
                s.execute(
                    update(IdempotencyRow)
                    .where(*self._holding(claim.account_id, claim.key, claim.claimed_at))
                    .values(status_code=status_code, body=body, headers=headers)
                ).rowcount
            )

    def release(self, claim: Claim) -> None:
        """Forget a claim whose request stored no answer, so a retry runs afresh."""
        with self._session.begin() as s:
            s.execute(
                delete(IdempotencyRow).where(*self._holding(claim.account_id, claim.key, claim.claimed_at))
            )

    @staticmethod
    def _holding(account_id: str, key: str, claimed_at: datetime):
        """The row of this claim, while it has no answer."""
        return (
            IdempotencyRow.account_id == account_id,
            IdempotencyRow.key == key,
            IdempotencyRow.created_at == claimed_at,
            IdempotencyRow.status_code.is_(None),
        )
