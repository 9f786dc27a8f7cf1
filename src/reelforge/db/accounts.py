"""Account and API-key rows: issuing, finding a key by its hash, revoking, limits and usage."""

import uuid
from datetime import timedelta
from decimal import Decimal

from sqlalchemy import Engine, func, select, update
from sqlalchemy.orm import sessionmaker

from reelforge.core.accounts import Account, ApiKey
from reelforge.core.clock import aware, now
from reelforge.core.job import JobStatus
from reelforge.db.repository import E4
from reelforge.db.tables import AccountRow, ApiKeyRow, JobRow

TOUCH_EVERY = timedelta(minutes=1)  # `last_used_at` is written at most this often per key


def _account(row: AccountRow) -> Account:
    balance = None if row.balance_e4 is None else Decimal(row.balance_e4) / E4
    return Account(row.id, row.name, aware(row.created_at), balance, row.concurrency)


def _key(row: ApiKeyRow) -> ApiKey:
    return ApiKey(
        id=row.id,
        account_id=row.account_id,
        name=row.name,
        prefix=row.prefix,
        created_at=aware(row.created_at),
        admin=row.admin,
        rpm=row.rpm,
        last_used_at=aware(row.last_used_at),
        revoked_at=aware(row.revoked_at),
    )


def _e4(usd: Decimal | None) -> int | None:
    return None if usd is None else int((usd * E4).to_integral_value())


class AccountStore:
    def __init__(self, database: Engine):
        self._database = database
        self._session = sessionmaker(database, expire_on_commit=False)

    def create_account(self, name: str, balance: Decimal | None, concurrency: int | None) -> Account:
        row = AccountRow(
            id=str(uuid.uuid4()),
            name=name,
            created_at=now(),
            balance_e4=_e4(balance),
            concurrency=concurrency,
        )
        with self._session.begin() as s:
            s.add(row)
        return _account(row)

    def add_key(
        self, account_id: str, name: str, key_hash: str, prefix: str, admin: bool, rpm: int | None
    ) -> ApiKey:
        row = ApiKeyRow(
            id=str(uuid.uuid4()),
            account_id=account_id,
            name=name,
            prefix=prefix,
            hash=key_hash,
            admin=admin,
            rpm=rpm,
            created_at=now(),
        )
        with self._session.begin() as s:
            s.add(row)
        return _key(row)

    def by_hash(self, key_hash: str) -> ApiKey | None:
        # A Core query, not the ORM: every authenticated request makes it.
        keys = ApiKeyRow.__table__
        with self._database.connect() as conn:
            row = conn.execute(select(keys).where(keys.c.hash == key_hash)).first()
        return _key(row) if row else None

    def touch(self, key: ApiKey) -> None:
        """Record that a key was used (at most once per TOUCH_EVERY, so polls cost no write)."""
        at = now()
        if key.last_used_at is not None and at - key.last_used_at < TOUCH_EVERY:
            return
        with self._session.begin() as s:
            s.execute(update(ApiKeyRow).where(ApiKeyRow.id == key.id).values(last_used_at=at))

    def all_keys(self, limit: int | None = None, offset: int = 0) -> list[ApiKey]:
        """Keys oldest first; a page of them with `limit`."""
        query = select(ApiKeyRow).order_by(ApiKeyRow.created_at, ApiKeyRow.id).limit(limit).offset(offset)
        with self._session.begin() as s:
            return [_key(r) for r in s.scalars(query)]

    def key(self, key_id: str) -> ApiKey | None:
        with self._session.begin() as s:
            row = s.get(ApiKeyRow, key_id)
            return _key(row) if row else None

    def keys_with_prefix(self, prefix: str) -> list[ApiKey]:
        with self._session.begin() as s:
            rows = s.scalars(select(ApiKeyRow).where(ApiKeyRow.prefix.startswith(prefix, autoescape=True)))
            return [_key(r) for r in rows]

    def revoke(self, key_id: str) -> None:
        with self._session.begin() as s:
            s.execute(
                update(ApiKeyRow)
                .where(ApiKeyRow.id == key_id, ApiKeyRow.revoked_at.is_(None))
                .values(revoked_at=now())
            )

    def set_rpm(self, key_id: str, rpm: int | None) -> None:
        with self._session.begin() as s:
            s.execute(update(ApiKeyRow).where(ApiKeyRow.id == key_id).values(rpm=rpm))

    def account(self, account_id: str) -> Account | None:
        with self._session.begin() as s:
            row = s.get(AccountRow, account_id)
            return _account(row) if row else None

    def accounts(self, limit: int | None = None, offset: int = 0) -> list[Account]:
        """Accounts oldest first; a page of them with `limit`."""
        query = select(AccountRow).order_by(AccountRow.created_at, AccountRow.id).limit(limit).offset(offset)
        with self._session.begin() as s:
            return [_account(r) for r in s.scalars(query)]

    def update_account(self, account_id: str, **values) -> None:
        """Set `balance` (USD, None: unlimited) and/or `concurrency` (None: unlimited)."""
        columns = {}
        if "balance" in values:
            columns["balance_e4"] = _e4(values["balance"])
        if "concurrency" in values:
            columns["concurrency"] = values["concurrency"]
        with self._session.begin() as s:
            s.execute(update(AccountRow).where(AccountRow.id == account_id).values(**columns))

    def usage(self, account_id: str) -> dict:
        """The account's jobs per state (those not deleted) and what it has been charged (USD,
        kept when jobs are deleted)."""
        counts = select(JobRow.status, func.count()).where(JobRow.owner == account_id).group_by(JobRow.status)
        with self._session.begin() as s:
            by_status = dict(s.execute(counts).all())
            spent_e4 = s.scalar(select(AccountRow.spent_e4).where(AccountRow.id == account_id)) or 0
        jobs = {status.value: by_status.get(status.value, 0) for status in JobStatus}
        return {"jobs": jobs, "spent_usd": Decimal(spent_e4) / E4}

    def count_keys(self) -> int:
        with self._session.begin() as s:
            return s.scalar(select(func.count()).select_from(ApiKeyRow))
