"""Credits, concurrency slots and fair scheduling, in process on real databases (a SQLite file and
the PostgreSQL server on 127.0.0.1:5432): a create reserves the job's list price atomically, the
end of the job settles it exactly once, and accounts take turns at the workers."""

import threading
from decimal import Decimal

import pytest

from reelforge.config import Settings
from reelforge.core.errors import InsufficientCredits, TooManyRequests
from reelforge.core.job import FailureCode, JobStatus, Outcome
from reelforge.core.request import Draft
from reelforge.runtime import build_runtime
from testkit.databases import postgres_database

# veo-3.1-lite, 4 s at 720p with audio: 4 x $0.05
DRAFT = Draft(prompt="a fox", duration=4)
PRICE = Decimal("0.2000")


@pytest.fixture(params=["sqlite", "postgresql"])
def runtime(request, tmp_path):
    if request.param == "sqlite":
        rt = build_runtime(Settings(data_dir=tmp_path / "data", workers=0))
        yield rt
        rt.stop()
        return
    with postgres_database() as url:
        rt = build_runtime(Settings(data_dir=tmp_path / "data", workers=0, database_url=url))
        yield rt
        rt.stop()


def _balance(runtime, account_id: str) -> Decimal | None:
    return runtime.service.accounts.account(account_id).balance_usd


def test_concurrent_creates_never_overdraw(runtime):
    """20 creates at once against a balance that covers exactly 5: exactly 5 are accepted."""
    account = runtime.service.accounts.issue("burst", credits=PRICE * 5).account
    accepted, refused, errors = [], [], []
    start = threading.Barrier(20)

    def create():
        start.wait()
        try:
            accepted.append(runtime.service.submit(DRAFT, account.id))
        except InsufficientCredits:
            refused.append(1)
        except Exception as exc:  # anything else is a bug: report it
            errors.append(exc)

    threads = [threading.Thread(target=create) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == [] and len(accepted) == 5 and len(refused) == 15
    assert _balance(runtime, account.id) == Decimal("0")
    assert len(runtime.service.list(account.id)) == 5


def test_failure_and_cancel_release_success_charges_once(runtime):
    account = runtime.service.accounts.issue("settle", credits=Decimal("1.0000")).account
    done, failed, canceled = (runtime.service.submit(DRAFT, account.id) for _ in range(3))
    assert _balance(runtime, account.id) == Decimal("0.4000")

    runtime.service.cancel(canceled.id, account.id)  # queued: canceled at once, released
    runtime.service.cancel(canceled.id, account.id)  # a second cancel releases nothing more
    assert _balance(runtime, account.id) == Decimal("0.6000")

    repo = runtime.repo
    assert repo.claim("t1", done.id) and repo.finish(done.id, "t1", Outcome(JobStatus.SUCCEEDED))
    assert repo.claim("t2", failed.id)
    assert repo.finish(
        failed.id, "t2", Outcome(JobStatus.FAILED, failure=FailureCode.RENDER_FAILED, message="x")
    )
    assert _balance(runtime, account.id) == Decimal("0.8000")  # the failure came back, the success did not

    runtime.service.delete(done.id, account.id)  # deleting a finished job refunds nothing
    runtime.service.delete(failed.id, account.id)
    assert _balance(runtime, account.id) == Decimal("0.8000")
    usage = runtime.service.accounts.usage(account.id)
    assert usage["spent_usd"] == PRICE  # what was charged stays on record after the job is gone
    assert usage["jobs"] == {"queued": 0, "running": 0, "succeeded": 0, "failed": 0, "canceled": 1}


def test_deleting_a_queued_job_releases_its_reservation(runtime):
    account = runtime.service.accounts.issue("deleter", credits=PRICE).account
    job = runtime.service.submit(DRAFT, account.id)
    with pytest.raises(InsufficientCredits):
        runtime.service.submit(DRAFT, account.id)
    runtime.service.delete(job.id, account.id)
    assert _balance(runtime, account.id) == PRICE
    assert runtime.service.submit(DRAFT, account.id)


def test_unlimited_accounts_and_open_mode_owners_are_not_billed(runtime):
    unlimited = runtime.service.accounts.issue("unlimited").account
    for owner in (unlimited.id, "an-open-mode-user"):
        for _ in range(3):
            runtime.service.submit(DRAFT, owner)
    assert _balance(runtime, unlimited.id) is None
    assert len(runtime.service.list(unlimited.id)) == 3
    job = runtime.service.list(unlimited.id)[0]
    assert runtime.repo.claim("t", job.id) and runtime.repo.finish(job.id, "t", Outcome(JobStatus.SUCCEEDED))
    assert runtime.service.accounts.usage(unlimited.id)["spent_usd"] == PRICE


def test_concurrency_slots_count_queued_and_running_jobs(runtime):
    account = runtime.service.accounts.issue("slots", concurrency=2).account
    first = runtime.service.submit(DRAFT, account.id)
    runtime.service.submit(DRAFT, account.id)
    with pytest.raises(TooManyRequests) as refused:
        runtime.service.submit(DRAFT, account.id)
    assert refused.value.retry_after > 0
    runtime.service.cancel(first.id, account.id)
    assert runtime.service.submit(DRAFT, account.id)


def test_an_account_at_its_slots_limit_reserves_nothing(runtime):
    account = runtime.service.accounts.issue("slots-credits", credits=PRICE * 3, concurrency=1).account
    runtime.service.submit(DRAFT, account.id)
    with pytest.raises(TooManyRequests):
        runtime.service.submit(DRAFT, account.id)
    assert _balance(runtime, account.id) == PRICE * 2


def test_a_burst_does_not_starve_another_account(runtime):
    """A queues 20 jobs, then B queues one: B's job starts before A's third."""
    a = runtime.service.accounts.issue("a").account
    b = runtime.service.accounts.issue("b").account
    a_jobs = [runtime.service.submit(DRAFT, a.id) for _ in range(20)]
    b_job = runtime.service.submit(DRAFT, b.id)
    repo, order = runtime.repo, []
    for n in range(3):  # one worker, serially: claim, finish, claim the next
        job_id = repo.claim(f"t{n}")
        order.append(job_id)
        assert repo.finish(job_id, f"t{n}", Outcome(JobStatus.SUCCEEDED))
    assert order == [a_jobs[0].id, b_job.id, a_jobs[1].id]


def test_with_several_workers_the_account_with_fewer_running_jobs_goes_first(runtime):
    a = runtime.service.accounts.issue("a").account
    b = runtime.service.accounts.issue("b").account
    a_jobs = [runtime.service.submit(DRAFT, a.id) for _ in range(5)]
    b_jobs = [runtime.service.submit(DRAFT, b.id) for _ in range(2)]
    claimed = [runtime.repo.claim(f"t{n}") for n in range(4)]  # four workers, none finishing
    assert claimed == [a_jobs[0].id, b_jobs[0].id, a_jobs[1].id, b_jobs[1].id]
