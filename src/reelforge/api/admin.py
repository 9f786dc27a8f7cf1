"""The admin API under `/admin/v1/`: what `reelforge keys` does, over HTTP, so an operator needs no
access to the database. Only admin keys may call it (401 without a usable key, 403 with a key that
is not an admin's); errors use reelforge's own body, as every route outside a dialect does.

- `POST /admin/v1/keys` issues a key (201); the answer is the only place the key ever appears.
- `GET /admin/v1/keys`, `GET /admin/v1/keys/{key_id}`: keys with their account, never the key
  itself or its hash; the list a page at a time (`limit` up to 1000, `offset`), like the accounts.
- `POST /admin/v1/keys/{key_id}/revoke`: at once on every API node, since every request looks its
  key up in the database (api/auth.py). The key's row stays, so its account keeps its jobs.
- `PATCH /admin/v1/keys/{key_id}`: `rpm` is the key's; `credits_usd` (sets the balance) and
  `concurrency` are its account's. A field left out is unchanged; `null` clears the limit
  (credits and concurrency: unlimited; rpm: the server's `REELFORGE_CREATE_RPM`).
- A key's Leonardo webhook callback (api/dialects/leonardo/webhooks.py), on create and PATCH:
  `webhook_url` (Leonardo's `webhookCallbackUrl`; vetted like every webhook URL, 400 when refused;
  a new URL also re-enables a callback disabled for failed deliveries; `null` removes the
  callback) and `webhook_api_key` (`webhookCallbackApiKey`, sent as `Authorization: Bearer`;
  needs a URL; `null` removes it). Answers show `webhook_url`, `webhook_state` and only whether a
  `webhook_api_key` is set (`webhook_api_key_set`), never the key.
- `GET /admin/v1/accounts`, `GET /admin/v1/accounts/{account_id}/usage` (jobs per state, USD spent).
- `GET /admin/v1/webhook-deliveries` (newest first; filters `account_id`, `webhook_id`, `status`),
  `GET /admin/v1/webhook-deliveries/{delivery_id}`, and `POST .../{delivery_id}/redeliver`: the same
  delivery (its `webhook-id` and body) is sent again now and retried for a new window.

`{key_id}` is a key's id or its display prefix (`rf_` + 8 characters). The key itself is refused
there: URLs end up in access logs. The request models are also the CLI's rules (cli.py). Admin
calls count against the calling key's read limit, like every read.
"""

from datetime import datetime
from decimal import Decimal
from typing import Annotated

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, ConfigDict, Field, model_validator

from reelforge.api.auth import CallerDep
from reelforge.api.deps import ServiceDep
from reelforge.api.dialects.leonardo.webhooks import FORM as LEONARDO
from reelforge.api.errors import NativeError
from reelforge.api.openapi import error_responses
from reelforge.core.accounts import DISPLAY_CHARS, KEY_PREFIX, Account, ApiKey, Caller
from reelforge.core.errors import Forbidden, InvalidRequest
from reelforge.core.request import MAX_NAME
from reelforge.core.webhooks import Delivery, DeliveryStatus, Webhook, WebhookState
from reelforge.service.accounts import IssuedKey
from reelforge.service.jobs import JobService
from reelforge.service.webhooks import MAX_URI

MAX_CREDITS = Decimal(1_000_000_000)  # USD; far above any real balance, well inside the column
MAX_RPM = 1_000_000
MAX_CONCURRENCY = 10_000
MAX_BEARER = 1024

Credits = Annotated[
    Decimal | None,
    Field(ge=0, le=MAX_CREDITS, decimal_places=4, description="balance in USD; null: unlimited"),
]
Rpm = Annotated[
    int | None,
    Field(ge=1, le=MAX_RPM, description="creates per minute for this key; null: REELFORGE_CREATE_RPM"),
]
Concurrency = Annotated[
    int | None,
    Field(ge=1, le=MAX_CONCURRENCY, description="jobs queued or running at once; null: unlimited"),
]


