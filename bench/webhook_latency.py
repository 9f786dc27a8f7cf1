"""How soon a webhook follows a job's end: the time from the moment a job is recorded as finished
to the receiver's 200, p50/p95 over `--jobs` jobs, on the embedded default.

    python bench/webhook_latency.py [--jobs 50] [--workers 1]

Starts a reelforge server (`python -m reelforge serve`, SQLite and local files in a temporary data
dir, open mode, loopback allowed as a webhook target) and a receiver on loopback. A Gemini webhook
subscribed to `video.generated` is registered, then `--jobs` short Veo jobs (4 s, 720p, no audio)
are submitted through `predictLongRunning`. Each delivery's arrival (wall clock, taken by the
receiver) is compared with its job's `finished_at` in the server's database. Every step has a
deadline; the server is stopped on exit.
"""

import argparse
import json
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx
from sqlalchemy import create_engine, text

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from testkit.receiver import Receiver  # noqa: E402
from testkit.support import ServerProcess  # noqa: E402

DEADLINE = 600.0  # seconds for every job to be rendered and delivered


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def wall_clock(monotonic_at: float) -> datetime:
    """A receiver's `time.monotonic()` stamp as a UTC wall-clock time."""
    return datetime.fromtimestamp(time.time() - (time.monotonic() - monotonic_at), UTC)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--jobs", type=int, default=50)
    parser.add_argument("--workers", type=int, default=1)
    args = parser.parse_args()

    env = {"REELFORGE_AUTH": "open", "REELFORGE_WEBHOOK_ALLOWLIST": "127.0.0.1"}
    with tempfile.TemporaryDirectory() as tmp, Receiver() as receiver:
        server = ServerProcess(Path(tmp) / "data", workers=args.workers, env=env).start()
        try:
            with httpx.Client(base_url=server.url, headers={"x-goog-api-key": "bench"}, timeout=30) as api:
                hook = {"uri": receiver.url, "subscribed_events": ["video.generated"]}
                api.post("/v1beta/webhooks", json=hook).raise_for_status()
                body = {
                    "instances": [{"prompt": "a lighthouse at dusk"}],
                    "parameters": {"durationSeconds": 4, "resolution": "720p", "generateAudio": False},
                }
                for _ in range(args.jobs):
                    api.post("/v1beta/models/veo-3.1-lite:predictLongRunning", json=body).raise_for_status()
                received = receiver.wait_for(args.jobs, timeout=DEADLINE)
        finally:
            server.stop()
        database = create_engine(f"sqlite:///{Path(tmp) / 'data' / 'reelforge.db'}")
        with database.connect() as conn:
            rows = conn.execute(text("SELECT id, finished_at FROM jobs")).all()
        database.dispose()

    finished = {job_id: datetime.fromisoformat(str(at)).replace(tzinfo=UTC) for job_id, at in rows}
    delays = []
    for got in received:
        job_id = json.loads(got.body)["data"]["id"].rsplit("/", 1)[1]
        delays.append((wall_clock(got.at) - finished[job_id]).total_seconds() * 1000)
    print(f"job finished -> receiver's 200: {len(delays)} jobs, {args.workers} render worker(s)")
    print(f"  p50 {pct(delays, 0.50):8.1f} ms   p95 {pct(delays, 0.95):8.1f} ms   max {max(delays):8.1f} ms")


if __name__ == "__main__":
    main()
