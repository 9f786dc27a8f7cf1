"""Entry point for `python -m reelforge`."""

from reelforge.cli import app

app()