WebhookUrl = Annotated[
    str | None,
    Field(
        min_length=1,
        max_length=MAX_URI,
        description="Leonardo's webhookCallbackUrl: where this key's generations are POSTed when they end",
    ),
]
WebhookApiKey = Annotated[
    str | None,
    Field(
        min_length=1,
        max_length=MAX_BEARER,
        pattern=r"^[\x21-\x7e]+$",
        description="Leonardo's webhookCallbackApiKey: sent as `Authorization: Bearer <it>`; never shown",
    ),
]
WEBHOOK_FIELDS = {"webhook_url": "uri", "webhook_api_key": "bearer"}  # -> Webhooks.set_key_webhook


async def require_admin(caller: CallerDep) -> Caller:
    if not caller.admin:
        raise Forbidden("this route needs an admin API key")
    return caller


router = APIRouter(
    prefix="/admin/v1",
    tags=["admin"],
    dependencies=[Depends(require_admin)],
    responses=error_responses(NativeError, 400, 401, 403, 429, 500),
)


class KeyCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=128, pattern=r"\S", description="who or what the key is for")
    admin: bool = Field(default=False, description="may call the admin API")
    credits_usd: Credits = None
    rpm: Rpm = None
    concurrency: Concurrency = None
    account_id: str | None = Field(
        default=None,
        max_length=MAX_NAME,
        description="add the key to this existing account (rotation keeps its jobs); "
        "without it the key gets a new account",
    )
    webhook_url: WebhookUrl = None
    webhook_api_key: WebhookApiKey = None

    @model_validator(mode="after")
    def _limits_belong_to_a_new_account(self) -> "KeyCreate":
        if self.account_id is not None and (self.credits_usd is not None or self.concurrency is not None):
            raise ValueError(
                "credits and concurrency belong to the account: change an existing account's "
                "with an update of one of its keys"
            )
        return self


class KeyUpdate(BaseModel):
    """Only the fields sent are changed."""

    model_config = ConfigDict(extra="forbid")

    credits_usd: Credits = None
    rpm: Rpm = None
    concurrency: Concurrency = None
    webhook_url: WebhookUrl = None
    webhook_api_key: WebhookApiKey = None

    def changes(self) -> dict:
        """The arguments of `Accounts.update`: the fields sent, and only those."""
        sent = self.model_dump(include=self.model_fields_set - set(WEBHOOK_FIELDS))
        if "credits_usd" in sent:
            sent["credits"] = sent.pop("credits_usd")
        return sent

    def webhook_changes(self) -> dict:
        """The arguments of `Webhooks.set_key_webhook`: the webhook fields sent."""
        sent = self.model_dump(include=self.model_fields_set & set(WEBHOOK_FIELDS))
        return {WEBHOOK_FIELDS[name]: value for name, value in sent.items()}


class AccountOut(BaseModel):
    id: str
    name: str
    created_at: datetime
    balance_usd: Decimal | None = Field(description="credits left, USD; null: unlimited")
    concurrency: int | None = Field(description="jobs queued or running at once; null: unlimited")


class KeyOut(BaseModel):
    id: str
    name: str
    prefix: str = Field(description="the key's first characters, for recognising it")
    admin: bool
    rpm: int | None = Field(description="creates per minute; null: the server's REELFORGE_CREATE_RPM")
    created_at: datetime
    last_used_at: datetime | None = Field(description="to the minute")
    revoked_at: datetime | None
    account: AccountOut
    webhook_url: str | None = Field(description="Leonardo's webhookCallbackUrl; null: none")
    webhook_state: WebhookState | None = Field(
        description="enabled, or disabled_due_to_failed_deliveries; null: no callback"
    )
    webhook_api_key_set: bool = Field(description="whether a webhookCallbackApiKey is set (never shown)")


class IssuedKeyOut(KeyOut):
    key: str = Field(description="the API key: shown this once, only its hash is stored")


