"""The video commands: `generate`, `jobs`, `show`, `cancel`, `download`, `delete`. With `--server`
(REELFORGE_SERVER) they talk to that server through `reelforge.client` with `--key`
(REELFORGE_API_KEY); without it they work on the local data dir through the job service, and
`generate` renders in this process. Ctrl-C on `generate` cancels the job, or with `--detach`
leaves it to the server (local: hands it back to the queue for a `serve` on the same data dir)."""

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Literal

import typer

from reelforge.cli.app import DataDir, app, console, fail, operator, settings_of, when

if TYPE_CHECKING:
    from reelforge.client import Client

Server = Annotated[
    str | None,
    typer.Option(
        "--server",
        envvar="REELFORGE_SERVER",
        help="URL of a reelforge server to work on; without it, the local data dir",
        show_default=False,
    ),
]
Key = Annotated[
    str | None,
    typer.Option("--key", envvar="REELFORGE_API_KEY", help="API key for --server", show_default=False),
]
VideoId = Annotated[str, typer.Argument(help="the video (job) id `generate` printed")]
INTERRUPTED = 130  # exit code after Ctrl-C, as shells report SIGINT


@contextmanager
def remote(server: str, key: str | None) -> Iterator["Client"]:
    """The client of `server`; its errors end the command with one line."""
    from reelforge.client import Client, ClientError

    try:
        with Client(server, key) as client:
            yield client
    except ClientError as exc:
        fail(str(exc))


def local(data_dir: Path | None):
    """The system on the local data dir, rendering nothing by itself; its errors end the command.
    A job's webhook events wait in the outbox for a `serve` or `worker` to deliver them."""
    return operator(settings_of(data_dir=data_dir, workers=0), webhook_forms=False)


def _read(path: Path | None, option: str) -> bytes | None:
    try:
        return path.read_bytes() if path else None
    except OSError as exc:
        fail(f"cannot read {option} {path}: {exc.strerror}")


def _progress_bar():
    from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeElapsedColumn

    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        TaskProgressColumn(),
        TextColumn("eta {task.fields[eta]}"),
        TimeElapsedColumn(),
    )
    return Progress(*columns, console=console)


def _eta(seconds: float | None) -> str:
    return f"{seconds:.0f}s" if seconds is not None else "-"


@app.command()
def generate(
    prompt: Annotated[str, typer.Argument(help="what the video shows")],
    output: Annotated[Path, typer.Option("-o", "--output", help="where to write the MP4")] = Path("out.mp4"),
    image: Annotated[Path | None, typer.Option(help="start frame image")] = None,
    end_image: Annotated[Path | None, typer.Option(help="end frame image (needs --image)")] = None,
    model: Annotated[str, typer.Option(help="catalog model id")] = "veo-3.1-lite",
    duration: Annotated[
        int | None,
        typer.Option(
            help="seconds (default: with --server the native API's, 4 where the model renders it; "
            "locally the model's)"
        ),
    ] = None,
    resolution: Annotated[str | None, typer.Option(help="720p or 1080p")] = None,
    aspect: Annotated[str, typer.Option(help="16:9 or 9:16")] = "16:9",
    audio: Annotated[bool, typer.Option("--audio/--no-audio", help="with a soundtrack")] = True,
    seed: Annotated[int | None, typer.Option(help="0..4294967295")] = None,
    negative_prompt: Annotated[str | None, typer.Option(help="what to avoid")] = None,
    detach: Annotated[
        bool, typer.Option("--detach", help="on Ctrl-C leave the job to the server instead of canceling it")
    ] = False,
    server: Server = None,
    key: Key = None,
    data_dir: DataDir = None,
) -> None:
    """Render one video and save it; prints the job id first, then shows its progress."""
    if aspect not in ("16:9", "9:16"):
        raise typer.BadParameter("aspect must be 16:9 or 9:16", param_hint="--aspect")
    start, end = _read(image, "--image"), _read(end_image, "--end-image")
    options = dict(
        model=model,
        seconds=duration,
        resolution=resolution,
        aspect_ratio=aspect,
        audio=audio,
        seed=seed,
        negative_prompt=negative_prompt,
    )
    if server:
        _generate_remote(server, key, prompt, start, end, options, output, detach)
    else:
        _generate_local(data_dir, prompt, start, end, options, output, detach)


