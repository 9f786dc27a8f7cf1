"""`reelforge --help` answers without loading the server: no database, web, media or engine
package is imported until a command runs, and the defaults `--help` shows are the settings' own."""

import subprocess
import sys

import typer

from reelforge import __version__
from reelforge.config import Settings

HEAVY = ("sqlalchemy", "fastapi", "uvicorn", "av", "numpy", "PIL", "torch", "celery", "boto3", "httpx")
HEAVY += ("pydantic_settings", "reelforge.runtime")


def test_help_and_version_load_nothing_heavy():
    probe = f"import sys, reelforge.cli; print(','.join(m for m in {HEAVY!r} if m in sys.modules))"
    loaded = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60)
    assert loaded.returncode == 0, loaded.stderr
    assert loaded.stdout.strip() == ""

    shown = subprocess.run([sys.executable, "-m", "reelforge", "--help"], capture_output=True, text=True)
    assert shown.returncode == 0
    for command in ("serve", "worker", "generate", "jobs", "keys", "webhooks", "doctor"):
        assert command in shown.stdout
    version = subprocess.run([sys.executable, "-m", "reelforge", "--version"], capture_output=True, text=True)
    assert version.stdout.strip() == f"reelforge {__version__}"


def test_help_shows_the_settings_defaults_and_variables():
    from reelforge.cli import app

    command = typer.main.get_command(app)
    checked = 0
    for name in ("serve", "worker"):
        for param in command.commands[name].params:
            if not param.envvar:
                continue
            field = param.envvar.removeprefix("REELFORGE_").lower()
            assert field in Settings.model_fields, param.envvar
            default = Settings.model_fields[field].default
            if isinstance(default, str | int) and not isinstance(default, bool):
                assert param.show_default == str(default), (name, param.name)
                checked += 1
    assert checked >= 5
