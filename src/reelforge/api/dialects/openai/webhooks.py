"""The native API's webhooks, in the shape of OpenAI's webhook endpoints (`/v1/webhook_endpoints`,
which the `openai` SDK's `client.webhooks.create/retrieve/update/list/delete/rotate_secret` call),
and the `video.completed` / `video.failed` events the delivery engine sends to them
(service/webhooks.py `native_form`, verified by the SDK's `client.webhooks.unwrap`).

Routes (`Authorization: Bearer <key>`; an endpoint belongs to the key's account, another
account's is 404):
- `POST /v1/webhook_endpoints` `{"url", "event_types", "name"?}`: the endpoint with its
  `signing_secret` (`whsec_...`), shown this once.
- `GET /v1/webhook_endpoints?after&limit`: `{"object": "list", "data", "first_id", "last_id",
  "has_more"}`, oldest first; `limit` 1..100, default 20; `after` must be one of the caller's.
- `GET /v1/webhook_endpoints/{id}`; `POST /v1/webhook_endpoints/{id}` updates the fields given
  (`event_types` is the complete new set); `DELETE` answers `{"id", "object":
  "webhook_endpoint.deleted", "deleted": true}`.
- `POST /v1/webhook_endpoints/{id}/rotate_secret` `{"keep_old_secret_active_for_24_hours"?}`: a
  new `signing_secret` (shown once); the old one stops signing at once (default) or after 24 h,
  and until then every delivery carries both signatures.
- `GET /v1/webhook_event_types`: `{"object": "list", "data": ["video.completed", "video.failed"]}`.

Decisions [open]:
- The path is OpenAI's `webhook_endpoints`: `/v1/webhooks` is the Gemini API's resource (google-genai
  3.x calls it there), served by the Gemini dialect.
- Events: `video.completed` and `video.failed`. OpenAI has no `video.canceled`, so a canceled
  video sends nothing (its poll reads `failed` with `error.code` "canceled").
- Endpoint objects add `status` (`enabled`, `disabled`, `disabled_due_to_failed_deliveries`: the
  engine disables an endpoint whose delivery failed for 24 h); an update may set it to `enabled`
  or `disabled`. `signing_secret_hint` is `whsec_...` and the secret's last 4 characters.
- Endpoint ids are reelforge's (UUIDs); `test` (a sample delivery on demand) is not offered.
- An event's `data.id` is the video's id in this API, `video_<job id>` (ids.py): `video_form`
  replaces the engine's native form, whose body it otherwise keeps.
- Errors: OpenAI's body (wire.py `render_error`): 400 `invalid_request` naming the field (`param`)
  for an unknown field, an event type other than the two, or a URL the delivery engine would refuse
  (an internal address, not http(s)); 404 `not_found` for another account's or an unknown id.
"""

from datetime import timedelta
from typing import Annotated, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field

from reelforge.api.auth import CallerDep
from reelforge.api.deps import ServiceDep
from reelforge.api.dialects.openai.ids import video_id
from reelforge.api.dialects.openai.wire import OpenAIError
from reelforge.api.openapi import error_responses
from reelforge.core.errors import InvalidRequest, NotFound
from reelforge.core.job import Job
from reelforge.core.webhooks import Event, Webhook, WebhookState
from reelforge.service.webhooks import MAX_URI, NATIVE_EVENTS, UNSET, Form, native_form

PREFIXES = ("/v1/webhook_endpoints", "/v1/webhook_event_types")
EVENT_TYPES = tuple(NATIVE_EVENTS.values())
EventType = Literal["video.completed", "video.failed"]
MAX_NAME = 128
router = APIRouter(
    prefix="/v1", tags=["OpenAI webhooks (native)"], responses=error_responses(OpenAIError, 401, 429, 500)
)
NOT_FOUND = error_responses(OpenAIError, 400, 404)


def _video_event(job: Job, event: Event) -> tuple[str, dict] | None:
    built = native_form.build(job, event)
    if built is None:
        return None
    kind, body = built
    return kind, {**body, "data": {**body["data"], "id": video_id(job.id)}}


video_form = Form(native_form.name, native_form.events, _video_event)


class EndpointCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: str = Field(min_length=1, max_length=MAX_URI, description="Where events are POSTed (http or https).")
    event_types: list[EventType] = Field(min_length=1, description="The events to send.")
    name: str = Field(default="", max_length=MAX_NAME, description="A name for the endpoint.")


class EndpointUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: str | None = Field(default=None, min_length=1, max_length=MAX_URI)
    event_types: list[EventType] | None = Field(default=None, min_length=1, description="The complete set.")
    name: str | None = Field(default=None, max_length=MAX_NAME)
    status: Literal["enabled", "disabled"] | None = Field(
        default=None, description="reelforge's: `enabled` also re-enables an endpoint disabled for failures."
    )


class RotateSecret(BaseModel):
    model_config = ConfigDict(extra="forbid")

    keep_old_secret_active_for_24_hours: bool = False


class WebhookEndpoint(BaseModel):
    id: str
    object: Literal["webhook_endpoint"]
    created_at: int = Field(description="Unix seconds.")
    updated_at: int | None
    event_types: list[str]
    name: str
    url: str
    signing_secret_hint: str | None = Field(
        description="`whsec_...` and the newest secret's last 4 characters."
    )
    status: WebhookState = Field(description="reelforge's: whether events are sent.")


