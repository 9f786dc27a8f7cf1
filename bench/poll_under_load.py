"""Status polls under attack: p50/p99 of `GET /v1/videos/{id}` at rest, while 60 slow image hosts
are being fetched, and while 100k-character prompts are being submitted, side by side in one run.

    python bench/poll_under_load.py [--seconds 8] [--concurrency 4] [--slow 60] [--submitters 2]
                                    [--workers 1]

Starts a reelforge server (`python -m reelforge serve`, `--workers` render workers, a temporary
data dir, the rate limits out of reach, loopback allowed for image URLs, an image-fetch deadline a
little over a phase) and testkit's ImageServer in this process. One video is created (and awaited
unless `--workers 0`); each phase then polls it from `--concurrency` keep-alive connections for
`--seconds`:
- rest: nothing else runs;
- slow images: `--slow` creates (AI/ML API, `image_url`) whose hosts never answer (`/hang`) or
  send a byte every 2 s (`/trickle`), from `--slow / 4` accounts so no account is over its fetch
  cap; polling starts once every fetch has reached the image host;
- big prompts: `--submitters` threads submit 100k-character one-word prompts to Gemini's
  `predictLongRunning` in a loop (accepted or refused: both are counted), which the worker renders
  (`--workers 0`: nothing renders, so this is the cost of submitting alone).
Reported per phase: polls, p50 and p99 in ms, and the ratio of each to the rest figures. Every
step has a deadline; the server is stopped on exit.
"""

import argparse
import asyncio
import sys
import tempfile
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from testkit.imageserver import ImageServer  # noqa: E402
from testkit.support import ServerProcess  # noqa: E402

OUT_OF_REACH = str(10**9)  # requests per minute: nothing is refused by the rate limits
FETCHES_PER_ACCOUNT = 4  # image_fetches_per_account, the default
PROMPT = "p" * 100_000  # one word: the preview engine's worst case for layout
GEMINI = "/v1beta/models/veo-3.1-lite:predictLongRunning"
SETUP_DEADLINE = 120.0  # seconds for the video to poll to complete, or the slow fetches to start


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


async def poll(url: str, headers: dict, path: str, seconds: float, concurrency: int) -> list[float]:
    latencies: list[float] = []
    until = time.monotonic() + seconds

    async def one_connection(http: httpx.AsyncClient) -> None:
        while time.monotonic() < until:
            t = time.perf_counter()
            resp = await http.get(path)
            latencies.append(time.perf_counter() - t)
            resp.raise_for_status()

    async with httpx.AsyncClient(base_url=url, headers=headers, timeout=60) as http:
        connections = (one_connection(http) for _ in range(concurrency))
        await asyncio.wait_for(asyncio.gather(*connections), seconds + 60)
    return latencies


def auth(server: ServerProcess, name: str) -> dict:
    return {"Authorization": f"Bearer {server.key(name)}"}


def video_to_poll(server: ServerProcess, headers: dict, rendered: bool) -> str:
    with httpx.Client(base_url=server.url, headers=headers, timeout=30) as http:
        video_id = http.post("/v1/videos", json={"prompt": "poll me", "seconds": "4"}).json()["id"]
        deadline = time.monotonic() + SETUP_DEADLINE
        while rendered and http.get(f"/v1/videos/{video_id}").json()["status"] != "completed":
            assert time.monotonic() < deadline, "the video to poll did not complete"
            time.sleep(0.5)
    return video_id


