"""Webhook, outbox and delivery rows.

Every state change is a conditional update, so several processes can run the delivery loop on one
database: an event is fanned out by the process whose update marks it dispatched (its deliveries
are inserted in that transaction), and a due delivery is claimed by the process whose update moves
its `next_attempt_at` forward (a lease: if that process dies, the delivery is due again when the
lease ends). The outcome of an attempt is recorded only by the claim that made it (`attempts`
still matches).
"""

from datetime import datetime

from sqlalchemy import Engine, delete, select, update
from sqlalchemy.orm import sessionmaker

from reelforge.core.clock import aware, now
from reelforge.core.webhooks import Delivery, DeliveryStatus, Event, Secret, Webhook, WebhookState
from reelforge.db.tables import WebhookDeliveryRow, WebhookEventRow, WebhookRow

PENDING = DeliveryStatus.PENDING.value


def _secret_out(secret: Secret) -> dict:
    return {
        "secret": secret.secret,
        "created_at": secret.created_at.isoformat(),
        "expires_at": secret.expires_at.isoformat() if secret.expires_at else None,
    }


def _secret_in(data: dict) -> Secret:
    expires = data.get("expires_at")
    return Secret(
        data["secret"],
        datetime.fromisoformat(data["created_at"]),
        datetime.fromisoformat(expires) if expires else None,
    )


def _webhook(row: WebhookRow) -> Webhook:
    return Webhook(
        id=row.id,
        account_id=row.account_id,
        form=row.form,
        name=row.name,
        uri=row.uri,
        subscribed_events=tuple(row.subscribed_events or ()),
        state=WebhookState(row.state),
        secrets=tuple(_secret_in(s) for s in row.secrets or ()),
        bearer=row.bearer,
        consecutive_failures=row.consecutive_failures,
        created_at=aware(row.created_at),
        updated_at=aware(row.updated_at),
        key_id=row.key_id,
    )


def _event(row: WebhookEventRow) -> Event:
    return Event(row.id, row.job_id, row.account_id, row.status, aware(row.created_at))


def _delivery(row: WebhookDeliveryRow) -> Delivery:
    return Delivery(
        id=row.id,
        event_id=row.event_id,
        account_id=row.account_id,
        webhook_id=row.webhook_id,
        uri=row.uri,
        form=row.form,
        event_type=row.event_type,
        body=row.body,
        status=DeliveryStatus(row.status),
        attempts=row.attempts,
        next_attempt_at=aware(row.next_attempt_at),
        give_up_at=aware(row.give_up_at),
        last_status_code=row.last_status_code,
        last_error=row.last_error,
        created_at=aware(row.created_at),
        delivered_at=aware(row.delivered_at),
    )


def _delivery_row(d: Delivery) -> WebhookDeliveryRow:
    return WebhookDeliveryRow(
        id=d.id,
        event_id=d.event_id,
        account_id=d.account_id,
        webhook_id=d.webhook_id,
        uri=d.uri,
        form=d.form,
        event_type=d.event_type,
        body=d.body,
        status=d.status.value,
        attempts=0,
        next_attempt_at=d.next_attempt_at,
        give_up_at=d.give_up_at,
        created_at=d.created_at,
    )


