"""The `reelforge` command: `serve` the embedded server, `generate` one video locally, list `jobs`,
check the installation with `doctor`."""

import sys
import threading
import time
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from reelforge.config import Settings
from reelforge.core.errors import ReelforgeError
from reelforge.core.request import Draft, FrameInput, FrameKind, Orientation
from reelforge.runtime import build_runtime

app = typer.Typer(help="reelforge: a self-hosted video generation server.", no_args_is_help=True)
console = Console(width=None if sys.stdout.isatty() else 200)  # full ids when piped

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
    console.print(
        f"reelforge listening on http://{settings.host}:{settings.port} (data: {settings.data_dir})"
    )
    uvicorn.run(create_app(settings), host=settings.host, port=settings.port, log_level="info")


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
    build_runtime(settings).run_celery_worker(concurrency)


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
