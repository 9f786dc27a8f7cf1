"""The store on a real SQLite file: migrations, WAL, atomic claims, crash recovery, cancel races."""

import threading
from decimal import Decimal

from sqlalchemy import inspect, text

from reelforge.core.job import Job, JobStatus
from reelforge.core.request import GenerationRequest
from reelforge.store.db import migrate, open_engine
from reelforge.store.repository import Repository, now


def _repo(tmp_path) -> Repository:
    engine = open_engine(f"sqlite:///{tmp_path / 'db' / 'reelforge.db'}")
    migrate(engine)
    return Repository(engine)


def _job(repo: Repository, n: int = 0) -> Job:
    job = Job(
        id=f"00000000-0000-4000-8000-{n:012d}",
        owner="o",
        request=GenerationRequest(model="veo-3.1-lite", prompt="p"),
        seed=n,
        status=JobStatus.QUEUED,
        cost_usd=Decimal("0.4000"),
        created_at=now(),
    )
    repo.add_job(job)
    return job


def test_migrations_create_schema_in_wal_mode_and_are_idempotent(tmp_path):
    repo = _repo(tmp_path)
    migrate(repo.engine)  # a second run is a no-op
    tables = set(inspect(repo.engine).get_table_names())
    assert {"jobs", "assets", "alembic_version"} <= tables
    with repo.engine.connect() as conn:
        assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert conn.execute(text("SELECT version_num FROM alembic_version")).scalar() == "0001"


def test_round_trip_keeps_every_field(tmp_path):
    repo = _repo(tmp_path)
    job = _job(repo, 4_294_967_295 % 10**12)
    got = repo.get_job(job.id)
    assert got.request == job.request
    assert (got.status, got.cost_usd, got.seed) == (JobStatus.QUEUED, Decimal("0.4000"), job.seed)
    assert got.created_at == job.created_at


def test_only_one_of_many_racing_workers_claims_a_job(tmp_path):
    repo = _repo(tmp_path)
    _job(repo)
    wins, barrier = [], threading.Barrier(8)

    def worker():
        barrier.wait()
        if repo.claim():
            wins.append(1)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(wins) == 1


def test_claims_oldest_first_and_requeue_recovers_running(tmp_path):
    repo = _repo(tmp_path)
    first, second = _job(repo, 1), _job(repo, 2)
    assert repo.claim() == first.id
    assert repo.get_job(first.id).attempts == 1
    assert repo.requeue_running() == 1
    assert repo.get_job(first.id).status is JobStatus.QUEUED
    assert repo.claim() == first.id
    assert repo.claim() == second.id
    assert repo.claim() is None


def test_cancel_queued_is_immediate_running_is_flagged(tmp_path):
    repo = _repo(tmp_path)
    queued, running = _job(repo, 1), _job(repo, 2)
    assert repo.claim(running.id) == running.id
    assert repo.request_cancel(queued.id) is JobStatus.CANCELED
    assert repo.request_cancel(running.id) is JobStatus.RUNNING
    assert repo.set_progress(running.id, 10) is False  # the worker is told to stop
    assert repo.finish(running.id, JobStatus.CANCELED)
    assert repo.finish(running.id, JobStatus.SUCCEEDED) is False  # terminal states are final