class WebhookStore:
    def __init__(self, database: Engine):
        self._session = sessionmaker(database, expire_on_commit=False)

    # webhooks -----------------------------------------------------------------------------------

    def add(self, webhook: Webhook) -> None:
        with self._session.begin() as s:
            s.add(
                WebhookRow(
                    id=webhook.id,
                    account_id=webhook.account_id,
                    form=webhook.form,
                    name=webhook.name,
                    uri=webhook.uri,
                    subscribed_events=list(webhook.subscribed_events),
                    state=webhook.state.value,
                    secrets=[_secret_out(x) for x in webhook.secrets],
                    bearer=webhook.bearer,
                    consecutive_failures=0,
                    created_at=webhook.created_at,
                    updated_at=webhook.updated_at,
                    key_id=webhook.key_id,
                )
            )

    def get(self, webhook_id: str) -> Webhook | None:
        with self._session.begin() as s:
            row = s.get(WebhookRow, webhook_id)
            return _webhook(row) if row else None

    def of_account(self, account_id: str, form: str | None = None) -> list[Webhook]:
        """An account's webhooks (of one form), oldest first."""
        query = select(WebhookRow).where(WebhookRow.account_id == account_id)
        if form is not None:
            query = query.where(WebhookRow.form == form)
        with self._session.begin() as s:
            return [_webhook(r) for r in s.scalars(query.order_by(WebhookRow.created_at, WebhookRow.id))]

    def of_keys(self, key_ids: list[str]) -> dict[str, Webhook]:
        """The webhooks of these API keys, by key id."""
        query = select(WebhookRow).where(WebhookRow.key_id.in_(key_ids))
        with self._session.begin() as s:
            return {r.key_id: _webhook(r) for r in s.scalars(query)}

    def update(self, webhook_id: str, **values) -> None:
        """Set columns: name, uri, subscribed_events (list), state (str), secrets, bearer,
        consecutive_failures."""
        if "secrets" in values:
            values["secrets"] = [_secret_out(x) for x in values["secrets"]]
        with self._session.begin() as s:
            s.execute(
                update(WebhookRow).where(WebhookRow.id == webhook_id).values(**values, updated_at=now())
            )

    def delete(self, webhook_id: str) -> bool:
        with self._session.begin() as s:
            return bool(s.execute(delete(WebhookRow).where(WebhookRow.id == webhook_id)).rowcount)

    # the outbox ---------------------------------------------------------------------------------

    def undispatched(self, limit: int = 100) -> list[Event]:
        query = (
            select(WebhookEventRow)
            .where(WebhookEventRow.dispatched_at.is_(None))
            .order_by(WebhookEventRow.created_at, WebhookEventRow.id)
            .limit(limit)
        )
        with self._session.begin() as s:
            return [_event(r) for r in s.scalars(query)]

    def fan_out(self, event_id: str, deliveries: list[Delivery]) -> bool:
        """Mark the event dispatched and insert its deliveries, in one transaction; False (nothing
        written) if another process dispatched it first."""
        with self._session.begin() as s:
            claimed = s.execute(
                update(WebhookEventRow)
                .where(WebhookEventRow.id == event_id, WebhookEventRow.dispatched_at.is_(None))
                .values(dispatched_at=now())
            ).rowcount
            if not claimed:
                return False
            s.add_all(_delivery_row(d) for d in deliveries)
            return True

    def add_delivery(self, delivery: Delivery) -> None:
        """A delivery of no job's event (a ping), sent and retried like the others."""
        with self._session.begin() as s:
            s.add(_delivery_row(delivery))

    # deliveries ---------------------------------------------------------------------------------

    def claim_due(self, at: datetime, lease_until: datetime, limit: int = 50) -> list[Delivery]:
        """Pending deliveries due at `at`, each now leased to the caller until `lease_until` and
        counting one more attempt."""
        due = (
            select(WebhookDeliveryRow.id)
            .where(WebhookDeliveryRow.status == PENDING, WebhookDeliveryRow.next_attempt_at <= at)
            .order_by(WebhookDeliveryRow.next_attempt_at)
            .limit(limit)
        )
        claimed = []
        with self._session.begin() as s:
            candidates = list(s.scalars(due))
        for delivery_id in candidates:
            with self._session.begin() as s:
                won = s.execute(
                    update(WebhookDeliveryRow)
                    .where(
                        WebhookDeliveryRow.id == delivery_id,
                        WebhookDeliveryRow.status == PENDING,
                        WebhookDeliveryRow.next_attempt_at <= at,  # not leased by another claim since
                    )
                    .values(next_attempt_at=lease_until, attempts=WebhookDeliveryRow.attempts + 1)
                ).rowcount
                if won:
                    claimed.append(_delivery(s.get(WebhookDeliveryRow, delivery_id)))
        return claimed

    def _attempted(self, d: Delivery):
        """The claim that made attempt `d.attempts` still owns the delivery."""
        return (
            WebhookDeliveryRow.id == d.id,
            WebhookDeliveryRow.status == PENDING,
            WebhookDeliveryRow.attempts == d.attempts,
        )

    def delivered(self, d: Delivery, status_code: int) -> bool:
        with self._session.begin() as s:
            done = s.execute(
                update(WebhookDeliveryRow)
                .where(*self._attempted(d))
                .values(
                    status=DeliveryStatus.DELIVERED.value,
                    last_status_code=status_code,
                    last_error=None,
                    delivered_at=now(),
                )
            ).rowcount
            if done and d.webhook_id:
                s.execute(
                    update(WebhookRow).where(WebhookRow.id == d.webhook_id).values(consecutive_failures=0)
                )
            return bool(done)

    def attempt_failed(
        self, d: Delivery, status_code: int | None, error: str, retry_at: datetime | None
    ) -> bool:
        """Record a failed attempt: due again at `retry_at`, or given up (None), which also
        disables its webhook (`disabled_due_to_failed_deliveries`) if it is enabled."""
        values: dict = dict(last_status_code=status_code, last_error=error[:1000])
        if retry_at is None:
            values["status"] = DeliveryStatus.FAILED.value
        else:
            values["next_attempt_at"] = retry_at
        with self._session.begin() as s:
            done = s.execute(update(WebhookDeliveryRow).where(*self._attempted(d)).values(**values)).rowcount
            if done and d.webhook_id:
                webhook = update(WebhookRow).where(WebhookRow.id == d.webhook_id)
                s.execute(webhook.values(consecutive_failures=WebhookRow.consecutive_failures + 1))
                if retry_at is None:
                    s.execute(
                        webhook.where(WebhookRow.state == WebhookState.ENABLED.value).values(
                            state=WebhookState.DISABLED_DUE_TO_FAILED_DELIVERIES.value, updated_at=now()
                        )
                    )
            return bool(done)

    def delivery(self, delivery_id: str) -> Delivery | None:
        with self._session.begin() as s:
            row = s.get(WebhookDeliveryRow, delivery_id)
            return _delivery(row) if row else None

    def deliveries(
        self,
        account_id: str | None = None,
        webhook_id: str | None = None,
        status: DeliveryStatus | None = None,
        limit: int = 100,
        offset: int = 0,
    ) -> list[Delivery]:
        """Deliveries newest first, filtered."""
        query = select(WebhookDeliveryRow)
        if account_id is not None:
            query = query.where(WebhookDeliveryRow.account_id == account_id)
        if webhook_id is not None:
            query = query.where(WebhookDeliveryRow.webhook_id == webhook_id)
        if status is not None:
            query = query.where(WebhookDeliveryRow.status == status.value)
        order = (WebhookDeliveryRow.created_at.desc(), WebhookDeliveryRow.id.desc())
        with self._session.begin() as s:
            return [_delivery(r) for r in s.scalars(query.order_by(*order).limit(limit).offset(offset))]

    def redeliver(self, delivery_id: str, at: datetime, give_up_at: datetime) -> bool:
        """Make a delivery pending and due at `at` again (same id), with a new retry window."""
        with self._session.begin() as s:
            return bool(
                s.execute(
                    update(WebhookDeliveryRow)
                    .where(WebhookDeliveryRow.id == delivery_id)
                    .values(status=PENDING, next_attempt_at=at, give_up_at=give_up_at, delivered_at=None)
                ).rowcount
            )
