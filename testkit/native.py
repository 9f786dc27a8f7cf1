"""What a key owns, read through reelforge's native API and data dir, to prove a refused request
created nothing (any dialect's jobs show in the native list)."""

from contextlib import contextmanager

from testkit.support import client


def job_ids(server, key: str) -> list[str]:
    """Every job of the account named `key` (server.key), read through the native list (any
    dialect's jobs show there)."""
    with client(server, key) as c:
        return [v["id"] for v in c.get("/v1/videos", params={"limit": 100}).json()["data"]]


def upload_files(server) -> set[str]:
    folder = server.data_dir / "media" / "uploads"
    return {p.name for p in folder.iterdir()} if folder.exists() else set()


@contextmanager
def nothing_created(server, key: str):
    jobs, files = job_ids(server, key), upload_files(server)
    yield
    assert job_ids(server, key) == jobs, "a refused request created a job"
    assert upload_files(server) == files, "a refused request left an image behind"
