"""Webhooks below HTTP: the outbox commits with the terminal state (SQLite and PostgreSQL), and the
delivery engine against a real receiver on loopback: signatures (standardwebhooks and the openai
SDK), retries with one webhook-id, giving up, rotation, SSRF refusals, claims shared by two
processes."""

import json
import threading
import time
from datetime import timedelta
from decimal import Decimal

import pytest
import standardwebhooks
from openai import OpenAI
from sqlalchemy import func, select, text

from reelforge.core.clock import now
from reelforge.core.errors import InvalidRequest
from reelforge.core.job import FailureCode, Job, JobExtras, JobStatus, Outcome
from reelforge.core.request import GenerationRequest
from reelforge.core.webhooks import DeliveryStatus, WebhookState
from reelforge.db.repository import Repository
from reelforge.db.tables import WebhookEventRow
from reelforge.db.webhooks import WebhookStore
from reelforge.service.webhooks import Form, Webhooks
from testkit.databases import migrated_database
from testkit.receiver import Receiver

ACCOUNT = "acct-1"


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request, tmp_path):
    with migrated_database(request.param, tmp_path) as engine:
        yield engine


@pytest.fixture
def sqlite(tmp_path):
    with migrated_database("sqlite", tmp_path) as engine:
        yield engine


def _hooks(engine, forms: dict[str, Form] | None = None, **options) -> Webhooks:
    settings = dict(allowlist="127.0.0.1", schedule=(0.1,), give_up_after=60, timeout=2)
    return Webhooks(WebhookStore(engine), Repository(engine), forms or {}, **{**settings, **options})


def _job(repo: Repository, n: int = 0, extras: JobExtras | None = None) -> Job:
    job = Job(
        id=f"00000000-0000-4000-8000-{n:012d}",
        owner=ACCOUNT,
        request=GenerationRequest(model="veo-3.1-lite", prompt="p"),
        seed=n,
        status=JobStatus.QUEUED,
        cost_usd=Decimal("0.4000"),
        created_at=now(),
        extras=extras or JobExtras(),
    )
    repo.add_job(job)
    return job


def _finished(repo: Repository, n: int = 0, status=JobStatus.SUCCEEDED, extras=None) -> Job:
    job = _job(repo, n, extras)
    assert repo.claim("run", job.id) == job.id
    failure = FailureCode.RENDER_FAILED if status is JobStatus.FAILED else None
    assert repo.finish(job.id, "run", Outcome(status, failure=failure, message="x" if failure else None))
    return job


def _events(engine) -> list[tuple[str, str]]:
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(select(WebhookEventRow.job_id, WebhookEventRow.status))]


