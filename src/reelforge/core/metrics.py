"""The Prometheus metrics every part of reelforge records (prometheus_client), defined once here, on
the lowest floor, so the service, the worker, the engines and the webhook loop can all record them.

Labels are bounded: models come from the catalog, engines, statuses, failure codes, webhook forms
and outcomes are fixed sets, HTTP routes are templates. With PROMETHEUS_MULTIPROC_DIR set (several
processes on one host: `serve` nodes, `reelforge worker`s) prometheus_client keeps the values in
files there and `registry()` exposes the sum over every process of the host.
"""

import os
import sys
from collections.abc import Callable, Iterable, Iterator

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import REGISTRY, GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector

NO_FAILURE = "none"  # the failure_code label of a job that did not fail

JOBS_SUBMITTED = Counter("reelforge_jobs_submitted", "Jobs accepted and queued", ["model"])
JOBS_FINISHED = Counter(
    "reelforge_jobs_finished",
    "Jobs that reached a terminal state, recorded by the process that moved them there",
    ["model", "status", "failure_code"],
)
QUEUE_WAIT = Histogram(
    "reelforge_queue_wait_seconds",
    "From a job's creation to its start by a worker (recorded at claim)",
    ["model"],
    buckets=(0.1, 0.5, 1, 5, 15, 30, 60, 120, 300, 900, 1800, 3600, 7200),
)
RENDER = Histogram(
    "reelforge_render_seconds",
    "Wall time of a succeeded run: render, encode and store, every sample",
    ["model", "engine"],
    buckets=(0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1200, 1800, 3600),
)
STEP = Histogram(
    "reelforge_step_seconds",
    "Time between two progress reports of an engine (a denoising step, or a preview frame)",
    ["model", "engine"],
    buckets=(0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60),
)
MODEL_LOAD = Histogram(
    "reelforge_model_load_seconds",
    "Loading a diffusers pipeline's weights",
    ["model", "engine"],
    buckets=(1, 5, 10, 30, 60, 120, 300, 600, 1200),
)
WEBHOOK_DELIVERIES = Counter(
    "reelforge_webhook_deliveries",
    "Webhook delivery attempts by outcome: delivered, failed_attempt (retried later), gave_up",
    ["form", "outcome"],
)
HTTP_LATENCY = Histogram(
    "reelforge_http_request_duration_seconds",
    "HTTP requests by route template, method and status class (2xx, 4xx...)",
    ["route", "method", "status"],
)


class QueueDepth(Collector):
    """Jobs queued and running, read from the database at scrape time (`counts`), so every node
    tells the same, cluster-wide figure."""

    def __init__(self, counts: Callable[[], dict[str, int]]):
        self.counts = counts

    def collect(self) -> Iterator[Metric]:
        family = GaugeMetricFamily(
            "reelforge_queue_depth", "Jobs queued or running, cluster-wide", labels=["status"]
        )
        for status, count in self.counts().items():
            family.add_metric([status], count)
        yield family


class GpuMemory(Collector):
    """CUDA memory allocated and reserved by this process, per device, only when torch is already
    imported (a diffusers engine ran) and has initialised CUDA: torch is never imported for this."""

    def collect(self) -> Iterator[Metric]:
        torch = sys.modules.get("torch")
        if torch is None or not torch.cuda.is_initialized():
            return
        family = GaugeMetricFamily(
            "reelforge_gpu_memory_bytes", "CUDA memory of this process", labels=["device", "kind"]
        )
        for device in range(torch.cuda.device_count()):
            family.add_metric([str(device), "allocated"], torch.cuda.memory_allocated(device))
            family.add_metric([str(device), "reserved"], torch.cuda.memory_reserved(device))
        yield family


class _ThisProcess(Collector):
    """The default registry's metrics (ours, and the process and platform collectors)."""

    def collect(self) -> Iterable[Metric]:
        return REGISTRY.collect()


def registry(*collectors: Collector) -> CollectorRegistry:
    """What a scrape shows: the recorded metrics (this process's, or with PROMETHEUS_MULTIPROC_DIR
    every process's of the host) and `collectors`."""
    scraped = CollectorRegistry(auto_describe=False)
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        MultiProcessCollector(scraped)
    else:
        scraped.register(_ThisProcess())
    for collector in collectors:
        scraped.register(collector)
    return scraped
