"""The `reelforge` command: `serve` the embedded server, `generate` one video locally, list `jobs`,
issue and manage API `keys`, see and redeliver `webhooks` deliveries, check the installation with
`doctor`.

Keys are shown once: `keys create` prints the new key as the last line of its output, and `serve`
on a database without any key issues an admin key into `<data dir>/initial-admin.key` (mode 0600)
and prints only that file's path, so no key ever reaches a log.
"""

import os
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer
from pydantic import BaseModel, ValidationError
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from reelforge.api.admin import KeyCreate, KeyUpdate, issue_key, update_key_of
from reelforge.api.app import webhook_forms
from reelforge.config import Settings, is_loopback
from reelforge.core.accounts import Account, ApiKey
from reelforge.core.errors import ReelforgeError, first_error
from reelforge.core.request import Draft, FrameInput, FrameKind, Orientation
from reelforge.core.webhooks import DeliveryStatus, Webhook
from reelforge.runtime import Runtime, build_runtime

app = typer.Typer(help="reelforge: a self-hosted video generation server.", no_args_is_help=True)
keys_app = typer.Typer(
    help="Issue, list, revoke and change API keys on the configured database (as `serve` uses it).",
    no_args_is_help=True,
)
app.add_typer(keys_app, name="keys")
webhooks_app = typer.Typer(
    help="See webhook deliveries and send one again, on the configured database.", no_args_is_help=True
)
app.add_typer(webhooks_app, name="webhooks")
console = Console(width=None if sys.stdout.isatty() else 200)  # full ids when piped
errors = Console(stderr=True)

INITIAL_KEY_FILE = "initial-admin.key"
KEY_OR_PREFIX = "the key, its prefix (rf_ and 8 characters, as `keys list` shows) or its id"

DataDir = Annotated[Path | None, typer.Option("--data-dir", help="database and media directory")]


def _settings(**overrides) -> Settings:
    return Settings(**{k: v for k, v in overrides.items() if v is not None})


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="interface to listen on")] = None,
    port: Annotated[int | None, typer.Option(help="port to listen on")] = None,
    data_dir: DataDir = None,
    workers: Annotated[int | None, typer.Option(help="jobs rendered at once (0: API only)")] = None,
    public_base_url: Annotated[str | None, typer.Option(help="base of media URLs given to clients")] = None,
    database_url: Annotated[str | None, typer.Option(help="SQLAlchemy database URL")] = None,
    storage_url: Annotated[str | None, typer.Option(help="media directory or s3://bucket/prefix")] = None,
    queue: Annotated[
        str | None, typer.Option(help="inprocess, or celery (render in `reelforge worker`)")
    ] = None,
    broker_url: Annotated[str | None, typer.Option(help="Celery broker URL")] = None,
    catalog: Annotated[Path | None, typer.Option(help="model catalog JSON file")] = None,
) -> None:
    """Run the HTTP server with its embedded worker."""
    import uvicorn

    from reelforge.api.app import create_app

    settings = _settings(
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
    console.print(
        f"reelforge listening on http://{settings.host}:{settings.port} (data: {settings.data_dir})"
    )
    uvicorn.run(create_app(settings), host=settings.host, port=settings.port, log_level="info")


def _initial_admin_key(settings: Settings) -> None:
    """With keys and a database that has none yet, issue an admin key, write it to
    `<data dir>/initial-admin.key` (readable by its owner only) and print the file's path."""
    with _operator(settings.model_copy(update={"workers": 0})) as runtime:
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
        f"no API key existed: issued an admin key, written to {escape(str(path.resolve()))} (mode 0600)"
    )


def _frame(path: Path | None) -> FrameInput | None:
    return FrameInput(FrameKind.BYTES, path.read_bytes()) if path else None


