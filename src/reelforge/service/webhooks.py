"""Webhooks: an account's static webhooks (register, list, update, delete, rotate the signing
secret) and the delivery engine behind every vendor's form.

The flow: the repository writes an outbox row (`webhook_events`) in the transaction that ends a
job (db/repository.py). `dispatch()` fans each new event out into deliveries, one per target: the
account's enabled webhooks subscribed to the event or, when the job names per-request URIs
(`JobExtras.webhook_uris`), those instead (Gemini's rule); per-request deliveries carry no
signature yet (Gemini signs them with a JWT: the Gemini form's work). Each delivery's body is
built once by the target's `Form` and stored, so every attempt sends the same bytes with the same
`webhook-id`. `deliver_due()` claims due deliveries (a lease, safe with several processes) and
POSTs them:
- Standard Webhooks headers (`webhook-id`, `webhook-timestamp`, `webhook-signature` with one
  `v1,<base64 HMAC-SHA256>` per live secret, signed by the `standardwebhooks` package), plus
  `Authorization: Bearer` when the webhook has a bearer (Leonardo's `webhookCallbackApiKey`);
- SSRF-safe: the URI is vetted as image URLs are (media/fetch.py; `webhook_allowlist` admits
  trusted internal receivers), the connection goes to the vetted address, redirects are not
  followed (a 3xx is a failed attempt), and `timeout` bounds the whole attempt;
- a 2xx is delivered; anything else is retried after `schedule[attempt]` seconds (the last one
  repeating) with up to +25% jitter, until `give_up_after` seconds after the event; then the
  delivery fails and its webhook becomes `disabled_due_to_failed_deliveries`.
At-least-once: a process that dies mid-attempt leaves its lease, which ends a little after the
longest its batch of attempts could take; another
pass then tries again with the same `webhook-id`, which receivers use to drop duplicates.

Forms (the vendor payloads) are injected from above (the API layer's dialects); this module has
only `native_form`, the OpenAI-style event of the native API, so the engine works on its own.
"""

import base64
import json
import logging
import random
import secrets
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

import anyio
import httpx
from standardwebhooks import Webhook as Signer

from reelforge.core.clock import now
from reelforge.core.errors import InvalidRequest, NotFound
from reelforge.core.job import Job, JobStatus
from reelforge.core.metrics import WEBHOOK_DELIVERIES
from reelforge.core.webhooks import FORMS, Delivery, DeliveryStatus, Event, Secret, Webhook, WebhookState
from reelforge.db.repository import Repository
from reelforge.db.webhooks import WebhookStore
from reelforge.media.fetch import Allowlist, Resolver, pinned_request, system_resolver, tls_context, vet_url

log = logging.getLogger(__name__)

CONNECT_TIMEOUT = 5.0
BATCH = 50
SENDING_AT_ONCE = 16
LEASE_MARGIN = 10.0  # seconds a claim outlives the longest its batch can take
MAX_URI = 2048
USER_AGENT = "reelforge-webhooks/1"
UNSET = object()


@dataclass(frozen=True)
class Form:
    """A vendor's webhook payload: its event names, and the (event type, body) of a job's event,
    or None when the vendor has no event for it."""

    name: str
    events: tuple[str, ...]
    build: Callable[[Job, Event], tuple[str, dict] | None]


# OpenAI's video events; it has none for a cancel, so a canceled native job sends nothing
NATIVE_EVENTS = {JobStatus.SUCCEEDED: "video.completed", JobStatus.FAILED: "video.failed"}


def _native(job: Job, event: Event) -> tuple[str, dict] | None:
    """OpenAI's event shape: `data.id` is the video, which the receiver fetches."""
    kind = NATIVE_EVENTS.get(JobStatus(event.status))
    if kind is None:
        return None
    created = int(event.created_at.timestamp())
    return kind, {
        "id": f"evt_{event.id}",
        "object": "event",
        "created_at": created,
        "type": kind,
        "data": {"id": job.id},
    }


native_form = Form("native", tuple(NATIVE_EVENTS.values()), _native)


