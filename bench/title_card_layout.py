"""How long the preview engine's title card takes to lay out its prompt, by prompt length and kind.

A one-word prompt is the worst case (the word is split between characters); words of five letters
are the ordinary one. The time is `PreviewEngine.generate` (no audio), where the text is laid out
once, at 1280x720; each figure is the median of a few runs. Before issue 10 a one-word
prompt of 32000 characters took about 7 s here, all of it holding the GIL.

Run from the repository root with the package importable: `python bench/title_card_layout.py`
(or `PYTHONPATH=src python bench/title_card_layout.py` before `pip install -e .`).
"""

import statistics
import time

from reelforge.core.request import MAX_PROMPT, GenerationRequest
from reelforge.engines.base import RenderContext
from reelforge.engines.preview import PreviewEngine

REPEATS = 3
LENGTHS = (100, 1_000, 10_000, MAX_PROMPT)


def layout_seconds(prompt: str) -> float:
    request = GenerationRequest(
        model="veo-3.1-lite", prompt=prompt, width=1280, height=720, duration=4, audio=False
    )
    ctx = RenderContext(request, 1234, None, None, progress=lambda f: None, is_canceled=lambda: False)
    started = time.perf_counter()
    PreviewEngine().generate(ctx)
    return time.perf_counter() - started


def main() -> None:
    layout_seconds("warm up")
    print(f"{'characters':>10}  {'one word':>9}  {'words':>9}")
    for length in LENGTHS:
        word = statistics.median(layout_seconds("p" * length) for _ in range(REPEATS))
        words = statistics.median(layout_seconds(("fox " * length)[:length]) for _ in range(REPEATS))
        print(f"{length:>10}  {word * 1000:>7.0f}ms  {words * 1000:>7.0f}ms")


if __name__ == "__main__":
    main()
