"""The `reelforge` command. Each module adds its commands to the one Typer app (cli/app.py):
`serve` and `worker`, `generate` and `jobs`, `keys`, `webhooks`, `doctor`."""

from reelforge.cli import doctor, keys, serve, videos, webhooks  # noqa: F401  (they add the commands)
from reelforge.cli.app import app

__all__ = ["app"]