def _deliver_until(hooks: Webhooks, done, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while not done():
        assert time.monotonic() < deadline, "deliveries did not settle"
        hooks.dispatch()
        hooks.deliver_due()
        time.sleep(0.05)


# the outbox ---------------------------------------------------------------------------------------


def test_every_terminal_transition_writes_one_event(database):
    repo = Repository(database)
    done = _finished(repo, 1)
    failed = _finished(repo, 2, JobStatus.FAILED)
    queued = _job(repo, 3)
    repo.request_cancel(queued.id)
    lost = _job(repo, 4)
    repo.claim("dead", lost.id)
    repo.recover_running(max_attempts=1)
    requeued = _job(repo, 5)
    repo.claim("dead", requeued.id)
    repo.recover_running(max_attempts=3)  # back to the queue: not an end
    running = _job(repo, 6)
    repo.claim("run", running.id)
    repo.request_cancel(running.id)  # only flagged: the worker ends it later
    assert sorted(_events(database)) == sorted(
        [(done.id, "succeeded"), (failed.id, "failed"), (queued.id, "canceled"), (lost.id, "failed")]
    )


def test_the_event_commits_with_the_terminal_state_or_not_at_all(database):
    """With the outbox unwritable, finishing fails as a whole: the job is still running, so no
    process can end a job without its event."""
    repo = Repository(database)
    job = _job(repo)
    repo.claim("run", job.id)
    with database.begin() as conn:
        conn.execute(text("DROP TABLE webhook_events"))
    with pytest.raises(Exception, match="webhook_events"):
        repo.finish(job.id, "run", Outcome(JobStatus.SUCCEEDED))
    assert repo.get_job(job.id).status is JobStatus.RUNNING


# delivery -----------------------------------------------------------------------------------------


def test_delivery_is_signed_and_verifies_with_standardwebhooks_and_openai(sqlite):
    hooks = _hooks(sqlite)
    with Receiver() as receiver:
        webhook, secret = hooks.register(ACCOUNT, "native", receiver.url, ["video.completed"])
        job = _finished(hooks._repo)
        _deliver_until(hooks, lambda: receiver.succeeded())
        (got,) = receiver.received
    payload = standardwebhooks.Webhook(secret).verify(got.body, got.headers)
    assert payload["type"] == "video.completed" and payload["data"] == {"id": job.id}
    event = OpenAI(api_key="unused").webhooks.unwrap(got.body, got.headers, secret=secret)
    assert event.type == "video.completed" and event.data.id == job.id
    assert got.headers["webhook-id"].startswith("msg_")
    with pytest.raises(standardwebhooks.webhooks.WebhookVerificationError):
        standardwebhooks.Webhook(hooks.rotate_secret(webhook.id)[1]).verify(got.body, got.headers)


def test_an_event_whose_form_a_process_lacks_waits_for_one_that_has_it(sqlite):
    """A process built without a vendor's form (a misconfigured worker) must not lose the event."""
    other = Form("other", ("video.done",), lambda job, event: ("video.done", {"id": job.id}))
    with_form, without = _hooks(sqlite, forms={"other": other}), _hooks(sqlite)
    with Receiver() as receiver:
        with_form.register(ACCOUNT, "other", receiver.url, ["video.done"])
        job = _finished(with_form._repo)
        assert without.dispatch() == 0 and _events(sqlite) == [(job.id, "succeeded")]
        _deliver_until(with_form, lambda: receiver.succeeded())
    assert json.loads(receiver.received[0].body) == {"id": job.id}


def test_a_ping_is_a_delivery_like_any_other(sqlite):
    hooks = _hooks(sqlite)
    with Receiver(statuses=[500]) as receiver:
        webhook, secret = hooks.register(ACCOUNT, "native", receiver.url, ["video.completed"])
        ping = hooks.ping(webhook, "webhook.ping", {"type": "webhook.ping"})
        _deliver_until(hooks, lambda: receiver.succeeded())
    first, second = receiver.received
    assert first.headers["webhook-id"] == second.headers["webhook-id"] == ping.id
    assert standardwebhooks.Webhook(secret).verify(second.body, second.headers) == {"type": "webhook.ping"}
    (listed,) = hooks.deliveries()
    assert (listed.id, listed.status, listed.attempts) == (ping.id, DeliveryStatus.DELIVERED, 2)


def test_failed_and_unsubscribed_events(sqlite):
    hooks = _hooks(sqlite)
    with Receiver() as failures, Receiver() as completions:
        hooks.register(ACCOUNT, "native", failures.url, ["video.failed"])
        hooks.register(ACCOUNT, "native", completions.url, ["video.completed"])
        _finished(hooks._repo, 1, JobStatus.FAILED)
        _deliver_until(hooks, lambda: failures.succeeded())
        hooks.deliver_due()
        assert completions.received == []  # the failure went only to its subscriber
    assert [d.event_type for d in hooks.deliveries()] == ["video.failed"]


def test_two_failures_then_success_is_one_delivery_of_three_attempts(sqlite):
    hooks = _hooks(sqlite)
    with Receiver([500, 500, 200]) as receiver:
        hooks.register(ACCOUNT, "native", receiver.url, ["video.completed"])
        _finished(hooks._repo)
        _deliver_until(hooks, lambda: receiver.succeeded())
        time.sleep(0.3)
        hooks.deliver_due()  # nothing left to send
    assert [r.status for r in receiver.received] == [500, 500, 200]
    assert len({r.headers["webhook-id"] for r in receiver.received}) == 1
    assert len({r.body for r in receiver.received}) == 1
    (delivery,) = hooks.deliveries()
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == (
        DeliveryStatus.DELIVERED,
        3,
        200,
    )


def test_a_receiver_that_never_answers_ends_disabled(sqlite):
    hooks = _hooks(sqlite, timeout=0.5, give_up_after=1.5)
    with Receiver(hang=True) as receiver:
        webhook, _ = hooks.register(ACCOUNT, "native", receiver.url, ["video.completed"])
        _finished(hooks._repo)
        _deliver_until(
            hooks,
            lambda: hooks.deliveries()[0].status is DeliveryStatus.FAILED if hooks.deliveries() else False,
        )
    assert len(receiver.received) >= 2
    assert hooks.get(webhook.id).state is WebhookState.DISABLED_DUE_TO_FAILED_DELIVERIES
    assert "no answer" in hooks.deliveries()[0].last_error
    _finished(hooks._repo, 2)  # a disabled webhook gets nothing new
    assert hooks.dispatch() == 0


def test_rotation_signs_with_both_secrets_until_the_old_one_is_revoked(sqlite):
    hooks = _hooks(sqlite)
    with Receiver() as receiver:
        webhook, old = hooks.register(ACCOUNT, "native", receiver.url, ["video.completed"])
        _, new = hooks.rotate_secret(webhook.id, keep_previous_for=timedelta(hours=1))
        _finished(hooks._repo, 1)
        _deliver_until(hooks, lambda: len(receiver.succeeded()) == 1)
        _, newest = hooks.rotate_secret(webhook.id)  # the others revoked at once
        _finished(hooks._repo, 2)
        _deliver_until(hooks, lambda: len(receiver.succeeded()) == 2)
    during, after = receiver.received
    assert len(during.headers["webhook-signature"].split()) == 2
    for secret in (old, new):
        standardwebhooks.Webhook(secret).verify(during.body, during.headers)
    assert len(after.headers["webhook-signature"].split()) == 1
    standardwebhooks.Webhook(newest).verify(after.body, after.headers)
    with pytest.raises(standardwebhooks.webhooks.WebhookVerificationError):
        standardwebhooks.Webhook(new).verify(after.body, after.headers)


@pytest.mark.parametrize(
    "uri",
    [
        "http://127.0.0.1:9/hook",
        "http://10.1.2.3/",
        "http://169.254.169.254/latest",
        "http://[::1]/",
        "ftp://x/",
    ],
)
def test_internal_targets_are_refused_without_the_allowlist(sqlite, uri):
    hooks = _hooks(sqlite, allowlist="")
    with pytest.raises(InvalidRequest) as refused:
        hooks.register(ACCOUNT, "native", uri, ["video.completed"])
    assert refused.value.field == "uri" and "webhook URI" in refused.value.message


def test_a_per_request_uri_is_vetted_again_when_sent(sqlite):
    hooks = _hooks(sqlite, allowlist="", give_up_after=0.01)
    with Receiver() as receiver:
        _finished(hooks._repo, extras=JobExtras(webhook_uris=(receiver.url,)))
        _deliver_until(
            hooks, lambda: hooks.deliveries() and hooks.deliveries()[0].status is DeliveryStatus.FAILED
        )
    assert receiver.received == []
    assert "private or reserved" in hooks.deliveries()[0].last_error


def test_redeliver_sends_the_same_delivery_again(sqlite):
    hooks = _hooks(sqlite)
    with Receiver() as receiver:
        hooks.register(ACCOUNT, "native", receiver.url, ["video.completed"])
        _finished(hooks._repo)
        _deliver_until(hooks, lambda: receiver.succeeded())
        (delivery,) = hooks.deliveries()
        assert hooks.redeliver(delivery.id).status is DeliveryStatus.PENDING
        _deliver_until(hooks, lambda: len(receiver.succeeded()) == 2)
    first, again = receiver.received
    assert first.headers["webhook-id"] == again.headers["webhook-id"] and first.body == again.body


def test_two_processes_share_the_work_without_sending_twice(database):
    one, two = _hooks(database), _hooks(database)
    with Receiver() as receiver:
        one.register(ACCOUNT, "native", receiver.url, ["video.completed"])
        for n in range(20):
            _finished(one._repo, n)
        passes = [threading.Thread(target=h.dispatch) for h in (one, two)]
        for t in passes:
            t.start()
        for t in passes:
            t.join()
        passes = [threading.Thread(target=h.deliver_due) for h in (one, two)]
        for t in passes:
            t.start()
        for t in passes:
            t.join()
        assert len(receiver.wait_for(20)) == 20
    assert len({r.headers["webhook-id"] for r in receiver.received}) == 20
    with database.connect() as conn:
        assert conn.execute(select(func.count()).select_from(WebhookEventRow)).scalar() == 20


def test_a_dead_claim_is_taken_over_when_its_lease_ends(sqlite):
    hooks = _hooks(sqlite)
    store = WebhookStore(sqlite)
    with Receiver() as receiver:
        hooks.register(ACCOUNT, "native", receiver.url, ["video.completed"])
        _finished(hooks._repo)
        hooks.dispatch()
        (claimed,) = store.claim_due(now(), now() + timedelta(seconds=1))  # then the claimer dies
        assert hooks.deliver_due() == 0  # leased
        time.sleep(1.1)
        _deliver_until(hooks, lambda: receiver.succeeded())
    assert receiver.received[0].headers["webhook-id"] == claimed.id
    assert hooks.deliveries()[0].attempts == 2


def test_a_canceled_native_job_sends_nothing_and_per_request_uris_replace_the_webhooks(sqlite):
    hooks = _hooks(sqlite)
    with Receiver() as static, Receiver() as dynamic:
        hooks.register(ACCOUNT, "native", static.url, ["video.completed", "video.failed"])
        hooks._repo.request_cancel(_job(hooks._repo, 1).id)  # OpenAI has no video.canceled
        job = _finished(hooks._repo, 2, extras=JobExtras(webhook_uris=(dynamic.url,)))
        _deliver_until(hooks, lambda: dynamic.succeeded())
    assert static.received == []
    assert json.loads(dynamic.received[0].body)["data"] == {"id": job.id}
