"""Scale-out of reelforge's own dispatch: N Celery workers on PostgreSQL and Redis, no model.

Every job renders on the `null` engine (engines/null.py): it sleeps `--delay` seconds without
using the CPU, then encodes one second of black 128x72 video, so the figures measure reelforge
(API, queue, leases, database, encode, storage), not a model competing for the machine's cores.
For N = 1, 2, 4, 8, 16 worker processes (one API node; media in a directory the nodes share, as on
one host, or with `--storage s3` in moto's S3 server) it queues `--per-worker` x N jobs while the
workers are told to stop consuming, then lets them all drain the queue, and prints jobs per minute
(first start to last finish), the ratio to N x the single-worker figure (1.0 = perfect scaling)
and how fast the API accepted the batch. The ratio also counts the drain's last wave, where
workers finish up to one job apart, so it rises with `--per-worker`. Queueing first keeps the
API's work of accepting jobs off the cores the workers share on a small machine; in a deployment
the API has its own. Then, with nothing else queued, the submit -> running latency of single jobs
on the embedded default (one `reelforge serve`, SQLite, local files) and in Celery mode. Times
come from the jobs' own rows (created, started, finished).

    python bench/throughput.py [--workers 1 2 4 8 16] [--per-worker 16] [--delay 0.5] [--storage s3]
"""

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from celery import Celery
from sqlalchemy import create_engine, select

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from reelforge.db.tables import JobRow  # noqa: E402
from testkit.cluster import cluster, wait_until  # noqa: E402
from testkit.support import ServerProcess, client  # noqa: E402


def catalog(tmp: Path, delay: float) -> Path:
    entry = {
        "id": "load-test",
        "engine": "null",
        "engine_options": {"delay_seconds": delay},
        "durations": [1],
        "default_duration": 1,
        "sizes": ["128x72"],  # tiny, so encoding takes little of the CPU the workers share
        "audio": False,
        "price_per_second": {"silent": {"72p": 0.01}},
    }
    path = tmp / "catalog.json"
    path.write_text(json.dumps({"models": [entry]}))
    return path


def submit(http, prompt: str) -> str:
    resp = http.post("/v1/videos", json={"model": "load-test", "prompt": prompt, "seconds": "1"})
    assert resp.status_code == 200, resp.text
    return resp.json()["id"].removeprefix("video_")  # the job id, as the jobs table has it


def rows(database_url: str, ids: list[str]) -> list[tuple]:
    """(status, created, started, finished) of each job."""
    engine = create_engine(database_url)
    try:
        with engine.connect() as conn:
            query = select(JobRow.id, JobRow.status, JobRow.created_at, JobRow.started_at, JobRow.finished_at)
            found = {row[0]: row[1:] for row in conn.execute(query)}
    finally:
        engine.dispose()
    return [found[i] for i in ids if i in found]


def finished(database_url: str, ids: list[str]) -> list[tuple] | None:
    got = rows(database_url, ids)
    if len(got) == len(ids) and all(r[0] in ("succeeded", "failed", "canceled") for r in got):
        assert all(r[0] == "succeeded" for r in got), {r[0] for r in got}
        return got
    return None


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[round(q * (len(ordered) - 1))]


# the settings' own defaults, not the test cluster's short intervals (heartbeats and reconciler
# passes twenty times as often), so the figures are a deployment's
INTERVALS = {"heartbeat_interval": 5, "reconcile_interval": 10, "worker_lost_after": 60}


def media(tmp: Path, storage: str) -> dict:
    """Cluster settings that put media in a shared directory instead of the cluster's S3 bucket."""
    return {} if storage == "s3" else {"storage_url": str(tmp / "media")}


