"""What an upstream hop costs: the same job sent straight to a reelforge server and through a second
reelforge whose catalog routes it there (the `upstream` engine, OpenAI shape), side by side.

Both servers run here (`reelforge serve`, embedded default, keys mode). The upstream renders on
the `null` engine (`--delay` seconds, then 1 s of black 128x72), so the figures are reelforge's
own cost, not a model's. Jobs alternate direct / via the gateway; each is timed on the client from
submit to `completed` (polling every 50 ms), and the gateway polls the upstream every
`--poll-interval` seconds, the knob that dominates the hop. Prints p50 and p95 of each, and the
p50 difference and ratio.

    python bench/upstream_hop.py [--jobs 20] [--delay 2] [--poll-interval 0.25]
"""

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from testkit.support import ServerProcess, client  # noqa: E402
from testkit.upstream import catalog_entry  # noqa: E402

SIZE = {"durations": [1], "default_duration": 1, "sizes": ["128x72"], "audio": False}
PRICE = {"price_per_second": {"silent": {"72p": 0.01}}}


def timed(http: httpx.Client, model: str) -> float:
    """Seconds from submit to completed of one job."""
    started = time.perf_counter()
    resp = http.post("/v1/videos", json={"model": model, "prompt": "hop", "seconds": "1", "size": "128x72"})
    assert resp.status_code == 200, resp.text
    video_id = resp.json()["id"]
    while (status := http.get(f"/v1/videos/{video_id}").json()["status"]) in ("queued", "in_progress"):
        time.sleep(0.05)
    assert status == "completed", status
    return time.perf_counter() - started


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[round(q * (len(ordered) - 1))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=20, help="jobs each way")
    parser.add_argument("--delay", type=float, default=2.0, help="the upstream null engine's wait, s")
    parser.add_argument("--poll-interval", type=float, default=0.25, help="the gateway's polling of it, s")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp_dir:
        tmp = Path(tmp_dir)
        null = {
            "id": "null",
            "engine": "null",
            "engine_options": {"delay_seconds": args.delay},
            **SIZE,
            **PRICE,
        }
        (tmp / "upstream.json").write_text(json.dumps({"models": [null]}))
        upstream = ServerProcess(
            tmp / "upstream" / "data", env={"REELFORGE_CATALOG_PATH": str(tmp / "upstream.json")}
        )
        upstream.start()
        options = {"poll_interval": args.poll_interval, "max_poll_interval": args.poll_interval}
        hop = catalog_entry(
            "hop", "openai", upstream.url, "BENCH_UPSTREAM_KEY", options=options, **SIZE, **PRICE
        )
        hop["engine_options"]["model"] = "null"
        (tmp / "gateway.json").write_text(json.dumps({"models": [hop]}))
        env = {
            "REELFORGE_CATALOG_PATH": str(tmp / "gateway.json"),
            "REELFORGE_UPSTREAM_ALLOWLIST": "127.0.0.1",
            "BENCH_UPSTREAM_KEY": upstream.key("gateway"),
        }
        gateway = ServerProcess(tmp / "gateway" / "data", env=env).start()
        try:
            with client(upstream, key="bench") as direct_http, client(gateway, key="bench") as gateway_http:
                timed(direct_http, "null"), timed(gateway_http, "hop")  # warm-up
                direct, via = [], []
                for _ in range(args.jobs):
                    direct.append(timed(direct_http, "null"))
                    via.append(timed(gateway_http, "hop"))
        finally:
            gateway.stop()
            upstream.stop()
    print(
        f"upstream: null engine, {args.delay} s + 1 s of 128x72; gateway polls every {args.poll_interval} s"
    )
    for name, values in (("direct", direct), ("via gateway", via)):
        print(
            f"{name:12}: {len(values)} jobs, submit->completed p50 {statistics.median(values):.3f} s"
            f" p95 {percentile(values, 0.95):.3f} s"
        )
    hop_p50 = statistics.median(via) - statistics.median(direct)
    print(
        f"hop overhead: p50 +{hop_p50:.3f} s, ratio {statistics.median(via) / statistics.median(direct):.2f}"
    )


if __name__ == "__main__":
    main()
