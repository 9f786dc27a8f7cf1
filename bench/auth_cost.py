"""What keys and limits cost: status polls per second with issued keys against open mode, and the
latency of a create with the rate limits on, side by side in one run.

    python bench/auth_cost.py [--requests 2000] [--concurrency 8] [--rounds 3] [--creates 200]

Starts two reelforge servers (`python -m reelforge serve`, no render workers, temporary data dirs):
one with `REELFORGE_AUTH=keys` and an issued key, one with `REELFORGE_AUTH=open`. Both have their
rate limits on but set out of reach (so every request pays the limiter and none is refused). One
job is created on each; then each round sends `--requests` polls of Leonardo's
`GET /api/rest/v1/generations/{id}` to each server from `--concurrency` keep-alive connections
(keys first, then open), and reports requests/s, p50 and p99, and the median round's keys/open
ratio. Last, `--creates` sequential `POST /v1/videos` per server give the create latency p50/p95.
Every step has a deadline; both servers are stopped on exit.
"""

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from testkit.support import ServerProcess  # noqa: E402

DEADLINE = 120.0  # seconds allowed for one measured run
OUT_OF_REACH = str(10**9)  # requests per minute: the limiter runs, nothing is refused
POLL = "/api/rest/v1/generations/{id}"


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


async def poll(
    url: str, headers: dict, path: str, requests: int, concurrency: int
) -> tuple[float, list[float]]:
    latencies: list[float] = []
    sent = 0

    async def one_connection(http: httpx.AsyncClient) -> None:
        nonlocal sent
        while sent < requests:
            sent += 1
            t = time.perf_counter()
            resp = await http.get(path)
            latencies.append(time.perf_counter() - t)
            resp.raise_for_status()

    async with httpx.AsyncClient(base_url=url, headers=headers, timeout=30) as http:
        start = time.perf_counter()
        await asyncio.wait_for(asyncio.gather(*(one_connection(http) for _ in range(concurrency))), DEADLINE)
        return requests / (time.perf_counter() - start), latencies


def creates(url: str, headers: dict, count: int) -> list[float]:
    latencies = []
    with httpx.Client(base_url=url, headers=headers, timeout=30) as http:
        deadline = time.monotonic() + DEADLINE
        for n in range(count):
            assert time.monotonic() < deadline, "creates took too long"
            t = time.perf_counter()
            resp = http.post("/v1/videos", json={"prompt": f"a fox {n}", "seconds": "4"})
            latencies.append(time.perf_counter() - t)
            resp.raise_for_status()
    return latencies


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--creates", type=int, default=200)
    args = parser.parse_args()
    limits = {"REELFORGE_CREATE_RPM": OUT_OF_REACH, "REELFORGE_READ_RPM": OUT_OF_REACH}
    tmp = Path(tempfile.mkdtemp(prefix="reelforge-auth-bench-"))
    servers = {
        "keys": ServerProcess(tmp / "keys" / "data", workers=0, env={**limits, "REELFORGE_AUTH": "keys"}),
        "open": ServerProcess(tmp / "open" / "data", workers=0, env={**limits, "REELFORGE_AUTH": "open"}),
    }
    try:
        headers, paths = {}, {}
        for mode, server in servers.items():
            server.start()
            key = server.key("bench") if mode == "keys" else "bench-open-key"
            headers[mode] = {"Authorization": f"Bearer {key}"}
            with httpx.Client(base_url=server.url, headers=headers[mode], timeout=30) as http:
                body = {"model": "veo-3.1-lite", "parameters": {"prompt": "poll me", "duration": 4}}
                job = http.post("/api/rest/v2/generations", json=body).json()["generate"]["generationId"]
            paths[mode] = POLL.format(id=job)
            asyncio.run(poll(server.url, headers[mode], paths[mode], 200, args.concurrency))  # warm-up
        rates: dict[str, list[float]] = {"keys": [], "open": []}
        print(f"polls: {args.requests} per round, {args.concurrency} connections")
        for n in range(args.rounds):
            for mode, server in servers.items():
                rps, latencies = asyncio.run(
                    poll(server.url, headers[mode], paths[mode], args.requests, args.concurrency)
                )
                rates[mode].append(rps)
                print(
                    f"  round {n + 1} {mode:<5} {rps:7.0f} req/s  p50 {pct(latencies, 0.5):6.2f} ms"
                    f"  p99 {pct(latencies, 0.99):6.2f} ms"
                )
        keys, open_ = statistics.median(rates["keys"]), statistics.median(rates["open"])
        print(f"median: keys {keys:.0f} req/s, open {open_:.0f} req/s, keys/open {keys / open_:.2f}")
        print(f"creates: {args.creates} sequential POST /v1/videos, limits on")
        for mode, server in servers.items():
            latencies = creates(server.url, headers[mode], args.creates)
            print(f"  {mode:<5} p50 {pct(latencies, 0.5):6.2f} ms  p95 {pct(latencies, 0.95):6.2f} ms")
    finally:
        for server in servers.values():
            server.stop()


if __name__ == "__main__":
    main()
