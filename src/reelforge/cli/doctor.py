"""`reelforge doctor`: what this machine can actually do with its settings: torch and CUDA, each
catalog model (packages, weights; an upstream's credential variable, and unless `--offline` one
authenticated call to it), PyAV's encoders, the database, the broker (Celery mode) and blob
storage, one line each, ok or the problem. It changes nothing but a probe object in storage:
no migration, no key file."""

import secrets
from pathlib import Path
from typing import Annotated

import typer

from reelforge.cli.app import CatalogPath, DatabaseUrl, DataDir, StorageUrl, app, console, settings_of

UPSTREAM_PROBE_TIMEOUT = 35.0  # seconds: one call, within the entry's request_timeout (30 s by default)


@app.command()
def doctor(
    catalog: CatalogPath = None,
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
    storage_url: StorageUrl = None,
    offline: Annotated[
        bool, typer.Option("--offline", help="make no call to the catalog's upstream providers")
    ] = False,
) -> None:
    """Check what this machine can run and reach: torch, CUDA, models, codecs, database, broker,
    storage. Exits 1 on a problem."""
    from rich.markup import escape

    from reelforge import doctor as checks
    from reelforge.blobs import open_blobs
    from reelforge.runtime import open_catalog

    settings = settings_of(
        catalog_path=catalog, data_dir=data_dir, database_url=database_url, storage_url=storage_url
    )
    problems = 0

    def line(ok: bool, text: str) -> None:
        nonlocal problems
        problems += not ok
        mark = "[green]ok[/green]     " if ok else "[red]problem[/red]"
        console.print(f"{mark} {escape(text)}")

    def probe(name: str, run, timeout: float = checks.PROBE_TIMEOUT) -> None:
        [check] = checks.run_probes({name: run}, timeout)
        line(check.ok, check.detail if name == "torch" else f"{name}: {check.detail}")

    versions = checks.package_versions()
    console.print(
        "packages: " + ", ".join(f"{name} {version or 'absent'}" for name, version in versions.items()),
        markup=False,
    )
    probe("torch", checks.torch_status, timeout=120)  # importing torch takes seconds
    try:
        models = open_catalog(settings)
    except (OSError, ValueError) as exc:
        line(False, f"catalog: {exc}")
    else:
        for report in map(checks.check_model, models.models):
            details = report.problems or [
                *report.notes,
                *(f"{modes}: {where}" for modes, where in report.weights.items()),
            ]
            line(report.ok, f"model {report.id} ({report.engine}): {'; '.join(details) or 'ready'}")
            if report.ok and report.engine == "upstream" and not offline:
                spec = models.get(report.id)
                probe(
                    f"upstream {report.id}",
                    lambda spec=spec: checks.upstream_status(spec, settings.upstream_allowlist),
                    timeout=UPSTREAM_PROBE_TIMEOUT,
                )
    probe("codecs", checks.codecs_status)
    probe("database", lambda: _database(settings.db_url))
    if settings.queue == "celery":
        probe("queue", lambda: checks.broker_status(settings.broker_url))
    # The probe signs no URL, so a throw-away secret keeps doctor from creating the server's key file.
    probe("storage", lambda: checks.storage_status(open_blobs(settings, secrets.token_bytes(32))))
    if problems:
        raise typer.Exit(1)


def _database(url: str) -> str:
    """The database's status; a SQLite file that does not exist yet is not created here."""
    from sqlalchemy.engine import make_url

    from reelforge.db.connect import open_database
    from reelforge.doctor import database_status

    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database and not Path(parsed.database).exists():
        return f"{url}: not created yet; `reelforge serve` creates it"
    database = open_database(url)
    try:
        return database_status(database)
    finally:
        database.dispose()
