"""Accounts and their API keys. An account owns jobs, uploads, credits and limits; it may hold
several keys, so a key can be rotated without losing the account's jobs. A key is shown once, when
it is made; only its SHA-256 and a short display prefix are stored.
"""

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

KEY_PREFIX = "rf_"  # recognisable in logs and secret scanners
DISPLAY_CHARS = 8  # characters after KEY_PREFIX kept for display (`rf_Ab3dE9xQ`)


def new_key() -> str:
    """A fresh API key: the prefix and 43 URL-safe characters (32 random bytes)."""
    return KEY_PREFIX + secrets.token_urlsafe(32)


def key_hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def display_prefix(key: str) -> str:
    return key[: len(KEY_PREFIX) + DISPLAY_CHARS]


@dataclass(frozen=True)
class Account:
    id: str
    name: str
    created_at: datetime
    balance_usd: Decimal | None = None  # None: unlimited
    concurrency: int | None = None  # jobs queued or running at once; None: unlimited


@dataclass(frozen=True)
class ApiKey:
    id: str
    account_id: str
    name: str
    prefix: str  # the first characters of the key, for display
    created_at: datetime
    admin: bool = False
    rpm: int | None = None  # creates per minute; None: the server's default
    last_used_at: datetime | None = None
    revoked_at: datetime | None = None


@dataclass(frozen=True)
class Caller:
    """Who is calling: the account a request acts for (`id`, the owner of its jobs and uploads),
    and the key it came with."""

    id: str
    key_id: str
    name: str
    admin: bool = False
    rpm: int | None = None
    prefix: str = ""  # the key's display prefix (`rf_Ab3dE9xQ`), for showing which key is in use