class KeyList(BaseModel):
    data: list[KeyOut]


class AccountList(BaseModel):
    data: list[AccountOut]


class Usage(BaseModel):
    account_id: str
    jobs: dict[str, int] = Field(description="the account's jobs in each state")
    spent_usd: Decimal = Field(description="list price of its succeeded jobs")
    balance_usd: Decimal | None = Field(description="credits left, USD; null: unlimited")


def _account(account: Account) -> dict:
    return {
        "id": account.id,
        "name": account.name,
        "created_at": account.created_at,
        "balance_usd": account.balance_usd,
        "concurrency": account.concurrency,
    }


def _key(key: ApiKey, account: Account, webhook: Webhook | None) -> dict:
    return {
        "id": key.id,
        "name": key.name,
        "prefix": key.prefix,
        "admin": key.admin,
        "rpm": key.rpm,
        "created_at": key.created_at,
        "last_used_at": key.last_used_at,
        "revoked_at": key.revoked_at,
        "account": _account(account),
        "webhook_url": webhook.uri if webhook else None,
        "webhook_state": webhook.state if webhook else None,
        "webhook_api_key_set": bool(webhook and webhook.bearer),
    }


def _ref(key_id: str) -> str:
    """A key's id or display prefix from a URL; the secret itself is refused."""
    if key_id.startswith(KEY_PREFIX) and len(key_id) > len(KEY_PREFIX) + DISPLAY_CHARS:
        raise InvalidRequest("name a key by its id or its prefix, never by the key itself", "key_id")
    return key_id


NOT_FOUND = error_responses(NativeError, 404)
MAX_PAGE = 1000
Limit = Annotated[int, Query(ge=1, le=MAX_PAGE, description=f"entries per page, at most {MAX_PAGE}")]
Offset = Annotated[int, Query(ge=0, description="entries to skip")]


def issue_key(service: JobService, body: KeyCreate) -> tuple[IssuedKey, Webhook | None]:
    """A new key (and its callback): what `POST /keys` and `reelforge keys create` do. A refused
    callback URL is refused before the key is issued."""
    if body.webhook_url is not None:
        service.webhooks.vet(body.webhook_url, "webhook_url")
    elif body.webhook_api_key is not None:
        raise InvalidRequest("webhook_api_key needs a webhook_url", "webhook_api_key")
    issued = service.accounts.issue(
        body.name, body.admin, body.credits_usd, body.rpm, body.concurrency, body.account_id
    )
    webhook = None
    if body.webhook_url is not None:
        webhook = service.webhooks.set_key_webhook(
            issued.account.id, issued.api_key.id, LEONARDO, body.webhook_url, body.webhook_api_key
        )
    return issued, webhook


def update_key_of(
    service: JobService, key_ref: str, body: KeyUpdate
) -> tuple[ApiKey, Account, Webhook | None]:
    """What `PATCH /keys/{key_id}` and `reelforge keys update` do; the callback URL is vetted
    before anything changes."""
    found = service.accounts.find(key_ref)
    webhook_changes = body.webhook_changes()
    if webhook_changes.get("uri") is not None:
        service.webhooks.vet(webhook_changes["uri"], "webhook_url")
    key, account = service.accounts.update(found.id, **body.changes())
    webhook = service.webhooks.of_keys([key.id]).get(key.id)
    if webhook_changes:
        webhook = service.webhooks.set_key_webhook(account.id, key.id, LEONARDO, **webhook_changes)
    return key, account, webhook


@router.post("/keys", status_code=201, response_model=IssuedKeyOut, responses=NOT_FOUND)
def create_key(body: KeyCreate, service: ServiceDep) -> dict:
    issued, webhook = issue_key(service, body)
    return {**_key(issued.api_key, issued.account, webhook), "key": issued.key}