def _generate_remote(server, key, prompt, start, end, options, output: Path, detach: bool) -> None:
    with remote(server, key) as client:
        video = client.create(prompt, image=start, end_image=end, **options)
        typer.echo(video.id)
        try:
            with _progress_bar() as bar:
                task = bar.add_task(f"{video.status} {video.size} {video.seconds}s", total=100, eta="-")

                def show(snapshot) -> None:
                    description = f"{snapshot.status} {snapshot.size} {snapshot.seconds}s"
                    bar.update(
                        task,
                        completed=snapshot.progress,
                        description=description,
                        eta=_eta(snapshot.eta_seconds),
                    )

                video = client.wait(video.id, on_progress=show)
        except KeyboardInterrupt:
            if detach:
                typer.echo(f"detached: {video.id} goes on on the server; resume with", err=True)
                typer.echo(f"  reelforge download {video.id} -o {output} --server {server}", err=True)
            else:
                client.cancel(video.id)
                typer.echo(f"canceled {video.id} on the server", err=True)
            raise typer.Exit(INTERRUPTED) from None
        if video.status != "completed":
            fail(
                f"video {video.id} {video.error.code}: {video.error.message}"
                if video.error
                else video.status,
                1,
            )
        written = client.download(video.id, output)
    console.print(f"wrote {output} ({written} bytes)")


def _generate_local(data_dir, prompt, start, end, options, output: Path, detach: bool) -> None:
    import threading
    import time

    from reelforge.core.request import Draft, FrameInput, FrameKind, Orientation

    draft = Draft(
        model=options["model"],
        prompt=prompt,
        negative_prompt=options["negative_prompt"],
        duration=options["seconds"],
        resolution=options["resolution"],
        orientation=Orientation.PORTRAIT if options["aspect_ratio"] == "9:16" else Orientation.LANDSCAPE,
        audio=options["audio"],
        seed=options["seed"],
        start=FrameInput(FrameKind.BYTES, start) if start else None,
        end=FrameInput(FrameKind.BYTES, end) if end else None,
    )
    with local(data_dir) as runtime:
        service = runtime.service
        job = service.submit(draft, "cli")
        typer.echo(job.id)
        # Render here unless a server on the same database leases the job first.
        render = threading.Thread(target=runtime.worker.work_next, kwargs={"only": job.id}, daemon=True)
        render.start()
        try:
            with _progress_bar() as bar:
                req = job.request
                task = bar.add_task(
                    f"{req.width}x{req.height} {req.duration}s seed {job.seed}", total=100, eta="-"
                )
                while not (job := service.get(job.id)).status.is_terminal:
                    bar.update(task, completed=job.progress)
                    time.sleep(0.2)
                bar.update(task, completed=job.progress)
        except KeyboardInterrupt:
            if detach:
                runtime.worker.stop()  # the render stops within a step and hands the job back
                render.join()
                typer.echo(
                    f"detached: {job.id} is back in the queue; `reelforge serve` here renders it", err=True
                )
                typer.echo(f"  then: reelforge download {job.id} -o {output}", err=True)
            else:
                service.cancel(job.id)  # a running render stops within a step and ends canceled
                render.join()
                typer.echo(f"canceled {job.id}", err=True)
            raise typer.Exit(INTERRUPTED) from None
        if not job.outputs:
            fail(f"job {job.id} {job.status.value}: {job.error_message or ''}".strip(), 1)
        output.write_bytes(service.media.read(job.outputs[0].video_key))
    console.print(f"wrote {output} ({job.outputs[0].video_bytes} bytes, cost ${job.cost_usd})")


@app.command()
def jobs(
    limit: Annotated[int, typer.Option(help="how many")] = 20,
    server: Server = None,
    key: Key = None,
    data_dir: DataDir = None,
) -> None:
    """Recent jobs, newest first."""
    from rich.table import Table

    table = Table("id", "model", "status", "progress", "size", "secs", "cost $", "created")
    if server:
        with remote(server, key) as client:
            for video in client.list(limit=limit).data:
                table.add_row(
                    video.id,
                    video.model,
                    video.status,
                    f"{video.progress}%",
                    video.size,
                    str(video.seconds),
                    "-",
                    when(video.created_at),
                )
    else:
        with local(data_dir) as runtime:
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
                    when(job.created_at),
                )
    console.print(table)


def _print(fields: dict) -> None:
    from rich.markup import escape

    for name, value in fields.items():
        console.print(f"{name:<10} {escape(str(value if value is not None else '-'))}")


