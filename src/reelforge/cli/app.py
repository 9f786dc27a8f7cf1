"""The `reelforge` Typer app and what its commands share: the consoles, the settings they build
from flags, the data dir option and the error exit.

Modules of this package import the server's parts (runtime, database, engines, the HTTP app)
inside the commands that use them, so `reelforge --help` answers without loading them.
"""

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, NoReturn

import typer
from rich.console import Console

from reelforge import __version__

if TYPE_CHECKING:
    from reelforge.runtime import Runtime


def _version(value: bool) -> None:
    if value:
        typer.echo(f"reelforge {__version__}")
        raise typer.Exit()


app = typer.Typer(help="reelforge: a self-hosted video generation server.", no_args_is_help=True)


@app.callback()
def main(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="print the version and exit")
    ] = False,
) -> None:
    """reelforge: a self-hosted video generation server."""


console = Console(width=None if sys.stdout.isatty() else 200)  # full ids when piped
errors = Console(stderr=True)


def setting(name: str, help: str, default: str, *flags: str):
    """An option that sets `REELFORGE_<name>`: read from that variable when the flag is not given;
    `--help` shows both, with the default the settings use (tests/test_cli.py keeps them equal)."""
    return typer.Option(*flags, envvar=f"REELFORGE_{name}", help=help, show_default=default)


DataDir = Annotated[
    Path | None,
    setting(
        "DATA_DIR",
        "database and media directory",
        "the user data dir, ~/.local/share/reelforge on Linux",
        "--data-dir",
    ),
]
DatabaseUrl = Annotated[
    str | None, setting("DATABASE_URL", "SQLAlchemy database URL", "sqlite:///<data dir>/reelforge.db")
]
StorageUrl = Annotated[
    str | None, setting("STORAGE_URL", "media directory or s3://bucket/prefix", "<data dir>/media")
]
BrokerUrl = Annotated[str | None, setting("BROKER_URL", "Celery broker URL", "redis://127.0.0.1:6379/0")]
CatalogPath = Annotated[
    Path | None, setting("CATALOG_PATH", "model catalog JSON file", "the built-in catalog", "--catalog")
]


def settings_of(**overrides):
    """Settings from the environment, with the flags that were given on top."""
    from reelforge.config import Settings

    return Settings(**{k: v for k, v in overrides.items() if v is not None})


def fail(message: str, code: int = 2) -> NoReturn:
    """End the command with one line on stderr and a non-zero exit."""
    from rich.markup import escape

    errors.print(f"[red]error:[/red] {escape(message)}", soft_wrap=True)  # one line, however long
    raise typer.Exit(code)


@contextmanager
def operator(settings, webhook_forms: bool = True) -> Iterator["Runtime"]:
    """The system these settings configure, for one command; its errors end the command. Commands
    that manage no webhooks pass `webhook_forms=False` and skip loading the HTTP app (the dialects'
    webhook forms live there), which halves their start-up time."""
    from reelforge.core.errors import ReelforgeError
    from reelforge.runtime import build_runtime

    forms = None
    if webhook_forms:
        from reelforge.api.app import webhook_forms as forms
    runtime = build_runtime(settings, forms)
    try:
        yield runtime
    except ReelforgeError as exc:
        fail(exc.message)
    finally:
        runtime.stop()


def when(at: datetime | None, never: str = "-") -> str:
    return at.strftime("%Y-%m-%d %H:%M:%S") if at else never
