"""A real scaled-out reelforge on one machine, for tests and benchmarks: API nodes and Celery worker
processes sharing a PostgreSQL database, a Redis broker and an S3 bucket (moto's S3 server on
loopback). Every part is a real process speaking its real protocol."""

import logging
import os
import subprocess
import sys
import time
import uuid
from contextlib import contextmanager
from pathlib import Path

import boto3
import redis
from moto.server import ThreadedMotoServer

from testkit.databases import postgres_database
from testkit.support import ServerProcess, free_port, kill_process, stop_process

S3_KEYS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}


@contextmanager
def s3_bucket():
    """moto's S3 server on 127.0.0.1 with one empty bucket; yields (endpoint, bucket, boto3 client)."""
    port = free_port()
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # one line per S3 request otherwise
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    endpoint = f"http://127.0.0.1:{port}"
    client = boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    bucket = f"reelforge-{uuid.uuid4().hex[:8]}"
    client.create_bucket(Bucket=bucket)
    try:
        yield endpoint, bucket, client
    finally:
        server.stop()


@contextmanager
def private_redis():
    """A redis-server of our own on a free port, so a test may stop and restart it."""
    port = free_port()
    server = RedisProcess(port).start()
    try:
        yield server
    finally:
        server.stop()


class RedisProcess:
    def __init__(self, port: int):
        self.port, self.url, self.proc = port, f"redis://127.0.0.1:{port}/0", None

    def start(self) -> "RedisProcess":
        self.proc = subprocess.Popen(
            [
                "redis-server",
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ],
            stdout=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while True:
            try:
                redis.Redis(port=self.port).ping()
                return self
            except redis.ConnectionError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)

    def stop(self) -> None:
        stop_process(self.proc, grace=10)


class WorkerProcess:
    """`python -m reelforge worker` with the cluster's settings."""

    def __init__(self, env: dict, log: Path):
        self.env, self.log, self.proc = env, log, None

    def start(self) -> "WorkerProcess":
        with open(self.log, "ab") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "reelforge", "worker"],
                stdout=out,
                stderr=subprocess.STDOUT,
                env={**os.environ, **self.env},
            )
        return self

    def kill(self) -> None:
        kill_process(self.proc)

    def stop(self) -> None:
        stop_process(self.proc)


class Cluster:
    """Settings shared by every node, plus the nodes started so far."""

    def __init__(self, tmp: Path, database_url: str, broker_url: str, s3_endpoint: str, bucket: str, **extra):
        self.tmp = tmp
        self.env = {
            "REELFORGE_QUEUE": "celery",
            "REELFORGE_DATABASE_URL": database_url,
            "REELFORGE_BROKER_URL": broker_url,
            "REELFORGE_QUEUE_NAME": f"reelforge-test-{uuid.uuid4().hex[:8]}",
            "REELFORGE_STORAGE_URL": f"s3://{bucket}/media",
            "REELFORGE_S3_ENDPOINT_URL": s3_endpoint,
            "REELFORGE_S3_REGION": "us-east-1",
            "REELFORGE_S3_ACCESS_KEY_ID": "testing",
            "REELFORGE_S3_SECRET_ACCESS_KEY": "testing",
            "REELFORGE_SECRET_KEY": "cluster-secret",
            "REELFORGE_HEARTBEAT_INTERVAL": "0.5",
            "REELFORGE_WORKER_LOST_AFTER": "4",
            "REELFORGE_RECONCILE_INTERVAL": "0.5",
            **{f"REELFORGE_{k.upper()}": str(v) for k, v in extra.items()},
        }
        self.apis: list[ServerProcess] = []
        self.workers: list[WorkerProcess] = []

    def api(self, port: int | None = None) -> ServerProcess:
        n = len(self.apis)
        node = ServerProcess(self.tmp / f"api{n}" / "data", workers=0, port=port, env=self.env).start()
        self.apis.append(node)
        return node

    def worker(self) -> WorkerProcess:
        n = len(self.workers)
        data = self.tmp / f"worker{n}"
        data.mkdir(parents=True, exist_ok=True)
        node = WorkerProcess(
            {**self.env, "REELFORGE_DATA_DIR": str(data / "data")}, data / "worker.log"
        ).start()
        self.workers.append(node)
        return node

    def stop(self) -> None:
        for node in self.apis + self.workers:
            node.stop()


@contextmanager
def cluster(tmp: Path, broker_url: str = "redis://127.0.0.1:6379/0", **extra):
    with postgres_database() as database_url, s3_bucket() as (endpoint, bucket, s3):
        c = Cluster(tmp, database_url, broker_url, endpoint, bucket, **extra)
        c.s3, c.bucket, c.database_url = s3, bucket, database_url
        try:
            yield c
        finally:
            c.stop()


def wait_until(predicate, timeout: float, what: str, interval: float = 0.1):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise TimeoutError(what)