@app.command()
def show(video_id: VideoId, server: Server = None, key: Key = None, data_dir: DataDir = None) -> None:
    """One job: status, progress, size, seed, times, error (locally also cost and upstream jobs)."""
    if server:
        with remote(server, key) as client:
            video = client.get(video_id)
        error = f"{video.error.code}: {video.error.message}" if video.error else None
        _print(
            {
                "id": video.id,
                "status": video.status,
                "progress": f"{video.progress}%",
                "model": video.model,
                "size": video.size,
                "seconds": video.seconds,
                "seed": video.seed,
                "created": when(video.created_at),
                "finished": when(video.completed_at),
                "error": error,
                "prompt": video.prompt,
            }
        )
        return
    with local(data_dir) as runtime:
        job = runtime.service.get(video_id)
    req = job.request
    _print(
        {
            "id": job.id,
            "status": job.status.value,
            "progress": f"{job.progress}%",
            "model": req.model,
            "size": f"{req.width}x{req.height}",
            "seconds": req.duration,
            "seed": job.seed,
            "created": when(job.created_at),
            "finished": when(job.finished_at),
            "error": f"{job.error_code}: {job.error_message}" if job.error_code else None,
            "cost $": job.cost_usd,
            "prompt": req.prompt,
            **_upstream(job.upstream),
        }
    )


def _upstream(record: dict) -> dict[str, str]:
    """What upstream engines recorded on a job (docs/upstreams.md): each sample's provider job and
    its cost, and the entries that could not take it."""
    lines = {}
    for index, sample in sorted(record.get("samples", {}).items()):
        cost = f", ${sample['cost_usd']}" if "cost_usd" in sample else ""
        lines[f"upstream {index}"] = f"{sample['model']}: {sample['provider']} job {sample['id']}{cost}"
    for attempt in record.get("tried", []):
        lines[f"tried {attempt['model']}"] = attempt["error"]
    return lines


@app.command()
def cancel(video_id: VideoId, server: Server = None, key: Key = None, data_dir: DataDir = None) -> None:
    """Cancel a queued or running job (a running render stops within a step)."""
    if server:
        with remote(server, key) as client:
            video = client.cancel(video_id)
        console.print(
            f"canceled {video_id}" if video.done else f"cancel requested: {video_id} stops within a step"
        )
        return
    from reelforge.core.job import JobStatus

    with local(data_dir) as runtime:
        job = runtime.service.cancel(video_id)
    if job.status in (JobStatus.SUCCEEDED, JobStatus.FAILED):
        fail(f"job {video_id} already {job.status.value}; it cannot be canceled")
    console.print(
        f"canceled {video_id}"
        if job.status.is_terminal
        else f"cancel requested: {video_id} stops within a step"
    )


@app.command()
def download(
    video_id: VideoId,
    output: Annotated[Path, typer.Option("-o", "--output", help="where to write the file")],
    variant: Annotated[
        Literal["video", "thumbnail", "spritesheet"],
        typer.Option(help="the MP4, its JPEG poster or a JPEG grid of frames"),
    ] = "video",
    server: Server = None,
    key: Key = None,
    data_dir: DataDir = None,
) -> None:
    """Save a finished job's video, thumbnail or spritesheet."""
    if server:
        with remote(server, key) as client:
            written = client.download(video_id, output, variant)
        console.print(f"wrote {output} ({written} bytes)")
        return
    from reelforge.core.job import JobStatus

    with local(data_dir) as runtime:
        service = runtime.service
        job = service.get(video_id)
        if job.status is not JobStatus.SUCCEEDED or not job.outputs:
            fail(f"job {video_id} is not finished (status {job.status.value})")
        out = job.outputs[0]
        if variant == "spritesheet":
            data = service.media.spritesheet(out.video_key)
        else:
            data = service.media.read(out.video_key if variant == "video" else out.poster_key)
    output.write_bytes(data)
    console.print(f"wrote {output} ({len(data)} bytes)")


@app.command()
def delete(video_id: VideoId, server: Server = None, key: Key = None, data_dir: DataDir = None) -> None:
    """Delete a job and its files (a running render stops)."""
    if server:
        with remote(server, key) as client:
            client.delete(video_id)
    else:
        with local(data_dir) as runtime:
            runtime.service.delete(video_id)
    console.print(f"deleted {video_id}")
