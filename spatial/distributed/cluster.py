"""Where batch work runs: a local Dask cluster, or a scheduler by address.

``"local"`` starts a :class:`distributed.LocalCluster` of :data:`LOCAL_WORKERS`
worker processes with one thread each and :data:`LOCAL_MEMORY_LIMIT` of memory
each (Dask spills to disk at 60 % of it and pauses a worker at 80 %). Any other
value is a scheduler address (``tcp://host:8786``), started elsewhere with
``dask scheduler`` and ``dask worker tcp://host:8786``; the workers must see
the same files (a shared disk or the same paths) and have remap installed.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Final

from spatial.errors import ParameterError

#: Worker processes of the local cluster.
LOCAL_WORKERS: Final = 2
#: Threads per local worker (the analysis functions are numpy-bound and hold the GIL).
LOCAL_THREADS: Final = 1
#: Memory limit of each local worker.
LOCAL_MEMORY_LIMIT: Final = "3GiB"


@dataclass(frozen=True)
class ClusterInfo:
    """What a batch ran on: the address asked for, the scheduler and its workers."""

    requested: str
    scheduler: str
    workers: int
    threads: int
    memory_limit_bytes: int

    def describe(self) -> str:
        gib = self.memory_limit_bytes / 2**30
        kind = "LocalCluster" if self.requested == "local" else "cluster"
        return (f"{kind} {self.scheduler}: {self.workers} workers, {self.threads} threads, "
                f"{gib:.1f} GiB memory limit in all")

    def as_dict(self) -> dict[str, Any]:
        return {"requested": self.requested, "scheduler": self.scheduler,
                "workers": self.workers, "threads": self.threads,
                "memory_limit_bytes": self.memory_limit_bytes}


def check_address(address: str | None) -> str:
    """``local`` or a scheduler address; a :class:`ParameterError` naming ``dask`` otherwise."""
    value = (address or "local").strip()
    if value == "local":
        return value
    if "://" not in value:
        value = "tcp://" + value
    scheme, _, rest = value.partition("://")
    if scheme not in ("tcp", "tls", "ucx", "ws", "wss", "inproc") or not rest:
        raise ParameterError("dask", f"{address!r} is not 'local' or a scheduler address "
                                     "such as tcp://host:8786")
    return value


@contextmanager
def connect(address: str | None = "local", *, processes: bool = True) -> Iterator[Any]:
    """A :class:`distributed.Client` for ``address``; the local cluster is closed on exit.

    ``processes=False`` runs the local workers as threads of this process (tests).
    """
    from distributed import Client, LocalCluster

    value = check_address(address)
    if value == "local":
        cluster = LocalCluster(n_workers=LOCAL_WORKERS, threads_per_worker=LOCAL_THREADS,
                               memory_limit=LOCAL_MEMORY_LIMIT, processes=processes,
                               dashboard_address=":0")
        client = Client(cluster)
        try:
            yield client
        finally:
            client.close()
            cluster.close()
        return
    try:
        client = Client(value, timeout="20s")
    except (OSError, TimeoutError) as exc:
        raise ParameterError("dask", f"no Dask scheduler answers at {value} ({exc})") from None
    try:
        yield client
    finally:
        client.close()


def cluster_info(client: Any, requested: str) -> ClusterInfo:
    """The scheduler address, workers, threads and total memory limit of ``client``."""
    workers = client.scheduler_info().get("workers", {})
    return ClusterInfo(requested=requested, scheduler=str(client.scheduler.address),
                       workers=len(workers),
                       threads=sum(int(w.get("nthreads", 0)) for w in workers.values()),
                       memory_limit_bytes=sum(int(w.get("memory_limit") or 0)
                                              for w in workers.values()))


def worker_memory(client: Any) -> dict[str, int]:
    """Resident memory (bytes) of each worker process now, from the workers themselves."""
    def rss() -> int:
        import psutil

        return int(psutil.Process().memory_info().rss)

    return {str(k): int(v) for k, v in client.run(rss).items()}
