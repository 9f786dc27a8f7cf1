"""Status-poll throughput: reelforge's `GET /api/rest/v1/generations/{id}` against a bare FastAPI app.

    python bench/poll_rate.py [--requests 3000] [--concurrency 8] [--rounds 3]

Starts a reelforge server (`python -m reelforge serve`, one render worker, a temporary data dir,
an API key issued on its database, the per-key read limit lifted so that no poll is refused)
and a bare FastAPI app under uvicorn (one sync GET endpoint returning a static copy of the very
JSON reelforge answers, so payload sizes are identical), both as subprocesses on loopback, both
run with `uvicorn.run(..., log_level="info")` as reelforge's CLI does (access log on, written to a
file). One generation is created on reelforge and awaited; then each round sends the same number
of GETs to each server from an asyncio + httpx.AsyncClient client holding `--concurrency`
keep-alive connections, reelforge first, then the bare app. Reported per server: requests/s, p50
and p99 latency, and the server process's CPU time per request (from /proc, Linux only), which
is less sensitive than requests/s to the client sharing the machine's cores. The median round by
requests/s is summarised with the reelforge/bare ratio. Every step has a deadline; both servers
are stopped on exit.
"""

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from testkit.support import (  # noqa: E402
    ServerProcess,
    client,
    free_port,
    stop_process,
    wait_for_generation,
    wait_healthy,
)

POLL_PATH = "/api/rest/v1/generations/{id}"
RUN_DEADLINE = 120.0  # seconds allowed for one measured run
WARMUP = 200

BARE_APP = textwrap.dedent(
    """
    import json
    import sys

    import uvicorn
    from fastapi import FastAPI

    with open(sys.argv[2]) as f:
        PAYLOAD = json.load(f)

    app = FastAPI()


    @app.get("/api/rest/v1/generations/{generation_id}")
    def get_generation(generation_id: str) -> dict:
        return PAYLOAD


    @app.get("/healthz")
    def healthz() -> dict:
        return {"ok": True}


    if __name__ == "__main__":
        uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_level="info")
    """
)