def _compact(body: dict) -> str:
    """The exact text a delivery sends (and signs)."""
    return json.dumps(body, separators=(",", ":"))


def _pending(
    event_id: str,
    account_id: str,
    webhook_id: str | None,
    uri: str,
    form: str,
    event_type: str,
    body: str,
    at: datetime,
    give_up_at: datetime,
) -> Delivery:
    """A new delivery, due at once, with a `webhook-id` of its own."""
    return Delivery(
        id=f"msg_{uuid.uuid4().hex}",
        event_id=event_id,
        account_id=account_id,
        webhook_id=webhook_id,
        uri=uri,
        form=form,
        event_type=event_type,
        body=body,
        status=DeliveryStatus.PENDING,
        attempts=0,
        next_attempt_at=at,
        give_up_at=give_up_at,
        last_status_code=None,
        last_error=None,
        created_at=at,
        delivered_at=None,
    )


def new_secret() -> str:
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


def signature(secrets_: tuple[Secret, ...], msg_id: str, at: datetime, body: str) -> str:
    """The `webhook-signature` header: one `v1,...` per secret live at `at`, space-separated."""
    return " ".join(Signer(s.secret).sign(msg_id, at, body) for s in secrets_ if s.live(at))


@dataclass(frozen=True)
class Attempt:
    status_code: int | None
    error: str | None  # None: delivered