def slow_creates(
    server: ServerProcess, http: httpx.Client, images: ImageServer, count: int, pool: ThreadPoolExecutor
) -> list:
    """Start `count` creates whose image hosts are slow; return once every fetch has begun."""
    accounts = [auth(server, f"slow-{n}") for n in range(-(-count // FETCHES_PER_ACCOUNT))]
    before = len(images.hits)

    def create(n: int) -> int:
        body = {
            "model": "veo-3.1-lite-generate-001",
            "prompt": "slow host",
            "image_url": f"{images.base}/{('hang', 'trickle')[n % 2]}?{n}",
        }
        return http.post("/v2/video/generations", json=body, headers=accounts[n % len(accounts)]).status_code

    futures = [pool.submit(create, n) for n in range(count)]
    deadline = time.monotonic() + SETUP_DEADLINE
    while len(images.hits) - before < count:
        assert time.monotonic() < deadline, f"only {len(images.hits) - before} of {count} fetches started"
        time.sleep(0.05)
    return futures


def big_prompts(server: ServerProcess, headers: dict, stop: threading.Event, answers: Counter) -> None:
    body = {"instances": [{"prompt": PROMPT}], "parameters": {"durationSeconds": 4}}
    with httpx.Client(base_url=server.url, headers=headers, timeout=120) as http:
        while not stop.is_set():
            answers[http.post(GEMINI, json=body).status_code] += 1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--slow", type=int, default=60)
    parser.add_argument("--submitters", type=int, default=2)
    parser.add_argument("--workers", type=int, default=1)
    args = parser.parse_args()
    env = {
        "REELFORGE_CREATE_RPM": OUT_OF_REACH,
        "REELFORGE_READ_RPM": OUT_OF_REACH,
        "REELFORGE_IMAGE_FETCH_ALLOWLIST": "127.0.0.1",
        "REELFORGE_IMAGE_FETCH_TIMEOUT": str(args.seconds + 10),
    }
    tmp = Path(tempfile.mkdtemp(prefix="reelforge-poll-load-"))
    server = ServerProcess(tmp / "data", workers=args.workers, env=env)
    images = ImageServer()
    threading.Thread(target=images.serve_forever, daemon=True).start()
    try:
        server.start()
        watcher = auth(server, "watcher")
        path = f"/v1/videos/{video_to_poll(server, watcher, rendered=args.workers > 0)}"

        def measure() -> list[float]:
            return asyncio.run(poll(server.url, watcher, path, args.seconds, args.concurrency))

        measure()  # warm-up
        figures = {"at rest": (measure(), "")}
        # one client for every create: a client each would spend ~30 ms of this process's CPU on TLS
        limits = httpx.Limits(max_connections=2 * args.slow)
        with (
            httpx.Client(base_url=server.url, timeout=120, limits=limits) as http,
            ThreadPoolExecutor(args.slow) as pool,
        ):
            futures = slow_creates(server, http, images, args.slow, pool)
            latencies = measure()
            statuses = Counter(f.result() for f in futures)
        figures[f"{args.slow} slow image hosts"] = (latencies, f"creates answered {dict(statuses)}")
        stop, answers = threading.Event(), Counter()
        submitters = [
            threading.Thread(target=big_prompts, args=(server, auth(server, f"prompts-{n}"), stop, answers))
            for n in range(args.submitters)
        ]
        for thread in submitters:
            thread.start()
        try:
            latencies = measure()
        finally:
            stop.set()
            for thread in submitters:
                thread.join(120)
        figures["100k-char prompts"] = (latencies, f"submits answered {dict(answers)}")

        rest = figures["at rest"][0]
        print(
            f"polls of GET /v1/videos/{{id}}: {args.concurrency} connections, {args.seconds:g} s a phase, "
            f"{args.workers} render worker(s)"
        )
        for name, (latencies, note) in figures.items():
            p50, p99 = pct(latencies, 0.5), pct(latencies, 0.99)
            ratios = f"x{p50 / pct(rest, 0.5):5.1f} x{p99 / pct(rest, 0.99):5.1f}"
            print(
                f"  {name:<22} {len(latencies):6d} polls  p50 {p50:8.2f} ms  p99 {p99:8.2f} ms"
                f"  vs rest {ratios}  {note}"
            )
    finally:
        server.stop()
        images.shutdown()
        images.server_close()


if __name__ == "__main__":
    main()
