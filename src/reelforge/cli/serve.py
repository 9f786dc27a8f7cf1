"""`reelforge serve` (the HTTP server with its embedded worker) and `reelforge worker` (a Celery
worker for scale-out mode).

On a database without any API key, `serve` issues an admin key into `<data dir>/initial-admin.key`
(mode 0600) and prints only that file's path, so no key ever reaches a log.
"""

import os
from typing import Annotated

import typer

from reelforge.cli.app import (
    BrokerUrl,
    CatalogPath,
    DatabaseUrl,
    DataDir,
    StorageUrl,
    app,
    console,
    errors,
    operator,
    setting,
    settings_of,
)

INITIAL_KEY_FILE = "initial-admin.key"


@app.command()
def serve(
    host: Annotated[str | None, setting("HOST", "interface to listen on", "127.0.0.1")] = None,
    port: Annotated[int | None, setting("PORT", "port to listen on", "8000")] = None,
    data_dir: DataDir = None,
    workers: Annotated[int | None, setting("WORKERS", "jobs rendered at once (0: API only)", "1")] = None,
    public_base_url: Annotated[
        str | None, setting("PUBLIC_BASE_URL", "base of media URLs given to clients", "http://<host>:<port>")
    ] = None,
    database_url: DatabaseUrl = None,
    storage_url: StorageUrl = None,
    queue: Annotated[
        str | None, setting("QUEUE", "inprocess, or celery (render in `reelforge worker`)", "inprocess")
    ] = None,
    broker_url: BrokerUrl = None,
    catalog: CatalogPath = None,
) -> None:
    """Run the HTTP server with its embedded worker."""
    import uvicorn
    from rich.markup import escape

    from reelforge.api.app import create_app
    from reelforge.config import is_loopback, is_wildcard
    from reelforge.core.logs import logging_config, setup_logging

    settings = settings_of(
        host=host,
        port=port,
        data_dir=data_dir,
        workers=workers,
        public_base_url=public_base_url,
        database_url=database_url,
        storage_url=storage_url,
        queue=queue,
        broker_url=broker_url,
        catalog_path=catalog,
    )
    setup_logging(settings.log_format, settings.log_level)
    if settings.auth == "open":
        if not is_loopback(settings.host):
            errors.print(
                f"[red]error:[/red] REELFORGE_AUTH=open accepts any key as a user of its own, so it only "
                f"serves a loopback host (127.0.0.1, ::1, localhost), not {settings.host}. "
                "Use REELFORGE_AUTH=keys (the default) and issue keys with `reelforge keys create`."
            )
            raise typer.Exit(2)
        errors.print(
            "[yellow]warning:[/yellow] REELFORGE_AUTH=open: any API key is accepted and is a user of "
            "its own; for local development only"
        )
    else:
        _initial_admin_key(settings)
    if is_wildcard(settings.host) and settings.public_base_url is None:
        errors.print(
            f"[yellow]warning:[/yellow] listening on {escape(settings.host)} without "
            "REELFORGE_PUBLIC_BASE_URL: media and upload URLs follow each request's Host, but webhooks "
            f"sent in the background name {escape(settings.base_url)}; set REELFORGE_PUBLIC_BASE_URL "
            "(--public-base-url)"
        )
    console.print(
        f"reelforge listening on http://{settings.host}:{settings.port} (data: {settings.data_dir})"
    )
    uvicorn.run(
        create_app(settings),
        host=settings.host,
        port=settings.port,
        log_config=logging_config(settings.log_format, settings.log_level),
        log_level=settings.log_level.lower(),
        proxy_headers=False,  # read inside the app, from REELFORGE_TRUSTED_PROXIES only (api/app.py)
    )


def _initial_admin_key(settings) -> None:
    """With keys and a database that has none yet, issue an admin key, write it to
    `<data dir>/initial-admin.key` (readable by its owner only) and print the file's path."""
    with operator(settings.model_copy(update={"workers": 0})) as runtime:
        accounts = runtime.service.accounts
        if accounts.has_keys():
            return
        issued = accounts.issue("initial admin", admin=True)
    settings.data_dir.mkdir(parents=True, exist_ok=True)  # a PostgreSQL deployment may have none yet
    path = settings.data_dir / INITIAL_KEY_FILE
    path.unlink(missing_ok=True)  # left by an earlier database: its key is not this database's
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as file:
        file.write(issued.key + "\n")
    console.print(
        f"no API key existed: issued an admin key, written to {path.resolve()} (mode 0600)", markup=False
    )


@app.command()
def worker(
    concurrency: Annotated[int, typer.Option(help="jobs rendered at once (1 per GPU)")] = 1,
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
    storage_url: StorageUrl = None,
    broker_url: BrokerUrl = None,
    catalog: CatalogPath = None,
) -> None:
    """Run a Celery worker that renders jobs published by API nodes (queue=celery)."""
    from reelforge.api.app import webhook_forms
    from reelforge.core.logs import setup_logging
    from reelforge.runtime import build_runtime

    settings = settings_of(
        queue="celery",
        data_dir=data_dir,
        database_url=database_url,
        storage_url=storage_url,
        broker_url=broker_url,
        catalog_path=catalog,
    )
    setup_logging(settings.log_format, settings.log_level)
    build_runtime(settings, webhook_forms).run_celery_worker(concurrency)
