"""Two processes on one data dir: a `serve` started while the CLI renders leaves the CLI's job
alone (its run is alive: same host, live process, fresh heartbeat) and takes it over at once when
the CLI is killed; and every command finds the same database whatever the current directory."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from sqlalchemy.exc import OperationalError

from reelforge.config import Settings
from reelforge.core.job import Job, JobStatus
from reelforge.db.connect import open_database
from reelforge.db.repository import Repository
from testkit.support import ServerProcess, probe_mp4


def _generate(data: Path, out: Path, cwd: Path, env: dict | None = None) -> subprocess.Popen:
    """A local `reelforge generate` long enough (8 s at 1080p) to be caught running."""
    cmd = [sys.executable, "-m", "reelforge", "generate", "one render only", "--resolution", "1080p"]
    cmd += ["--duration", "8", "-o", str(out)] + (["--data-dir", str(data)] if data else [])
    return subprocess.Popen(
        cmd, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env={**os.environ, **(env or {})}
    )


def _only_job(data: Path, timeout: float = 60, status: JobStatus | None = None) -> Job:
    """The data dir's one job, once it exists (and has `status`, if given)."""
    repo = Repository(open_database(Settings(data_dir=data).db_url))
    try:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                jobs = repo.list_jobs()
            except OperationalError:  # the database or its tables are not made yet
                jobs = []
            if jobs and (status is None or jobs[0].status is status):
                assert len(jobs) == 1, jobs
                return jobs[0]
            time.sleep(0.05)
        raise TimeoutError(f"no job {status.value if status else ''} in {data}")
    finally:
        repo.close()


def test_serve_leaves_a_live_cli_render_alone(tmp_path):
    data, out = tmp_path / "data", tmp_path / "cli.mp4"
    cli = _generate(data, out, tmp_path)
    running = _only_job(data, status=JobStatus.RUNNING)
    srv = ServerProcess(data, workers=1, env={"REELFORGE_RECONCILE_INTERVAL": "0.2"}).start()
    try:
        stdout, stderr = cli.communicate(timeout=120)
        assert cli.returncode == 0, stderr.decode() + stdout.decode()
        job = _only_job(data)
        assert job.status is JobStatus.SUCCEEDED
        assert job.attempts == 1, "the server rendered the CLI's job a second time"
        assert job.lease_token == running.lease_token
        assert probe_mp4(out.read_bytes()).frames == 192
    finally:
        srv.stop()


def test_serve_takes_over_the_job_of_a_killed_cli(tmp_path):
    data = tmp_path / "data"
    cli = _generate(data, tmp_path / "never.mp4", tmp_path)
    running = _only_job(data, status=JobStatus.RUNNING)
    srv = ServerProcess(data, workers=1, env={"REELFORGE_RECONCILE_INTERVAL": "0.2"}).start()
    try:
        assert _only_job(data).status is JobStatus.RUNNING  # still the CLI's
        os.kill(cli.pid, signal.SIGKILL)
        cli.wait()
        done = _only_job(data, timeout=120, status=JobStatus.SUCCEEDED)
        assert done.attempts == 2  # the CLI's run counted; the server's finished it
        assert done.lease_token != running.lease_token
    finally:
        srv.stop()


def test_the_default_data_dir_does_not_follow_the_current_directory(tmp_path):
    env = {"XDG_DATA_HOME": str(tmp_path / "xdg")}
    here, elsewhere = tmp_path / "here", tmp_path / "elsewhere"
    here.mkdir(), elsewhere.mkdir()
    cli = _generate(None, tmp_path / "a.mp4", here, env)
    assert cli.wait(120) == 0, cli.stderr.read().decode()
    listed = subprocess.run(
        [sys.executable, "-m", "reelforge", "jobs"],
        cwd=elsewhere,
        capture_output=True,
        text=True,
        env={**os.environ, **env},
        timeout=60,
    )
    assert listed.returncode == 0, listed.stderr
    assert "succeeded" in listed.stdout
    assert (tmp_path / "xdg" / "reelforge" / "reelforge.db").exists()
    assert not list(here.iterdir()) and not list(elsewhere.iterdir())
