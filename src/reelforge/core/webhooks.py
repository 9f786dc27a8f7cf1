"""Webhooks: where an account's job events are pushed, and the record of each push (a delivery).

A webhook has a form (the vendor whose payload shape and headers it gets: `gemini`, `native`,
`leonardo`), the events it subscribes to (in that form's names), a state, and its signing secrets:
one, or several during a rotation, each until its `expires_at` (None: no expiry). A webhook of
one API key (`key_id`: Leonardo's per-key callback) gets only the events of the jobs that key made.
"""

import enum
from dataclasses import dataclass
from datetime import datetime


class WebhookState(enum.StrEnum):
    ENABLED = "enabled"
    DISABLED = "disabled"
    DISABLED_DUE_TO_FAILED_DELIVERIES = "disabled_due_to_failed_deliveries"


class DeliveryStatus(enum.StrEnum):
    PENDING = "pending"
    DELIVERED = "delivered"
    FAILED = "failed"  # given up: no 2xx within the retry window


FORMS = ("gemini", "native", "leonardo")


@dataclass(frozen=True)
class Secret:
    secret: str  # `whsec_` + base64 of 32 random bytes
    created_at: datetime
    expires_at: datetime | None = None

    def live(self, at: datetime) -> bool:
        return self.expires_at is None or self.expires_at > at


@dataclass(frozen=True)
class Webhook:
    id: str
    account_id: str
    form: str
    name: str
    uri: str
    subscribed_events: tuple[str, ...]
    state: WebhookState
    secrets: tuple[Secret, ...]
    bearer: str | None
    consecutive_failures: int
    created_at: datetime
    updated_at: datetime
    key_id: str | None = None  # only the jobs of this API key (`JobExtras.key_id`); None: the account's


@dataclass(frozen=True)
class Event:
    """An outbox row: a job that reached a terminal state."""

    id: str
    job_id: str
    account_id: str
    status: str
    created_at: datetime


@dataclass(frozen=True)
class Delivery:
    id: str  # the `webhook-id` header: the same on every attempt
    event_id: str
    account_id: str
    webhook_id: str | None  # None: a per-request URI
    uri: str
    form: str
    event_type: str
    body: str  # the exact bytes sent
    status: DeliveryStatus
    attempts: int
    next_attempt_at: datetime
    give_up_at: datetime
    last_status_code: int | None
    last_error: str | None
    created_at: datetime
    delivered_at: datetime | None
