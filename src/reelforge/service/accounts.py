"""Accounts and API keys for the operator (CLI, admin API) and for every request: issuing a key
(shown once), finding the caller of a key, revoking, limits, credits and usage, and what a caller
sees of its own account (`view`).
"""

from dataclasses import dataclass
from decimal import Decimal

from reelforge.core.accounts import Account, ApiKey, Caller, display_prefix, key_hash, new_key
from reelforge.core.errors import InvalidRequest, NotFound, Unauthorized
from reelforge.core.job import JobStatus
from reelforge.db.accounts import AccountStore

UNSET = object()  # `update` leaves a setting alone unless it is given (None clears a limit)


@dataclass(frozen=True)
class IssuedKey:
    key: str  # the secret itself: shown once, never stored
    api_key: ApiKey
    account: Account


@dataclass(frozen=True)
class AccountView:
    """What a caller may see of its own account: its balance, concurrency limit and jobs under way."""

    id: str
    name: str
    balance_usd: Decimal | None  # None: unlimited
    concurrency: int | None  # None: unlimited
    queued: int
    running: int


class Accounts:
    def __init__(self, store: AccountStore):
        self._store = store

    def issue(
        self,
        name: str,
        admin: bool = False,
        credits: Decimal | None = None,
        rpm: int | None = None,
        concurrency: int | None = None,
        account_id: str | None = None,
    ) -> IssuedKey:
        """A new key: for a new account named `name` (with these credits and concurrency), or an
        extra key of an existing account (key rotation keeps the account's jobs)."""
        if not name.strip():
            raise InvalidRequest("a key needs a name", "name")
        if account_id is None:
            account = self._store.create_account(name, credits, concurrency)
        elif (account := self._store.account(account_id)) is None:
            raise NotFound(f"account {account_id} not found")
        key = new_key()
        api_key = self._store.add_key(account.id, name, key_hash(key), display_prefix(key), admin, rpm)
        return IssuedKey(key, api_key, account)

    def authenticate(self, key: str) -> Caller:
        """The caller a key acts for; Unauthorized if it is unknown or revoked."""
        api_key = self._store.by_hash(key_hash(key))
        if api_key is None or api_key.revoked_at is not None:
            raise Unauthorized("invalid or revoked API key")
        self._store.touch(api_key)
        return Caller(
            api_key.account_id, api_key.id, api_key.name, api_key.admin, api_key.rpm, api_key.prefix
        )

    def find(self, key_or_prefix: str) -> ApiKey:
        """A key by its secret, its id, or an unambiguous display prefix."""
        found = self._store.by_hash(key_hash(key_or_prefix)) or self._store.key(key_or_prefix)
        if found is not None:
            return found
        matches = self._store.keys_with_prefix(key_or_prefix) if len(key_or_prefix) >= 4 else []
        if len(matches) != 1:
            raise NotFound(
                f"no key matches {key_or_prefix!r}"
                if not matches
                else f"{key_or_prefix!r} matches several keys"
            )
        return matches[0]

    def keys(self, limit: int | None = None, offset: int = 0) -> list[tuple[ApiKey, Account]]:
        """(key, its account) pairs, oldest key first; a page of them with `limit`."""
        keys = self._store.all_keys(limit, offset)
        accounts = {a: self._store.account(a) for a in {k.account_id for k in keys}}
        return [(k, accounts[k.account_id]) for k in keys if accounts[k.account_id] is not None]

    def revoke(self, key_or_prefix: str) -> ApiKey:
        key = self.find(key_or_prefix)
        self._store.revoke(key.id)
        return self._store.key(key.id)

    def update(
        self, key_or_prefix: str, credits=UNSET, rpm=UNSET, concurrency=UNSET
    ) -> tuple[ApiKey, Account]:
        """Change a key's rpm, or its account's credits (balance in USD) or concurrency."""
        key = self.find(key_or_prefix)
        if rpm is not UNSET:
            self._store.set_rpm(key.id, rpm)
        changes = {
            name: value
            for name, value in (("balance", credits), ("concurrency", concurrency))
            if value is not UNSET
        }
        if changes:
            self._store.update_account(key.account_id, **changes)
        return self._store.key(key.id), self._store.account(key.account_id)

    def account(self, account_id: str) -> Account:
        account = self._store.account(account_id)
        if account is None:
            raise NotFound(f"account {account_id} not found")
        return account

    def accounts(self, limit: int | None = None, offset: int = 0) -> list[Account]:
        """Accounts oldest first; a page of them with `limit`."""
        return self._store.accounts(limit, offset)

    def usage(self, account_id: str) -> dict:
        self.account(account_id)
        return self._store.usage(account_id)

    def view(self, caller: Caller) -> AccountView:
        """The caller's own account. An owner without an account (in open mode each key is its own
        implicit account) has neither a balance nor a concurrency limit, as the repository bills it."""
        account = self._store.account(caller.id)
        jobs = self._store.usage(caller.id)["jobs"]
        return AccountView(
            id=caller.id,
            name=account.name if account else caller.name,
            balance_usd=account.balance_usd if account else None,
            concurrency=account.concurrency if account else None,
            queued=jobs[JobStatus.QUEUED.value],
            running=jobs[JobStatus.RUNNING.value],
        )

    def has_keys(self) -> bool:
        return self._store.count_keys() > 0
