"""The README's commands (and docs/client.md's examples) run as written, in a fresh home directory
(so `~/.local/share/reelforge` is the default data dir they name) from a directory holding the
project's `.venv` and `examples/`.
Two things are filled in: the server's port (a free one instead of 8000) and each `<id>`
placeholder (the id the command before it printed)."""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from testkit.support import free_port, probe_mp4, stop_process, wait_healthy

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()
BLOCKS = re.findall(r"```(sh|python)\n(.*?)```", README, re.S)
CLIENT_DOC = re.findall(r"```python\n(.*?)```", (ROOT / "docs/client.md").read_text(), re.S)
KEY_LINE = "KEY=$(cat ~/.local/share/reelforge/initial-admin.key)"


def _block(marker: str, language: str = "sh") -> str:
    found = [text for lang, text in BLOCKS if lang == language and marker in text]
    assert len(found) == 1, f"README has {len(found)} {language} blocks with {marker!r}"
    return found[0]


@pytest.fixture
def shell(tmp_path):
    """Runs README text in bash (or Python) in a fresh home; returns the completed process."""
    home, work = tmp_path / "home", tmp_path / "work"
    home.mkdir(), work.mkdir()
    (work / ".venv").symlink_to(Path(sys.prefix))
    (work / "examples").symlink_to(ROOT / "examples")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("REELFORGE_", "XDG_"))}
    env["HOME"] = str(home)

    def run(text: str, port: int | None = None, language: str = "sh") -> subprocess.CompletedProcess:
        if port is not None:
            text = text.replace("127.0.0.1:8000", f"127.0.0.1:{port}")
        cmd = ["bash", "-euo", "pipefail", "-c", text] if language == "sh" else [sys.executable, "-c", text]
        done = subprocess.run(cmd, cwd=work, env=env, capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, f"{text}\n--- stdout\n{done.stdout}\n--- stderr\n{done.stderr}"
        return done

    run.home, run.work, run.env = home, work, env
    return run


def test_the_local_cli_commands(shell):
    listed = shell(_block('reelforge generate "a paper boat'))
    boat, dusk = (
        probe_mp4((shell.work / "boat.mp4").read_bytes()),
        probe_mp4((shell.work / "t.mp4").read_bytes()),
    )
    assert (boat.width, boat.height, boat.frames) == (1280, 720, 96)
    assert (dusk.width, dusk.height) == (720, 1280)
    assert listed.stdout.count("succeeded") == 2
    assert (shell.home / ".local/share/reelforge/reelforge.db").exists()


def test_the_quick_start_against_a_server(shell):
    port = free_port()
    cmd = [str(shell.work / ".venv/bin/reelforge"), "serve", "--port", str(port)]
    with open(shell.work / "serve.log", "wb") as log:
        server = subprocess.Popen(cmd, cwd=shell.work, env=shell.env, stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_healthy(server, f"http://127.0.0.1:{port}/healthz", 60, "README server")
        created = shell(_block("/api/rest/v2/generations"), port)
        generation = json.loads(created.stdout)["generate"]["generationId"]
        poll = _block("/api/rest/v1/generations/<id>").replace("<id>", generation)
        assert json.loads(shell(f"{KEY_LINE}\n{poll}", port).stdout)["generations_by_pk"]["id"] == generation

        others = shell(f"{KEY_LINE}\n{_block('/v2/video/generations')}", port).stdout
        assert others.count('"id"') >= 2, others

        remote = _block("export REELFORGE_SERVER").splitlines()
        head = [line for line in remote if "<id>" not in line]
        generated = shell("\n".join([KEY_LINE, *head]), port)
        video = generated.stdout.splitlines()[0].strip()
        assert probe_mp4((shell.work / "koala.mp4").read_bytes()).frames == 96
        rest = [line.replace("<id>", video) for line in remote if "<id>" in line]
        shell("\n".join([KEY_LINE, remote[0], *rest]), port)
        assert (shell.work / "koala.jpg").read_bytes()[:2] == b"\xff\xd8"

        client = _block("from reelforge.client import Client", "python").replace(
            "127.0.0.1:8000", f"127.0.0.1:{port}"
        )
        key = (shell.home / ".local/share/reelforge/initial-admin.key").read_text().strip()
        shell(f"api_key = {key!r}\n{client}", language="python")
        assert probe_mp4((shell.work / "koala.mp4").read_bytes()).frames == 96

        sync_example, async_example = (block for block in CLIENT_DOC if "client.generate" in block)
        sync_example = sync_example.replace('"rf_…"', repr(key)).replace(
            "127.0.0.1:8000", f"127.0.0.1:{port}"
        )
        shell(sync_example, language="python")
        assert probe_mp4((shell.work / "boat.mp4").read_bytes()).frames == 96
        server_env = f"REELFORGE_SERVER='http://127.0.0.1:{port}', REELFORGE_API_KEY={key!r}"
        shell(f"import os\nos.environ.update({server_env})\n{async_example}", language="python")
        assert probe_mp4((shell.work / "lighthouse.mp4").read_bytes()).frames == 96

        shell(_block("reelforge keys create --name my-app"))
        shell(f"{KEY_LINE}\n{_block('/admin/v1/accounts')}", port)
        listed = httpx.get(f"http://127.0.0.1:{port}/docs", timeout=10)
        assert listed.status_code == 200
    finally:
        stop_process(server)


def test_the_gateway_catalog_is_checked_offline(shell):
    done = shell(_block("examples/gateway.json"))
    out = " ".join(done.stdout.split())  # however the console wraps its lines
    assert "ok model veo-3.1-lite (upstream): gemini at https://generativelanguage.googleapis.com" in out
    assert "ok model veo-3.1-lite-vertex (upstream): vertex at" in out
    assert "problem" not in out and "ok upstream" not in out  # --offline: no call to a provider