def scale_run(n_workers: int, per_worker: int, tmp: Path, catalog_path: Path, storage: str) -> dict:
    jobs = per_worker * n_workers
    where = tmp / f"n{n_workers}"
    with cluster(where, catalog_path=catalog_path, **INTERVALS, **media(where, storage)) as c:
        api = c.api()
        for _ in range(n_workers):
            c.worker()
        control = Celery(broker=c.env["REELFORGE_BROKER_URL"], set_as_current=False).control
        queue = c.env["REELFORGE_QUEUE_NAME"]
        with client(api) as http:
            # warm-up: every worker has imported, connected and run a job before the clock starts
            warm = [submit(http, "warm") for _ in range(2 * n_workers)]
            wait_until(lambda: finished(c.database_url, warm), 300, "warm-up", interval=0.2)
            # the batch is queued while no worker consumes, so the API's work of accepting it does
            # not compete with the workers for this machine's cores; then all workers drain it
            assert len(control.cancel_consumer(queue, reply=True)) == n_workers
            started = time.monotonic()
            with ThreadPoolExecutor(8) as pool:
                ids = list(pool.map(lambda n: submit(http, f"job {n}"), range(jobs)))
            submit_rate = jobs / (time.monotonic() - started)
            assert len(control.add_consumer(queue, reply=True)) == n_workers
            done = wait_until(lambda: finished(c.database_url, ids), 900, "the batch", interval=0.2)
    elapsed = (max(r[3] for r in done) - min(r[2] for r in done)).total_seconds()
    runs = [(r[3] - r[2]).total_seconds() for r in done]
    return {
        "workers": n_workers,
        "jobs": jobs,
        "jobs_per_min": jobs / elapsed * 60,
        "submit_rate": submit_rate,
        "run_p50": statistics.median(runs),
    }


def idle_latency(http, database_url: str, count: int) -> tuple[float, float]:
    """Submit -> running of `count` jobs submitted one at a time, each after the last finished."""
    waits = []
    for n in range(count):
        job = submit(http, f"alone {n}")
        (row,) = wait_until(lambda job=job: finished(database_url, [job]), 60, "a job", interval=0.05)
        waits.append((row[2] - row[1]).total_seconds())
    return statistics.median(waits), percentile(waits, 0.95)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2, 4, 8, 16])
    parser.add_argument("--per-worker", type=int, default=16, help="jobs per worker in each batch")
    parser.add_argument("--delay", type=float, default=0.5, help="the null engine's wait per job, s")
    parser.add_argument("--idle-jobs", type=int, default=20)
    parser.add_argument("--storage", choices=["shared-dir", "s3"], default="shared-dir")
    args = parser.parse_args()
    print(
        f"null engine: {args.delay} s wait + 1 s of 128x72 encoded per job; "
        f"{args.per_worker} jobs per worker per batch; media in {args.storage}; "
        f"{os.cpu_count()} CPUs on this machine"
    )
    with tempfile.TemporaryDirectory() as tmp_dir:
        tmp = Path(tmp_dir)
        catalog_path = catalog(tmp, args.delay)
        results = [scale_run(n, args.per_worker, tmp, catalog_path, args.storage) for n in args.workers]
        single = next((r["jobs_per_min"] for r in results if r["workers"] == 1), None)
        for r in results:
            ratio = f"{r['jobs_per_min'] / (r['workers'] * single):.2f}" if single else "n/a"
            print(
                f"celery workers {r['workers']:2}: {r['jobs']:3} jobs {r['jobs_per_min']:7.1f} jobs/min"
                f"  ratio to N x one worker {ratio}  run p50 {r['run_p50']:.2f}s"
                f"  (queued at {r['submit_rate']:.0f} jobs/s)"
            )

        env = {"REELFORGE_CATALOG_PATH": str(catalog_path)}
        server = ServerProcess(tmp / "embedded" / "data", workers=1, env=env).start()
        try:
            with client(server) as http:
                database_url = f"sqlite:///{server.data_dir / 'reelforge.db'}"
                p50, p95 = idle_latency(http, database_url, args.idle_jobs)
        finally:
            server.stop()
        print(f"embedded default, idle: submit->running p50 {p50 * 1000:.0f} ms p95 {p95 * 1000:.0f} ms")
        with cluster(
            tmp / "idle", catalog_path=catalog_path, **INTERVALS, **media(tmp / "idle", args.storage)
        ) as c:
            api = c.api()
            c.worker()
            with client(api) as http:
                idle_latency(http, c.database_url, 2)  # warm-up
                p50, p95 = idle_latency(http, c.database_url, args.idle_jobs)
        print(f"celery, 1 worker, idle: submit->running p50 {p50 * 1000:.0f} ms p95 {p95 * 1000:.0f} ms")


if __name__ == "__main__":
    main()
