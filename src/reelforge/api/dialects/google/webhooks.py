"""The Gemini API's webhooks (`ai.google.dev/api/webhooks`): the `Webhook` resource under both
`/v1beta/webhooks` (google-genai 2.x) and `/v1/webhooks` (3.x), and the `video.generated` event
(`gemini_form`) that the delivery engine (service/webhooks.py) sends to them.

Routes, snake_case both ways as the SDKs send and parse them (camelCase is accepted on input):
`POST /webhooks` (create; the answer carries `new_signing_secret`, shown once),
`GET /webhooks?page_size&page_token` (`{"webhooks", "next_page_token"}`), `GET|PATCH|DELETE
/webhooks/{id}` (PATCH with an optional `update_mask`; DELETE answers `{}`), `POST
/webhooks/{id}:ping` (`{}`), `POST /webhooks/{id}:rotateSigningSecret` (`{"secret"}`). Every
success is 200 with a JSON body: google-genai rejects 204 and empty bodies. A webhook belongs to
the calling key's account; another account's is 404. A missing or refused key is 403
`PERMISSION_DENIED`, as everywhere in the Gemini API (gemini.py).

Decisions where Google documents nothing [open]:
- `subscribed_events` takes Google's whole catalog (video.generated, batch.*, interaction.*), stored
  as given; reelforge only ever sends `video.generated`. Any other name is 400.
- `webhook_id` on create (choosing the id) is refused with 400: the engine assigns ids (UUIDs).
- `page_size` 1..1000, default 50; `page_token` is the offset the previous page returned.
- PATCH without `update_mask` changes the fields present in the body; with one, exactly the masked
  fields (`name` missing from the body clears it; `uri`, `subscribed_events`, `state` must be
  given). `state` may be set to `enabled` (also re-enabling a webhook the engine disabled for
  failed deliveries) or `disabled`; `disabled_due_to_failed_deliveries` is the engine's alone: 400.
- `signing_secrets` lists the live secrets, newest last, each truncated to `whsec_` + 3 characters
  `...` the last 4; `expire_time` only on a secret that a rotation scheduled for revocation.
- `:rotateSigningSecret` defaults to `revoke_previous_secrets_after_h24` (the enum is read
  case-insensitively): until then every delivery carries one signature per live secret.
- `:ping` queues `{"type": "webhook.ping", "version": "v1", "timestamp", "data": {"id": <webhook
  id>}}`, whatever the webhook's state, and answers `{}` at once (Google's answer has no fields);
  it is signed, retried and listed for operators like a job's delivery.
- `video.generated` is sent when a Veo job ends, however it ends (Google's catalog has no failure
  event for videos): `data.id` is the operation name (`GET /v1beta/{id}` reads it); a success
  has `output_file_uri` (the first sample's download URI, needing the key, as in the operation)
  and `file_name` (`files/{file}`); a failure or cancel has `error_code` (the operation's
  google.rpc code: 1 CANCELLED, 3 INVALID_ARGUMENT, 13 INTERNAL) and `error_message` instead.
  `data.user_metadata` carries a request's `webhookConfig.user_metadata`, when it had one.
- Deliveries to a request's `webhookConfig.uris` cannot carry Google's RS256 JWT (Google's keys);
  they are to be signed with the secrets of the account's oldest enabled Gemini webhook, which the
  engine does not do yet (unsigned until then; docs/api.md).
"""

from datetime import timedelta
from typing import Annotated, Literal

from fastapi import APIRouter, Query
from pydantic import AliasChoices, BaseModel, ConfigDict, Field, model_validator

from reelforge.api.auth import CallerDep
from reelforge.api.deps import ServiceDep
from reelforge.api.dialects.google import wire
from reelforge.api.dialects.google.files import file_name, file_uri
from reelforge.api.dialects.google.wire import GoogleEmpty, GoogleError, Message
from reelforge.api.openapi import error_responses
from reelforge.api.wire import iso_z
from reelforge.core.clock import now
from reelforge.core.errors import InvalidRequest, NotFound
from reelforge.core.job import Job, JobStatus
from reelforge.core.request import MAX_NAME
from reelforge.core.webhooks import Event, Webhook, WebhookState
from reelforge.service.webhooks import MAX_URI, UNSET, Form, Webhooks

PREFIXES = ("/v1beta/webhooks", "/v1/webhooks")
FORM = "gemini"
EVENTS = (
    "video.generated",
    "batch.succeeded",
    "batch.expired",
    "batch.failed",
    "batch.cancelled",
    "interaction.requires_action",
    "interaction.completed",
    "interaction.failed",
    "interaction.cancelled",
)
PING = "webhook.ping"
MAX_PAGE = 1000
AFTER_H24 = "revoke_previous_secrets_after_h24"
IMMEDIATELY = "revoke_previous_secrets_immediately"
KEEP_PREVIOUS = {AFTER_H24: 24 * 3600, IMMEDIATELY: 0}
MASKABLE = {"name": "name", "uri": "uri", "subscribed_events": "subscribed_events", "state": "state"}
MASKABLE |= {"subscribedEvents": "subscribed_events"}