@router.get("/keys", response_model=KeyList)
def list_keys(service: ServiceDep, limit: Limit = 100, offset: Offset = 0) -> dict:
    """Keys oldest first, a page at a time."""
    issued = service.accounts.keys(limit, offset)  # (key, account) pairs
    webhooks = service.webhooks.of_keys([key.id for key, _ in issued])
    return {"data": [_key(key, account, webhooks.get(key.id)) for key, account in issued]}


def _with_account(service: JobService, key: ApiKey) -> dict:
    webhook = service.webhooks.of_keys([key.id]).get(key.id)
    return _key(key, service.accounts.account(key.account_id), webhook)


@router.get("/keys/{key_id}", response_model=KeyOut, responses=NOT_FOUND)
def get_key(key_id: str, service: ServiceDep) -> dict:
    return _with_account(service, service.accounts.find(_ref(key_id)))


@router.post("/keys/{key_id}/revoke", response_model=KeyOut, responses=NOT_FOUND)
def revoke_key(key_id: str, service: ServiceDep) -> dict:
    return _with_account(service, service.accounts.revoke(_ref(key_id)))


@router.patch("/keys/{key_id}", response_model=KeyOut, responses=NOT_FOUND)
def update_key(key_id: str, body: KeyUpdate, service: ServiceDep) -> dict:
    return _key(*update_key_of(service, _ref(key_id), body))


@router.get("/accounts", response_model=AccountList)
def list_accounts(service: ServiceDep, limit: Limit = 100, offset: Offset = 0) -> dict:
    """Accounts oldest first, a page at a time."""
    return {"data": [_account(account) for account in service.accounts.accounts(limit, offset)]}


@router.get("/accounts/{account_id}/usage", response_model=Usage, responses=NOT_FOUND)
def account_usage(account_id: str, service: ServiceDep) -> dict:
    usage = service.accounts.usage(account_id)  # NotFound first, for an unknown account
    return {
        "account_id": account_id,
        **usage,
        "balance_usd": service.accounts.account(account_id).balance_usd,
    }


class DeliveryOut(BaseModel):
    id: str = Field(description="the `webhook-id` header: the same on every attempt")
    account_id: str
    webhook_id: str | None = Field(description="null: a per-request URI")
    uri: str
    form: str = Field(description="gemini, native or leonardo")
    event_type: str
    status: DeliveryStatus
    attempts: int
    next_attempt_at: datetime | None = Field(description="when a pending delivery is tried next")
    last_status_code: int | None = Field(description="the receiver's last HTTP status; null: no answer")
    last_error: str | None
    created_at: datetime
    delivered_at: datetime | None


class DeliveryList(BaseModel):
    data: list[DeliveryOut]


def _delivery(d: Delivery) -> dict:
    fields = {name: getattr(d, name) for name in DeliveryOut.model_fields}
    if d.status is not DeliveryStatus.PENDING:
        fields["next_attempt_at"] = None
    return fields


@router.get("/webhook-deliveries", response_model=DeliveryList)
def list_deliveries(
    service: ServiceDep,
    account_id: Annotated[str | None, Query(max_length=MAX_NAME)] = None,
    webhook_id: Annotated[str | None, Query(max_length=MAX_NAME)] = None,
    status: DeliveryStatus | None = None,
    limit: Limit = 100,
    offset: Offset = 0,
) -> dict:
    """Webhook deliveries newest first, a page at a time."""
    found = service.webhooks.deliveries(account_id, webhook_id, status, limit, offset)
    return {"data": [_delivery(d) for d in found]}


@router.get("/webhook-deliveries/{delivery_id}", response_model=DeliveryOut, responses=NOT_FOUND)
def get_delivery(delivery_id: str, service: ServiceDep) -> dict:
    return _delivery(service.webhooks.delivery(delivery_id))


@router.post("/webhook-deliveries/{delivery_id}/redeliver", response_model=DeliveryOut, responses=NOT_FOUND)
def redeliver(delivery_id: str, service: ServiceDep) -> dict:
    return _delivery(service.webhooks.redeliver(delivery_id))