class Webhooks:
    def __init__(
        self,
        store: WebhookStore,
        repo: Repository,
        forms: dict[str, Form],
        allowlist: str = "",
        schedule: tuple[float, ...] = (5, 300, 1800, 7200, 18000, 36000),
        give_up_after: float = 24 * 3600,
        timeout: float = 10.0,
        resolver: Resolver = system_resolver,
    ):
        self._store = store
        self._repo = repo
        self.forms = {native_form.name: native_form, **forms}
        self._allowlist = Allowlist.parse(allowlist)
        self._schedule = schedule
        self._give_up_after = timedelta(seconds=give_up_after)
        self._timeout = timeout
        # a claimed delivery is due again after this: its batch has ended, or its process died
        self._lease = timedelta(seconds=timeout * -(-BATCH // SENDING_AT_ONCE) + LEASE_MARGIN)
        self._resolver = resolver
        self.wake = threading.Event()  # set when a job ends, to deliver without waiting a pass

    # static webhooks ------------------------------------------------------------------------------

    def vet(self, uri: str, field: str = "uri") -> None:
        """InvalidRequest (400) unless `uri` is a URL webhooks may be sent to."""
        if not isinstance(uri, str) or len(uri) > MAX_URI:
            raise InvalidRequest(f"{field}: webhook URI must be a URL of at most {MAX_URI} characters", field)
        anyio.run(lambda: vet_url(uri, self._allowlist, self._resolver, field, "webhook URI"))

    def _form(self, form: str) -> Form:
        if form not in self.forms:
            raise InvalidRequest(
                f"form must be one of {', '.join(f for f in FORMS if f in self.forms)}", "form"
            )
        return self.forms[form]

    def _events(self, form: Form, events: list[str] | tuple[str, ...]) -> tuple[str, ...]:
        unknown = [e for e in events if e not in form.events]
        if unknown or not events:
            raise InvalidRequest(
                f"subscribed_events must name some of {', '.join(form.events)}", "subscribed_events"
            )
        return tuple(dict.fromkeys(events))

    def register(
        self,
        account_id: str,
        form: str,
        uri: str,
        subscribed_events: list[str] | tuple[str, ...],
        name: str = "",
        bearer: str | None = None,
        key_id: str | None = None,
    ) -> tuple[Webhook, str]:
        """A new enabled webhook and its signing secret (shown once to the client); with `key_id`,
        it gets only the events of that API key's jobs."""
        events = self._events(self._form(form), subscribed_events)
        self.vet(uri)
        at = now()
        secret = new_secret()
        webhook = Webhook(
            id=str(uuid.uuid4()),
            account_id=account_id,
            form=form,
            name=name,
            uri=uri,
            subscribed_events=events,
            state=WebhookState.ENABLED,
            secrets=(Secret(secret, at),),
            bearer=bearer,
            consecutive_failures=0,
            created_at=at,
            updated_at=at,
            key_id=key_id,
        )
        self._store.add(webhook)
        return webhook, secret

    def get(self, webhook_id: str, account_id: str | None = None) -> Webhook:
        """A webhook; NotFound unless it exists and (with `account_id`) is that account's."""
        webhook = self._store.get(webhook_id)
        if webhook is None or (account_id is not None and webhook.account_id != account_id):
            raise NotFound(f"webhook {webhook_id} not found")
        return webhook

    def of_account(self, account_id: str, form: str | None = None) -> list[Webhook]:
        return self._store.of_account(account_id, form)

    def update(
        self,
        webhook_id: str,
        account_id: str | None = None,
        *,
        name=UNSET,
        uri=UNSET,
        subscribed_events=UNSET,
        state=UNSET,
        bearer=UNSET,
    ) -> Webhook:
        """Change what is given; enabling a webhook clears its failure count."""
        webhook = self.get(webhook_id, account_id)
        changes: dict = {}
        if name is not UNSET:
            changes["name"] = name
        if uri is not UNSET:
            self.vet(uri)
            changes["uri"] = uri
        if subscribed_events is not UNSET:
            changes["subscribed_events"] = list(self._events(self._form(webhook.form), subscribed_events))
        if state is not UNSET:
            changes["state"] = WebhookState(state).value
            if state == WebhookState.ENABLED:
                changes["consecutive_failures"] = 0
        if bearer is not UNSET:
            changes["bearer"] = bearer
        if changes:
            self._store.update(webhook.id, **changes)
        return self.get(webhook.id)

    def of_keys(self, key_ids: list[str]) -> dict[str, Webhook]:
        """The per-key webhooks of these API keys, by key id."""
        return self._store.of_keys(key_ids)

    def set_key_webhook(
        self, account_id: str, key_id: str, form: str, uri=UNSET, bearer=UNSET
    ) -> Webhook | None:
        """Set the webhook of one API key (Leonardo's `webhookCallbackUrl` and
        `webhookCallbackApiKey`): a `uri` creates it or moves it (and enables it again), None
        removes it; `bearer` (None: no `Authorization` header) needs a webhook. Returns the key's
        webhook, if it has one."""
        webhook = self._store.of_keys([key_id]).get(key_id)
        if uri is None:
            if webhook is not None:
                self._store.delete(webhook.id)
            return None
        if webhook is None and uri is UNSET:
            if bearer not in (UNSET, None):
                raise InvalidRequest("webhook_api_key needs a webhook_url", "webhook_api_key")
            return None
        if webhook is None:
            events = self._form(form).events
            given = None if bearer is UNSET else bearer
            return self.register(account_id, form, uri, events, f"key {key_id}", given, key_id)[0]
        if uri is UNSET:
            return self.update(webhook.id, bearer=bearer)
        return self.update(webhook.id, uri=uri, bearer=bearer, state=WebhookState.ENABLED)

    def delete(self, webhook_id: str, account_id: str | None = None) -> None:
        self._store.delete(self.get(webhook_id, account_id).id)

    def rotate_secret(
        self, webhook_id: str, account_id: str | None = None, keep_previous_for: timedelta = timedelta(0)
    ) -> tuple[Webhook, str]:
        """A new signing secret; the live ones keep signing (beside it) for `keep_previous_for`,
        or stop at once (0). Returns the webhook and the new secret (shown once)."""
        webhook = self.get(webhook_id, account_id)
        at = now()
        kept = ()
        if keep_previous_for > timedelta(0):
            until = at + keep_previous_for
            kept = tuple(
                replace(s, expires_at=min(s.expires_at or until, until))
                for s in webhook.secrets
                if s.live(at)
            )
        secret = new_secret()
        self._store.update(webhook.id, secrets=[*kept, Secret(secret, at)])
        return self.get(webhook.id), secret

    # the delivery engine --------------------------------------------------------------------------

    def dispatch(self) -> int:
        """Fan new outbox events out into deliveries; returns the deliveries created."""
        created = 0
        while events := self._store.undispatched(BATCH):
            for event in events:
                deliveries = self._deliveries(event)
                if deliveries is None:  # a form this process lacks: left for one that has it
                    continue
                if self._store.fan_out(event.id, deliveries):
                    created += len(deliveries)
            if len(events) < BATCH:
                break
        return created

    def ping(self, webhook: Webhook, event_type: str, body: dict) -> Delivery:
        """Queue a test event to one webhook (a vendor's ping), signed, retried and listed like a
        job's; its event id is its own (`ping_...`)."""
        at = now()
        delivery = _pending(
            f"ping_{uuid.uuid4().hex[:31]}",
            webhook.account_id,
            webhook.id,
            webhook.uri,
            webhook.form,
            event_type,
            _compact(body),
            at,
            at + self._give_up_after,
        )
        self._store.add_delivery(delivery)
        self.wake.set()
        return delivery

    def _deliveries(self, event: Event) -> list[Delivery] | None:
        job = self._repo.get_job(event.job_id)
        if job is None:  # deleted: its event has nothing left to tell
            return []
        targets: dict[str, tuple[Webhook | None, Form]] = {}  # uri -> (its static webhook, form)
        if job.extras.webhook_uris:  # per-request URIs replace the account's webhooks (Gemini)
            dynamic = self.forms.get(job.extras.dialect or "", native_form)
            targets = {uri: (None, dynamic) for uri in job.extras.webhook_uris}
        for webhook in [] if targets else self._store.of_account(event.account_id):
            if webhook.state is not WebhookState.ENABLED:
                continue
            form = self.forms.get(webhook.form)
            if webhook.key_id is not None and webhook.key_id != job.extras.key_id:
                continue  # another key's callback (Leonardo)
            if form is None:
                log.error("event %s left undispatched: no %r webhook form here", event.id, webhook.form)
                return None
            targets.setdefault(webhook.uri, (webhook, form))
        bodies: dict[str, tuple[str, str] | None] = {}
        deliveries = []
        at = now()
        for uri, (webhook, form) in targets.items():
            if form.name not in bodies:
                built = form.build(job, event)
                bodies[form.name] = built and (built[0], _compact(built[1]))
            if bodies[form.name] is None:
                continue
            kind, body = bodies[form.name]
            if webhook is not None and kind not in webhook.subscribed_events:
                continue
            deliveries.append(
                _pending(
                    event.id,
                    event.account_id,
                    webhook.id if webhook else None,
                    uri,
                    form.name,
                    kind,
                    body,
                    at,
                    event.created_at + self._give_up_after,
                )
            )
        return deliveries

    def deliver_due(self) -> int:
        """Send every due delivery once (several at a time); returns how many were attempted."""
        attempted = 0
        while claimed := self._store.claim_due(now(), now() + self._lease, BATCH):
            results = anyio.run(self._send_all, claimed)
            for delivery, result in zip(claimed, results, strict=True):
                self._record(delivery, result)
            attempted += len(claimed)
            if len(claimed) < BATCH:
                break
        return attempted

    def _record(self, d: Delivery, result: Attempt) -> None:
        if result.error is None:
            self._store.delivered(d, result.status_code)
            WEBHOOK_DELIVERIES.labels(d.form, "delivered").inc()
            return
        delay = self._schedule[min(d.attempts, len(self._schedule)) - 1]
        retry_at = now() + timedelta(seconds=delay * (1 + 0.25 * random.random()))
        if retry_at > d.give_up_at:
            retry_at = None
            log.warning("webhook delivery %s to %s failed for good: %s", d.id, d.uri, result.error)
        self._store.attempt_failed(d, result.status_code, result.error, retry_at)
        WEBHOOK_DELIVERIES.labels(d.form, "failed_attempt" if retry_at else "gave_up").inc()

    async def _send_all(self, deliveries: list[Delivery]) -> list[Attempt]:
        results: list[Attempt | None] = [None] * len(deliveries)
        limit = anyio.CapacityLimiter(SENDING_AT_ONCE)
        webhooks = {d.webhook_id: self._store.get(d.webhook_id) for d in deliveries if d.webhook_id}
        signers = {(d.account_id, d.form): self._signer(d) for d in deliveries if not d.webhook_id}

        async def one(i: int, d: Delivery) -> None:
            async with limit:
                webhook = webhooks.get(d.webhook_id) if d.webhook_id else signers[d.account_id, d.form]
                results[i] = await self._send(d, webhook)

        async with anyio.create_task_group() as group:
            for i, d in enumerate(deliveries):
                group.start_soon(one, i, d)
        return results

    def _signer(self, d: Delivery) -> Webhook | None:
        """What signs a per-request delivery: the account's oldest enabled webhook of its form
        (its secrets only: its bearer and URI are its own), or nothing, and it goes unsigned."""
        mine = self._store.of_account(d.account_id)
        enabled = [w for w in mine if w.form == d.form and w.state is WebhookState.ENABLED]
        oldest = min(enabled, key=lambda w: w.created_at, default=None)
        return oldest and replace(oldest, bearer=None)

    async def _send(self, d: Delivery, webhook: Webhook | None) -> Attempt:
        """One POST of a delivery; never raises."""
        at = now()
        headers = {
            "Content-Type": "application/json",
            "User-Agent": USER_AGENT,
            "webhook-id": d.id,
            "webhook-timestamp": str(int(at.timestamp())),
        }
        if webhook is not None:
            if signed := signature(webhook.secrets, d.id, at, d.body):
                headers["webhook-signature"] = signed
            if webhook.bearer:
                headers["Authorization"] = f"Bearer {webhook.bearer}"
        timeout = httpx.Timeout(self._timeout, connect=min(CONNECT_TIMEOUT, self._timeout))
        try:
            with anyio.fail_after(self._timeout):
                target = await vet_url(d.uri, self._allowlist, self._resolver, None, "webhook URI")
                url, pinned, extensions = pinned_request(target)
                async with httpx.AsyncClient(
                    timeout=timeout, follow_redirects=False, trust_env=False, verify=tls_context()
                ) as client:
                    request = client.build_request(
                        "POST",
                        url,
                        content=d.body.encode(),
                        headers={**headers, **pinned},
                        extensions=extensions,
                    )
                    response = await client.send(request)
        except TimeoutError:
            return Attempt(None, f"no answer within {self._timeout:g} s")
        except InvalidRequest as exc:
            return Attempt(None, exc.message)
        except (httpx.HTTPError, OSError) as exc:
            return Attempt(None, f"could not be sent: {type(exc).__name__}")
        if 200 <= response.status_code < 300:
            return Attempt(response.status_code, None)
        return Attempt(response.status_code, f"answered HTTP {response.status_code}")

    def run_forever(self, interval: float, stop: threading.Event) -> None:
        """Dispatch and deliver every `interval` seconds, or at once when `wake` is set, until `stop`."""
        while not stop.is_set():
            try:
                self.dispatch()
                self.deliver_due()
            except Exception:
                log.warning("webhook delivery pass failed; retrying in %.1f s", interval, exc_info=True)
            self.wake.wait(interval)
            self.wake.clear()

    # the operator's view -------------------------------------------------------------------------

    def deliveries(
        self,
        account_id: str | None = None,
        webhook_id: str | None = None,
        status: DeliveryStatus | None = None,
        limit: int = 100,
        offset: int = 0,
    ) -> list[Delivery]:
        return self._store.deliveries(account_id, webhook_id, status, limit, offset)

    def delivery(self, delivery_id: str) -> Delivery:
        delivery = self._store.delivery(delivery_id)
        if delivery is None:
            raise NotFound(f"delivery {delivery_id} not found")
        return delivery

    def redeliver(self, delivery_id: str) -> Delivery:
        """Send a delivery again (same `webhook-id` and body), now, retried for a new window."""
        self.delivery(delivery_id)
        at = now()
        self._store.redeliver(delivery_id, at, at + self._give_up_after)
        self.wake.set()
        return self.delivery(delivery_id)