class WebhookEndpointWithSecret(WebhookEndpoint):
    signing_secret: str = Field(description="The signing secret (`whsec_...`): shown this once.")


class WebhookEndpointList(BaseModel):
    object: Literal["list"]
    data: list[WebhookEndpoint]
    first_id: str | None
    last_id: str | None
    has_more: bool


class WebhookEndpointDeleted(BaseModel):
    id: str
    object: Literal["webhook_endpoint.deleted"]
    deleted: bool


class EventTypeList(BaseModel):
    object: Literal["list"]
    data: list[str]


def endpoint(webhook: Webhook) -> dict:
    newest = webhook.secrets[-1].secret if webhook.secrets else None
    return {
        "id": webhook.id,
        "object": "webhook_endpoint",
        "created_at": int(webhook.created_at.timestamp()),
        "updated_at": int(webhook.updated_at.timestamp()),
        "event_types": list(webhook.subscribed_events),
        "name": webhook.name,
        "url": webhook.uri,
        "signing_secret_hint": f"whsec_...{newest[-4:]}" if newest else None,
        "status": webhook.state,
    }


def _own(service, caller, endpoint_id: str) -> Webhook:
    """The caller's native endpoint; NotFound for another account's or another form's webhook."""
    webhook = service.webhooks.get(endpoint_id, caller.id)
    if webhook.form != native_form.name:
        raise NotFound(f"webhook {endpoint_id} not found")
    return webhook


@router.post(
    "/webhook_endpoints",
    response_model=WebhookEndpointWithSecret,
    responses=error_responses(OpenAIError, 400),
)
def create_endpoint(body: EndpointCreate, service: ServiceDep, caller: CallerDep) -> dict:
    service.webhooks.vet(body.url, "url")
    webhook, secret = service.webhooks.register(
        caller.id, native_form.name, body.url, body.event_types, body.name
    )
    return {**endpoint(webhook), "signing_secret": secret}


@router.get(
    "/webhook_endpoints", response_model=WebhookEndpointList, responses=error_responses(OpenAIError, 400)
)
def list_endpoints(
    service: ServiceDep,
    caller: CallerDep,
    after: Annotated[str | None, Query(max_length=64)] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
) -> dict:
    webhooks = service.webhooks.of_account(caller.id, native_form.name)
    if after is not None:
        ids = [w.id for w in webhooks]
        if after not in ids:
            raise InvalidRequest("after: no such webhook endpoint", "after")
        webhooks = webhooks[ids.index(after) + 1 :]
    page = webhooks[:limit]
    return {
        "object": "list",
        "data": [endpoint(w) for w in page],
        "first_id": page[0].id if page else None,
        "last_id": page[-1].id if page else None,
        "has_more": len(webhooks) > limit,
    }


@router.get("/webhook_endpoints/{endpoint_id}", response_model=WebhookEndpoint, responses=NOT_FOUND)
def get_endpoint(endpoint_id: str, service: ServiceDep, caller: CallerDep) -> dict:
    return endpoint(_own(service, caller, endpoint_id))


@router.post("/webhook_endpoints/{endpoint_id}", response_model=WebhookEndpoint, responses=NOT_FOUND)
def update_endpoint(endpoint_id: str, body: EndpointUpdate, service: ServiceDep, caller: CallerDep) -> dict:
    webhook = _own(service, caller, endpoint_id)
    if body.url is not None:
        service.webhooks.vet(body.url, "url")
    updated = service.webhooks.update(
        webhook.id,
        caller.id,
        name=UNSET if body.name is None else body.name,
        uri=UNSET if body.url is None else body.url,
        subscribed_events=UNSET if body.event_types is None else body.event_types,
        state=UNSET if body.status is None else WebhookState(body.status),
    )
    return endpoint(updated)


@router.delete("/webhook_endpoints/{endpoint_id}", response_model=WebhookEndpointDeleted, responses=NOT_FOUND)
def delete_endpoint(endpoint_id: str, service: ServiceDep, caller: CallerDep) -> dict:
    service.webhooks.delete(_own(service, caller, endpoint_id).id, caller.id)
    return {"id": endpoint_id, "object": "webhook_endpoint.deleted", "deleted": True}


@router.post(
    "/webhook_endpoints/{endpoint_id}/rotate_secret",
    response_model=WebhookEndpointWithSecret,
    responses=NOT_FOUND,
)
def rotate_secret(
    endpoint_id: str, service: ServiceDep, caller: CallerDep, body: RotateSecret | None = None
) -> dict:
    keep = (
        timedelta(hours=24) if body is not None and body.keep_old_secret_active_for_24_hours else timedelta(0)
    )
    webhook, secret = service.webhooks.rotate_secret(_own(service, caller, endpoint_id).id, caller.id, keep)
    return {**endpoint(webhook), "signing_secret": secret}


@router.get("/webhook_event_types", response_model=EventTypeList)
def event_types(caller: CallerDep) -> dict:
    return {"object": "list", "data": list(EVENT_TYPES)}