def _timestamp(at) -> str:
    return at.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _envelope(kind: str, at, data: dict) -> dict:
    return {"type": kind, "version": "v1", "timestamp": _timestamp(at), "data": data}


def gemini_form(base_url: str) -> Form:
    """The Gemini event of a job, with download URIs under `base_url`."""

    def build(job: Job, event: Event) -> tuple[str, dict]:
        data: dict = {"id": f"models/{job.request.model}/operations/{job.id}"}
        if job.status is JobStatus.SUCCEEDED and job.outputs:
            first = job.outputs[0]
            data["output_file_uri"] = file_uri(base_url, job, first)
            data["file_name"] = f"files/{file_name(job, first)}"
        elif error := wire.operation_error(job):
            data["error_code"] = error.code
            data["error_message"] = error.message
        if job.extras.webhook_metadata is not None:
            data["user_metadata"] = job.extras.webhook_metadata
        return "video.generated", _envelope("video.generated", event.created_at, data)

    return Form(FORM, EVENTS, build)


# the resource ------------------------------------------------------------------------------------


class GeminiSigningSecret(Message):
    truncated_secret: str = Field(description="`whsec_` and the first 3 and last 4 characters of the key.")
    expire_time: str | None = Field(
        default=None, description="When a rotation revokes this secret; absent while it has no end."
    )


class GeminiWebhook(Message):
    id: str = Field(description="The webhook's id: the `{id}` of its URL.")
    name: str | None = Field(default=None, description="The display name the client gave it.")
    uri: str
    subscribed_events: list[str]
    state: Literal["enabled", "disabled", "disabled_due_to_failed_deliveries"]
    new_signing_secret: str | None = Field(
        default=None, description="The signing secret (`whsec_...`): only in the answer to create."
    )
    signing_secrets: list[GeminiSigningSecret]
    create_time: str
    update_time: str


class GeminiWebhookList(Message):
    webhooks: list[GeminiWebhook]
    next_page_token: str | None = Field(default=None, description="Absent on the last page.")


class GeminiRotatedSecret(Message):
    secret: str = Field(description="The new signing secret (`whsec_...`), shown once.")


class WebhookBody(BaseModel):
    """Create's and Patch's body: the Webhook's writable fields, flat or as `{"webhook": {...}}`."""

    model_config = ConfigDict(extra="ignore")

    name: str | None = Field(default=None, max_length=MAX_NAME)
    uri: str | None = Field(default=None, max_length=MAX_URI)
    subscribed_events: list[Annotated[str, Field(max_length=64)]] | None = Field(
        default=None,
        max_length=len(EVENTS),
        validation_alias=AliasChoices("subscribed_events", "subscribedEvents"),
    )
    state: Literal["enabled", "disabled", "disabled_due_to_failed_deliveries"] | None = None

    @model_validator(mode="before")
    @classmethod
    def _unwrap(cls, data):
        if isinstance(data, dict) and set(data) == {"webhook"} and isinstance(data["webhook"], dict):
            return data["webhook"]
        return data


class RotateBody(BaseModel):
    model_config = ConfigDict(extra="ignore")

    revocation_behavior: str | None = Field(
        default=None,
        max_length=64,
        validation_alias=AliasChoices("revocation_behavior", "revocationBehavior"),
        description=f"`{AFTER_H24}` (the default) or `{IMMEDIATELY}`, in any case.",
    )


def _truncated(secret: str) -> str:
    key = secret.removeprefix("whsec_")
    return f"whsec_{key[:3]}...{key[-4:]}"


def resource(webhook: Webhook, new_secret: str | None = None) -> GeminiWebhook:
    at = now()
    return GeminiWebhook(
        id=webhook.id,
        name=webhook.name or None,
        uri=webhook.uri,
        subscribed_events=list(webhook.subscribed_events),
        state=webhook.state.value,
        new_signing_secret=new_secret,
        signing_secrets=[
            GeminiSigningSecret(truncated_secret=_truncated(s.secret), expire_time=iso_z(s.expires_at))
            for s in webhook.secrets
            if s.live(at)
        ],
        create_time=iso_z(webhook.created_at),
        update_time=iso_z(webhook.updated_at),
    )


def _mine(service_webhooks: Webhooks, webhook_id: str, account_id: str) -> Webhook:
    webhook = service_webhooks.get(webhook_id, account_id)
    if webhook.form != FORM:  # the account's native or Leonardo webhooks are not Gemini resources
        raise NotFound(f"webhook {webhook_id} not found")
    return webhook


def _ping(webhooks: Webhooks, webhook: Webhook) -> None:
    """Queue a signed `webhook.ping` to the webhook (see the module docstring)."""
    webhooks.ping(webhook, PING, _envelope(PING, now(), {"id": webhook.id}))


# routes ------------------------------------------------------------------------------------------

ANSWERS = error_responses(GoogleError, 403, 429, 500)
routers = [APIRouter(prefix=prefix, tags=["Gemini API webhooks"], responses=ANSWERS) for prefix in PREFIXES]


