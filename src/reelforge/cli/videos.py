"""`reelforge generate` (one video, rendered through the job service) and `reelforge jobs`."""

import threading
import time
from pathlib import Path
from typing import Annotated

import typer

from reelforge.cli.app import DataDir, app, console, fail, settings_of


def _frame(path: Path | None):
    from reelforge.core.request import FrameInput, FrameKind

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
    from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeElapsedColumn

    from reelforge.core.errors import ReelforgeError
    from reelforge.core.request import Draft, Orientation
    from reelforge.runtime import build_runtime

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
    runtime = build_runtime(settings_of(data_dir=data_dir, workers=0))
    service = runtime.service
    try:
        job = service.submit(draft, "cli")
    except ReelforgeError as exc:
        fail(exc.message)

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
def jobs(
    limit: Annotated[int, typer.Option(help="how many")] = 20,
    data_dir: DataDir = None,
) -> None:
    """Recent jobs, newest first."""
    from rich.table import Table

    from reelforge.runtime import build_runtime

    runtime = build_runtime(settings_of(data_dir=data_dir, workers=0))
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