@app.command()
def generate(
    prompt: Annotated[str, typer.Argument(help="what the video shows")],
    output: Annotated[Path, typer.Option("-o", "--output", help="where to write the MP4")] = Path("out.mp4"),
    image: Annotated[Path | None, typer.Option(help="start frame image")] = None,
    end_image: Annotated[Path | None, typer.Option(help="end frame image (needs --image)")] = None,
    model: Annotated[str, typer.Option(help="catalog model id")] = "veo-3.1-lite",
    duration: Annotated[int | None, typer.Option(help="seconds")] = None,
    resolution: Annotated[str | None, typer.Option(help="720p or 1080p")] = None,
    aspect: Annotated[str, typer.Option(help="16:9 or 9:16")] = "16:9",
    audio: Annotated[bool, typer.Option("--audio/--no-audio", help="with a soundtrack")] = True,
    seed: Annotated[int | None, typer.Option(help="0..4294967295")] = None,
    negative_prompt: Annotated[str | None, typer.Option(help="what to avoid")] = None,
    data_dir: DataDir = None,
) -> None:
    """Render one video through the job service and save it."""
    if aspect not in ("16:9", "9:16"):
        raise typer.BadParameter("aspect must be 16:9 or 9:16", param_hint="--aspect")
    draft = Draft(
        model=model,
        prompt=prompt,
        negative_prompt=negative_prompt,
        duration=duration,
        resolution=resolution,
        orientation=Orientation.PORTRAIT if aspect == "9:16" else Orientation.LANDSCAPE,
        audio=audio,
        seed=seed,
        start=_frame(image),
        end=_frame(end_image),
    )
    runtime = build_runtime(_settings(data_dir=data_dir, workers=0))
    service = runtime.service
    try:
        job = service.submit(draft, "cli")
    except ReelforgeError as exc:
        console.print(f"[red]error:[/red] {exc.message}")
        raise typer.Exit(2) from None

    # Render here unless a server on the same database leases the job first.
    threading.Thread(target=runtime.worker.work_next, kwargs={"only": job.id}, daemon=True).start()
    columns = (TextColumn("{task.description}"), BarColumn(), TaskProgressColumn(), TimeElapsedColumn())
    with Progress(*columns, console=console) as bar:
        req = job.request
        task = bar.add_task(f"{req.width}x{req.height} {req.duration}s seed {job.seed}", total=100)
        while not (job := service.get(job.id)).status.is_terminal:
            bar.update(task, completed=job.progress)
            time.sleep(0.2)
        bar.update(task, completed=job.progress)
    if not job.outputs:
        runtime.stop()
        console.print(f"[red]{job.status.value}:[/red] {job.error_message or ''}")
        raise typer.Exit(1)
    output.write_bytes(service.media.read(job.outputs[0].video_key))
    runtime.stop()
    console.print(f"wrote {output} ({job.outputs[0].video_bytes} bytes, cost ${job.cost_usd})")


@app.command()
def worker(
    concurrency: Annotated[int, typer.Option(help="jobs rendered at once (1 per GPU)")] = 1,
    data_dir: DataDir = None,
    database_url: Annotated[str | None, typer.Option(help="SQLAlchemy database URL")] = None,
    storage_url: Annotated[str | None, typer.Option(help="media directory or s3://bucket/prefix")] = None,
    broker_url: Annotated[str | None, typer.Option(help="Celery broker URL")] = None,
    catalog: Annotated[Path | None, typer.Option(help="model catalog JSON file")] = None,
) -> None:
    """Run a Celery worker that renders jobs published by API nodes (queue=celery)."""
    settings = _settings(
        queue="celery",
        data_dir=data_dir,
        database_url=database_url,
        storage_url=storage_url,
        broker_url=broker_url,
        catalog_path=catalog,
    )
    build_runtime(settings, webhook_forms).run_celery_worker(concurrency)


@app.command()
def jobs(
    limit: Annotated[int, typer.Option(help="how many")] = 20,
    data_dir: DataDir = None,
) -> None:
    """Recent jobs, newest first."""
    runtime = build_runtime(_settings(data_dir=data_dir, workers=0))
    table = Table("id", "model", "status", "progress", "size", "secs", "cost $", "created")
    for job in runtime.service.list(limit=limit):
        req = job.request
        table.add_row(
            job.id,
            req.model,
            job.status.value,
            f"{job.progress}%",
            f"{req.width}x{req.height}",
            str(req.duration),
            str(job.cost_usd),
            job.created_at.strftime("%Y-%m-%d %H:%M:%S"),
        )
    runtime.stop()
    console.print(table)


@app.command()
def doctor(
    catalog: Annotated[Path | None, typer.Option(help="model catalog JSON file")] = None,
) -> None:
    """Check that every catalog model can run here: packages, weights, GPUs. Exits 1 on a problem."""
    from reelforge import doctor as checks
    from reelforge.runtime import open_catalog

    try:
        models = open_catalog(_settings(catalog_path=catalog))
    except (OSError, ValueError) as exc:
        console.print(f"[red]catalog:[/red] {exc}")
        raise typer.Exit(2) from None
    versions = checks.package_versions()
    console.print(
        "packages: "
        + ", ".join(f"{name} {version or '[dim]absent[/dim]'}" for name, version in versions.items())
    )
    console.print("GPUs: " + (", ".join(checks.devices()) or "none (diffusers engines run on the CPU)"))
    table = Table("model", "engine", "status", "details")
    reports = [checks.check_model(spec) for spec in models.models]
    for report in reports:
        details = [f"[red]{p}[/red]" for p in report.problems] + report.notes
        if report.ok:
            details += [f"{modes}: {where}" for modes, where in report.weights.items()]
        table.add_row(
            report.id, report.engine, "ok" if report.ok else "[red]not ready[/red]", "\n".join(details)
        )
    console.print(table)
    if not all(report.ok for report in reports):
        raise typer.Exit(1)