def _route(method: str, path: str, model: type[BaseModel], *statuses: int):
    """Register the function as `method path` on both prefixes."""

    def register(function):
        for router in routers:
            router.add_api_route(
                path,
                function,
                methods=[method],
                response_model=model,
                responses=error_responses(GoogleError, *statuses),
            )
        return function

    return register


@_route("POST", "", GeminiWebhook, 400)
def create_webhook(
    body: WebhookBody,
    service: ServiceDep,
    caller: CallerDep,
    webhook_id: Annotated[str | None, Query(max_length=MAX_NAME)] = None,
) -> GeminiWebhook:
    if webhook_id is not None:
        raise InvalidRequest("webhook_id: choosing the id is not supported; omit it", "webhook_id")
    if body.uri is None:
        raise InvalidRequest("uri: required", "uri")
    webhook, secret = service.webhooks.register(
        caller.id, FORM, body.uri, body.subscribed_events or [], body.name or ""
    )
    return resource(webhook, secret)


@_route("GET", "", GeminiWebhookList, 400)
def list_webhooks(
    service: ServiceDep,
    caller: CallerDep,
    page_size: Annotated[int | None, Query(ge=0, le=MAX_PAGE)] = None,
    page_token: Annotated[str | None, Query(max_length=20)] = None,
) -> GeminiWebhookList:
    if page_token and not page_token.isdigit():
        raise InvalidRequest("page_token: not a token this server issued", "page_token")
    start, size = int(page_token or 0), page_size or 50
    webhooks = service.webhooks.of_account(caller.id, FORM)
    more = start + size < len(webhooks)
    return GeminiWebhookList(
        webhooks=[resource(w) for w in webhooks[start : start + size]],
        next_page_token=str(start + size) if more else None,
    )


@_route("POST", "/{webhook_id}:ping", GoogleEmpty, 404)
def ping_webhook(webhook_id: str, service: ServiceDep, caller: CallerDep) -> dict:
    _ping(service.webhooks, _mine(service.webhooks, webhook_id, caller.id))
    return {}


@_route("POST", "/{webhook_id}:rotateSigningSecret", GeminiRotatedSecret, 400, 404)
def rotate_signing_secret(
    webhook_id: str, service: ServiceDep, caller: CallerDep, body: RotateBody | None = None
) -> GeminiRotatedSecret:
    behavior = ((body and body.revocation_behavior) or AFTER_H24).lower()
    if behavior not in KEEP_PREVIOUS:
        raise InvalidRequest(
            f"revocation_behavior: must be {AFTER_H24} or {IMMEDIATELY}", "revocation_behavior"
        )
    webhook = _mine(service.webhooks, webhook_id, caller.id)
    keep = timedelta(seconds=KEEP_PREVIOUS[behavior])
    return GeminiRotatedSecret(secret=service.webhooks.rotate_secret(webhook.id, caller.id, keep)[1])


@_route("GET", "/{webhook_id}", GeminiWebhook, 404)
def get_webhook(webhook_id: str, service: ServiceDep, caller: CallerDep) -> GeminiWebhook:
    return resource(_mine(service.webhooks, webhook_id, caller.id))


@_route("PATCH", "/{webhook_id}", GeminiWebhook, 400, 404)
def update_webhook(
    webhook_id: str,
    body: WebhookBody,
    service: ServiceDep,
    caller: CallerDep,
    update_mask: Annotated[str | None, Query(max_length=200)] = None,
) -> GeminiWebhook:
    given = body.model_fields_set
    if update_mask is None:
        fields = given
    else:
        names = [f.strip() for f in update_mask.split(",") if f.strip()]
        unknown = [f for f in names if f not in MASKABLE]
        if unknown:
            raise InvalidRequest(
                f"update_mask: {unknown[0]} is not one of name, uri, subscribed_events, state", "update_mask"
            )
        fields = {MASKABLE[f] for f in names}
        for field in fields - given - {"name"}:
            raise InvalidRequest(f"{field}: named in update_mask, so required", field)
    if body.state == WebhookState.DISABLED_DUE_TO_FAILED_DELIVERIES and "state" in fields:
        raise InvalidRequest("state: must be enabled or disabled", "state")
    for field in ("uri", "subscribed_events", "state"):
        if field in fields and getattr(body, field) is None:
            raise InvalidRequest(f"{field}: must not be null", field)
    webhook = _mine(service.webhooks, webhook_id, caller.id)
    changes = {f: getattr(body, f) for f in fields}
    if "name" in changes:
        changes["name"] = changes["name"] or ""
    fields_of = {k: changes.get(k, UNSET) for k in ("name", "uri", "subscribed_events", "state")}
    updated = service.webhooks.update(webhook.id, caller.id, **fields_of)
    return resource(updated)


@_route("DELETE", "/{webhook_id}", GoogleEmpty, 404)
def delete_webhook(webhook_id: str, service: ServiceDep, caller: CallerDep) -> dict:
    service.webhooks.delete(_mine(service.webhooks, webhook_id, caller.id).id, caller.id)
    return {}
