"""Throughput of N Celery workers (1, 2, 4) on the preview engine, with end-to-end latency.

Runs a real scaled-out reelforge on this machine (PostgreSQL on 127.0.0.1:5432, Redis on :6379,
moto's S3 server, one API node, N `reelforge worker` processes), submits a batch of short clips
through Leonardo's v1 API, and polls until all are done. Prints jobs per minute, the ratio to
N x the single-worker figure (1.0 = perfect scaling), and latency percentiles (submit -> done as
seen by the polling client). Note the machine's core count: workers share it with everything else.

    python bench/throughput.py [--jobs 16] [--workers 1 2 4]
"""

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from testkit.cluster import cluster, wait_until  # noqa: E402
from testkit.support import client  # noqa: E402

CATALOG = {
    "models": [
        {
            "id": "bench-clip",
            "engine": "preview",
            "durations": [2],
            "default_duration": 2,
            "sizes": ["320x180"],
            "audio": True,
            "price_per_second": {"audio": {"180p": 0.01}},
        }
    ]
}


def run(n_workers: int, jobs: int, tmp: Path) -> dict:
    catalog = tmp / "catalog.json"
    catalog.write_text(json.dumps(CATALOG))
    with cluster(tmp / f"n{n_workers}", catalog_path=catalog) as c:
        api = c.api()
        for _ in range(n_workers):
            c.worker()
        with client(api) as http:
            # warm-up: every worker has imported and connected before the clock starts
            warm = [_submit(http, "warm") for _ in range(n_workers)]
            wait_until(lambda: all(_status(http, g) == "COMPLETE" for g in warm), 120, "warm-up")

            start = time.monotonic()
            submitted = {}
            for n in range(jobs):
                submitted[_submit(http, f"job {n}")] = time.monotonic()
            done: dict[str, float] = {}
            deadline = start + 600
            while len(done) < jobs and time.monotonic() < deadline:
                for gen_id in submitted.keys() - done.keys():
                    status = _status(http, gen_id)
                    if status != "PENDING":
                        assert status == "COMPLETE", status
                        done[gen_id] = time.monotonic()
                time.sleep(0.05)
            elapsed = max(done.values()) - start
    latencies = sorted(done[g] - submitted[g] for g in done)
    return {
        "workers": n_workers,
        "jobs_per_min": jobs / elapsed * 60,
        "p50": statistics.median(latencies),
        "p95": latencies[int(0.95 * (len(latencies) - 1))],
        "max": latencies[-1],
    }


def _submit(http, prompt: str) -> str:
    body = {"model": "bench-clip", "prompt": prompt, "duration": 2, "width": 320, "height": 180}
    resp = http.post("/api/rest/v1/generations-text-to-video", json=body)
    return resp.json()["motionVideoGenerationJob"]["generationId"]


def _status(http, gen_id: str) -> str:
    return http.get(f"/api/rest/v1/generations/{gen_id}").json()["generations_by_pk"]["status"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=16)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2, 4])
    args = parser.parse_args()
    print(f"{args.jobs} jobs of 2 s 320x180 with audio per run; {os.cpu_count()} CPUs on this machine")
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        for n in args.workers:
            results.append(run(n, args.jobs, Path(tmp)))
    single = next((r["jobs_per_min"] for r in results if r["workers"] == 1), None)
    for r in results:
        ratio = f"{r['jobs_per_min'] / (r['workers'] * single):.2f}" if single else "n/a"
        print(
            f"workers {r['workers']}: {r['jobs_per_min']:6.1f} jobs/min  ratio to N x single {ratio}"
            f"  latency p50 {r['p50']:.2f}s p95 {r['p95']:.2f}s max {r['max']:.2f}s"
        )


if __name__ == "__main__":
    main()