@contextmanager
def _operator(settings: Settings) -> Iterator[Runtime]:
    """The system these settings configure, for one operator command; errors end the command."""
    runtime = build_runtime(settings, webhook_forms)
    try:
        yield runtime
    except ReelforgeError as exc:
        errors.print(f"[red]error:[/red] {exc.message}")
        raise typer.Exit(2) from None
    finally:
        runtime.stop()


OPTION_OF = {
    "name": "--name",
    "credits_usd": "--credits",
    "account_id": "--account",
    "webhook_url": "--webhook-url",
    "webhook_api_key": "--webhook-api-key",
}


def _checked(model: type[BaseModel], values: dict) -> BaseModel:
    """The admin API's request model, so the CLI and the API share one set of rules."""
    try:
        return model.model_validate(values)
    except ValidationError as exc:
        field, message, _ = first_error(exc)
        hint = OPTION_OF.get(field, f"--{field}") if field else None
        raise typer.BadParameter(message, param_hint=hint) from None


def _when(at: datetime | None, never: str = "-") -> str:
    return at.strftime("%Y-%m-%d %H:%M:%S") if at else never


def _balance(account: Account) -> str:
    return "unlimited" if account.balance_usd is None else f"${account.balance_usd}"


def _rpm(key: ApiKey, default_rpm: int) -> str:
    return f"default ({default_rpm})" if key.rpm is None else str(key.rpm)


def _concurrency(account: Account) -> str:
    return "unlimited" if account.concurrency is None else str(account.concurrency)


def _limits(key: ApiKey, account: Account, default_rpm: int) -> str:
    return f"credits {_balance(account)}, rpm {_rpm(key, default_rpm)}, concurrency {_concurrency(account)}"


def _named(key: ApiKey) -> str:
    return f"{key.prefix} '{escape(key.name)}'"


def _callback(webhook: Webhook | None) -> str:
    if webhook is None:
        return "webhook callback: none"
    bearer = ", with a bearer key" if webhook.bearer else ""
    return f"webhook callback: {escape(webhook.uri)} ({webhook.state.value}{bearer})"


WebhookUrl = Annotated[
    str | None,
    typer.Option(help="Leonardo webhook callback URL for this key's generations; `none` removes it (update)"),
]
WebhookApiKey = Annotated[
    str | None,
    typer.Option(help="sent to the callback as `Authorization: Bearer <it>`; `none` removes it (update)"),
]


@keys_app.command("create")
def keys_create(
    name: Annotated[str, typer.Option(help="who or what the key is for")],
    admin: Annotated[bool, typer.Option("--admin", help="may call the admin API (/admin/v1)")] = False,
    credits: Annotated[str | None, typer.Option(help="balance in USD (default: unlimited)")] = None,
    rpm: Annotated[
        int | None, typer.Option(help="creates per minute (default: REELFORGE_CREATE_RPM)")
    ] = None,
    concurrency: Annotated[
        int | None, typer.Option(help="jobs queued or running at once (default: unlimited)")
    ] = None,
    account: Annotated[
        str | None, typer.Option(help="add the key to this account (rotation) instead of a new one")
    ] = None,
    webhook_url: WebhookUrl = None,
    webhook_api_key: WebhookApiKey = None,
    data_dir: DataDir = None,
) -> None:
    """Issue a key; the key itself is the last line of the output, shown this once."""
    values = dict(name=name, admin=admin, credits_usd=credits, rpm=rpm, concurrency=concurrency)
    webhook = dict(webhook_url=webhook_url, webhook_api_key=webhook_api_key)
    body = _checked(KeyCreate, {**values, **webhook, "account_id": account})
    with _operator(_settings(data_dir=data_dir, workers=0)) as runtime:
        issued, callback = issue_key(runtime.service, body)
        limits = _limits(issued.api_key, issued.account, runtime.settings.create_rpm)
    role = "admin key" if issued.api_key.admin else "key"
    console.print(f"{role} {_named(issued.api_key)} of account {issued.account.id}")
    console.print(limits)
    if callback is not None:
        console.print(_callback(callback))
    console.print("store the key now: it is not shown again, only its hash is kept")
    typer.echo(issued.key)


