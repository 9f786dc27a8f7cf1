"""Idempotency-Key rows: the first request with a key claims it; its answer is stored and
replayed to every retry with the same key and body for 24 hours."""

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import Engine, delete, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import sessionmaker

from reelforge.core.clock import now
from reelforge.db.tables import IdempotencyRow

KEEP = timedelta(hours=24)


@dataclass(frozen=True)
class Stored:
    request_hash: str
    status_code: int | None  # None: the first request is still running
    body: bytes | None
    headers: dict | None


class IdempotencyStore:
    def __init__(self, database: Engine):
        self._session = sessionmaker(database, expire_on_commit=False)

    def claim(self, account_id: str, key: str, request_hash: str) -> Stored | None:
        """Claim the key for this request (None), or what an earlier request with it left."""
        with self._session.begin() as s:
            s.execute(delete(IdempotencyRow).where(IdempotencyRow.created_at < now() - KEEP))
        try:
            with self._session.begin() as s:
                s.add(
                    IdempotencyRow(
                        account_id=account_id, key=key, request_hash=request_hash, created_at=now()
                    )
                )
            return None
        except IntegrityError:
            return self.get(account_id, key)

    def get(self, account_id: str, key: str) -> Stored | None:
        with self._session.begin() as s:
            row = s.get(IdempotencyRow, (account_id, key))
            return Stored(row.request_hash, row.status_code, row.body, row.headers) if row else None

    def save(self, account_id: str, key: str, status_code: int, body: bytes, headers: dict) -> None:
        with self._session.begin() as s:
            s.execute(
                update(IdempotencyRow)
                .where(IdempotencyRow.account_id == account_id, IdempotencyRow.key == key)
                .values(status_code=status_code, body=body, headers=headers)
            )

    def release(self, account_id: str, key: str) -> None:
        """Forget a claim whose request failed on our side, so a retry runs afresh."""
        with self._session.begin() as s:
            s.execute(
                delete(IdempotencyRow).where(
                    IdempotencyRow.account_id == account_id, IdempotencyRow.key == key
                )
            )
