"""The studio's first load in headless Chromium: bytes transferred and time to interactive.

    python bench/studio_load.py [--rounds 5]

Starts `python -m reelforge serve` (the embedded default, temporary data dir) and, per round, a
fresh browser context (empty cache) that opens `/`: reports the bytes transferred for the page
and its files (PerformanceResourceTiming transferSize, headers included), DOMContentLoaded (the
module scripts have run: the sign-in form works), and the time from pressing "Sign in" until the
create form and the jobs list are shown. Medians over the rounds.
"""

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from testkit.browser import chromium  # noqa: E402
from testkit.support import ServerProcess  # noqa: E402

SIZES = """() => {
  const entries = [...performance.getEntriesByType("navigation"),
                   ...performance.getEntriesByType("resource")];
  const nav = performance.getEntriesByType("navigation")[0];
  return {bytes: entries.reduce((sum, e) => sum + e.transferSize, 0), files: entries.length,
          dcl: nav.domContentLoadedEventEnd, load: nav.loadEventEnd};
}"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        server = ServerProcess(Path(tmp) / "data", workers=1).start()
        try:
            key = server.key("bench")
            rows = []
            with chromium() as browser:
                for _ in range(args.rounds):
                    context = browser.new_context()
                    page = context.new_page()
                    page.goto(server.url, wait_until="load")
                    first = page.evaluate(SIZES)
                    page.get_by_label("API key").fill(key)
                    started = time.perf_counter()
                    page.get_by_role("button", name="Sign in").click()
                    page.get_by_role("button", name="Generate").wait_for()
                    page.get_by_text("No videos yet.").wait_for()
                    first["signed_in"] = (time.perf_counter() - started) * 1000
                    rows.append(first)
                    context.close()
        finally:
            server.stop()
    median = {k: statistics.median(r[k] for r in rows) for k in rows[0]}
    print(f"first load: {median['bytes'] / 1024:.1f} KiB transferred in {median['files']:.0f} requests")
    print(f"DOMContentLoaded (interactive): {median['dcl']:.0f} ms, load: {median['load']:.0f} ms")
    print(f"Sign in -> form and jobs shown: {median['signed_in']:.0f} ms (median of {args.rounds})")


if __name__ == "__main__":
    main()