@keys_app.command("list")
def keys_list(data_dir: DataDir = None) -> None:
    """Every key with its account, limits, balance and webhook callback (never the key itself)."""
    with _operator(_settings(data_dir=data_dir, workers=0)) as runtime:
        rows = runtime.service.accounts.keys()
        callbacks = runtime.webhooks.of_keys([key.id for key, _ in rows])
        default_rpm = runtime.settings.create_rpm
    table = Table(
        "name",
        "prefix",
        "account",
        "admin",
        "rpm",
        "concurrency",
        "balance",
        "created",
        "last used",
        "revoked",
        "webhook callback",
    )
    for key, account in rows:
        table.add_row(
            escape(key.name),
            key.prefix,
            account.id,
            "yes" if key.admin else "",
            _rpm(key, default_rpm),
            _concurrency(account),
            _balance(account),
            _when(key.created_at),
            _when(key.last_used_at, "never"),
            _when(key.revoked_at),
            escape(callbacks[key.id].uri) if key.id in callbacks else "",
        )
    console.print(table)


@keys_app.command("revoke")
def keys_revoke(
    key_or_prefix: Annotated[str, typer.Argument(metavar="KEY_OR_PREFIX", help=KEY_OR_PREFIX)],
    data_dir: DataDir = None,
) -> None:
    """Revoke a key: every API node refuses it (401) from its next request on."""
    with _operator(_settings(data_dir=data_dir, workers=0)) as runtime:
        key = runtime.service.accounts.revoke(key_or_prefix)
    console.print(f"revoked {_named(key)} (at {_when(key.revoked_at)})")


@keys_app.command("update")
def keys_update(
    key_or_prefix: Annotated[str, typer.Argument(metavar="KEY_OR_PREFIX", help=KEY_OR_PREFIX)],
    credits: Annotated[
        str | None, typer.Option(help="set the account's balance, USD; `unlimited` removes the limit")
    ] = None,
    rpm: Annotated[
        str | None, typer.Option(help="creates per minute of this key; `default`: REELFORGE_CREATE_RPM")
    ] = None,
    concurrency: Annotated[
        str | None, typer.Option(help="the account's jobs queued or running at once; `unlimited`")
    ] = None,
    webhook_url: WebhookUrl = None,
    webhook_api_key: WebhookApiKey = None,
    data_dir: DataDir = None,
) -> None:
    """Change a key's rpm or webhook callback, or its account's credits or concurrency; options left
    out stay as they are."""
    given = {}
    for field, value, clear in (
        ("credits_usd", credits, "unlimited"),
        ("rpm", rpm, "default"),
        ("concurrency", concurrency, "unlimited"),
        ("webhook_url", webhook_url, "none"),
        ("webhook_api_key", webhook_api_key, "none"),
    ):
        if value is not None:
            given[field] = None if value == clear else value
    if not given:
        raise typer.BadParameter("give --credits, --rpm, --concurrency, --webhook-url or --webhook-api-key")
    body = _checked(KeyUpdate, given)
    with _operator(_settings(data_dir=data_dir, workers=0)) as runtime:
        key, account, callback = update_key_of(runtime.service, key_or_prefix, body)
        limits = _limits(key, account, runtime.settings.create_rpm)
    console.print(f"updated {_named(key)} of account {account.id}: {limits}")
    console.print(_callback(callback))


@webhooks_app.command("deliveries")
def webhooks_deliveries(
    account: Annotated[str | None, typer.Option(help="only this account's")] = None,
    webhook: Annotated[str | None, typer.Option(help="only this webhook's")] = None,
    status: Annotated[DeliveryStatus | None, typer.Option(help="pending, delivered or failed")] = None,
    limit: Annotated[int, typer.Option(min=1, max=1000, help="how many")] = 50,
    data_dir: DataDir = None,
) -> None:
    """Webhook deliveries, newest first: status, attempts, the receiver's last answer."""
    with _operator(_settings(data_dir=data_dir, workers=0)) as runtime:
        found = runtime.webhooks.deliveries(account, webhook, status, limit)
    table = Table("id", "event", "uri", "status", "attempts", "last code", "last error", "created")
    for d in found:
        table.add_row(
            d.id,
            d.event_type,
            escape(d.uri),
            d.status.value,
            str(d.attempts),
            str(d.last_status_code or "-"),
            escape(d.last_error or ""),
            _when(d.created_at),
        )
    console.print(table)


@webhooks_app.command("redeliver")
def webhooks_redeliver(
    delivery_id: Annotated[str, typer.Argument(metavar="ID", help="the delivery's id (its webhook-id)")],
    data_dir: DataDir = None,
) -> None:
    """Send a delivery again (same webhook-id and body); a running server sends it within a second."""
    with _operator(_settings(data_dir=data_dir, workers=0)) as runtime:
        delivery = runtime.webhooks.redeliver(delivery_id)
    console.print(f"delivery {delivery.id} to {escape(delivery.uri)} is pending again")