class BareServer:
    """The bare FastAPI app in its own uvicorn subprocess."""

    def __init__(self, workdir: Path, payload: dict):
        self.workdir = workdir
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        (workdir / "bare_app.py").write_text(BARE_APP)
        (workdir / "payload.json").write_text(json.dumps(payload))
        self.proc: subprocess.Popen | None = None
        self.log = None

    def start(self, timeout: float = 30) -> "BareServer":
        self.log = open(self.workdir / "bare.log", "ab")  # noqa: SIM115
        script, payload = self.workdir / "bare_app.py", self.workdir / "payload.json"
        self.proc = subprocess.Popen(
            [sys.executable, str(script), str(self.port), str(payload)],
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        wait_healthy(self.proc, f"{self.url}/healthz", timeout, "bare app")
        return self

    def stop(self) -> None:
        stop_process(self.proc)
        if self.log:
            self.log.close()


def cpu_seconds(pid: int) -> float | None:
    """User + system CPU time of a process (Linux /proc), or None elsewhere."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@dataclass
class Result:
    name: str
    requests: int
    errors: int
    seconds: float
    latencies: list[float]
    server_cpu: float | None
    client_cpu: float

    @property
    def rps(self) -> float:
        return self.requests / self.seconds

    def pct(self, q: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000

    def line(self) -> str:
        cpu = f"{self.server_cpu / self.requests * 1e6:7.0f} us" if self.server_cpu is not None else "    n/a"
        return (
            f"{self.name:<10} {self.rps:9.0f} req/s"
            f"  p50 {self.pct(0.50):6.2f} ms  p99 {self.pct(0.99):6.2f} ms"
            f"  server CPU/req {cpu}  client CPU {self.client_cpu:5.2f} s  errors {self.errors}"
        )


async def hammer(base_url: str, path: str, total: int, concurrency: int, headers: dict) -> tuple:
    """`total` GETs from `concurrency` workers sharing one keep-alive pool.

    Returns (seconds, per-request latencies, error count)."""
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    latencies: list[float] = []
    errors = 0
    remaining = total

    async with httpx.AsyncClient(base_url=base_url, headers=headers, limits=limits, timeout=10) as http:

        async def worker() -> None:
            nonlocal remaining, errors
            while remaining > 0:
                remaining -= 1
                t0 = time.perf_counter()
                try:
                    resp = await http.get(path)
                    ok = resp.status_code == 200
                except httpx.HTTPError:
                    ok = False
                latencies.append(time.perf_counter() - t0)
                errors += not ok

        # Open the connections before the clock starts.
        await asyncio.gather(*(http.get(path) for _ in range(concurrency)))
        start = time.perf_counter()
        await asyncio.wait_for(asyncio.gather(*(worker() for _ in range(concurrency))), RUN_DEADLINE)
        seconds = time.perf_counter() - start
    return seconds, latencies, errors


def measure(name: str, base_url: str, path: str, pid: int, args, headers: dict) -> Result:
    asyncio.run(hammer(base_url, path, WARMUP, args.concurrency, headers))
    cpu0, client0 = cpu_seconds(pid), time.process_time()
    seconds, latencies, errors = asyncio.run(hammer(base_url, path, args.requests, args.concurrency, headers))
    cpu1, client1 = cpu_seconds(pid), time.process_time()
    server_cpu = cpu1 - cpu0 if cpu0 is not None and cpu1 is not None else None
    return Result(name, args.requests, errors, seconds, latencies, server_cpu, client1 - client0)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=3000, help="measured GETs per server per round")
    parser.add_argument("--concurrency", type=int, default=8, help="concurrent keep-alive connections")
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds (median one summarised)")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="reelforge-bench-") as tmp:
        tmp_dir = Path(tmp)
        (tmp_dir / "reelforge").mkdir()
        # Every measured GET is a read of one key: lift the per-key read limit out of the way.
        env = {"REELFORGE_READ_RPM": str(10**9)}
        reelforge = ServerProcess(tmp_dir / "reelforge" / "data", workers=1, env=env)
        bare = None
        try:
            reelforge.start()
            with client(reelforge) as http:
                created = http.post(
                    "/api/rest/v1/generations-text-to-video",
                    json={
                        "prompt": "poll-rate bench",
                        "model": "VEO3_1FAST",
                        "duration": 4,
                        "resolution": "RESOLUTION_720",
                        "width": 1280,
                        "height": 720,
                    },
                )
                created.raise_for_status()
                generation_id = created.json()["motionVideoGenerationJob"]["generationId"]
                t0 = time.monotonic()
                generation = wait_for_generation(http, generation_id, timeout=120)
                assert generation["status"] == "COMPLETE", generation["status"]
                print(f"generation {generation_id} COMPLETE after {time.monotonic() - t0:.1f}s")
                payload = http.get(POLL_PATH.format(id=generation_id)).json()
                headers = dict(http.headers)

            bare = BareServer(tmp_dir, payload).start()
            size = len(httpx.get(bare.url + POLL_PATH.format(id=generation_id)).content)
            print(
                f"payload {size} bytes; {args.requests} GETs x {args.rounds} rounds per server, "
                f"concurrency {args.concurrency}, {os.cpu_count()} CPUs shared by client and servers"
            )

            path = POLL_PATH.format(id=generation_id)
            rounds: list[tuple[Result, Result]] = []
            for n in range(1, args.rounds + 1):
                ours = measure("reelforge", reelforge.url, path, reelforge.proc.pid, args, headers)
                base = measure("bare", bare.url, path, bare.proc.pid, args, headers)
                rounds.append((ours, base))
                print(f"round {n}")
                print("  " + ours.line())
                print("  " + base.line())

            ours, base = sorted(rounds, key=lambda r: r[0].rps)[len(rounds) // 2]
            ratio = statistics.median(o.rps / b.rps for o, b in rounds)
            print("median round")
            print("  " + ours.line())
            print("  " + base.line())
            print(
                f"reelforge/bare requests/s ratio: {ours.rps / base.rps:.2f}"
                f" (median of per-round ratios {ratio:.2f})"
            )
            if ours.server_cpu is not None and base.server_cpu is not None:
                print(f"reelforge/bare server CPU per request: {ours.server_cpu / base.server_cpu:.2f}x")
            if ours.errors or base.errors:
                print("some requests failed", file=sys.stderr)
                return 1
            return 0
        finally:
            if bare:
                bare.stop()
            reelforge.stop()


if __name__ == "__main__":
    sys.exit(main())
