"""Where an atlas's proteins are explained: in this process, or by Ray actors — an embedded
Ray on this machine (``workers``) or a running cluster (``address``). Every path runs the same
:class:`~.protein_work.ProteinWorker`; this module only hands proteins out and results back.

The embedded Ray stays on this machine: its services bind to 127.0.0.1 only, usage statistics
are off, no dashboard. (Ray swaps a loopback address for the machine's network address unless it
runs as a single-machine Ray, ``RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER=0``, which is what the embedded
Ray and a cluster at ``127.0.0.1`` get.) A cluster is joined at ``address``; when that is another
loopback address (``127.0.0.2``: nodes on this machine, which Ray's multi-node mode needs), the
driver joins as a node at that address. Usage statistics stay off in every case.
"""

from __future__ import annotations

import contextlib
import importlib.util
import ipaddress
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from ..protein.record import Protein
from .protein_work import Outcome, ProteinWorker, Recipe

OBJECT_STORE_BYTES = 1 << 30
"""The embedded Ray's shared-memory object store: 1 GiB of a 24 GiB machine (Ray's default would
take 30 %). Each task moves one protein in and one protein's arrays out (a few MB at L = 1,000,
the ``(L, L)`` contact map in float16), and each worker has one task at a time."""
LOCAL_RAY_ENVIRONMENT = {
    "RAY_USAGE_STATS_ENABLED": "0",
    "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0",
}
"""Environment for a Ray that stays on this machine: no usage statistics, loopback only."""


@dataclass(frozen=True)
class Placement:
    """How to run: ``workers`` processes with ``threads`` torch threads each, on Ray when
    ``workers > 1`` or an ``address`` is given (else in this process). On a cluster, ``workers``
    defaults to its CPUs over the threads."""

    workers: int | None = None
    threads: int | None = None
    address: str | None = None

    @property
    def on_ray(self) -> bool:
        return (self.workers or 1) > 1 or self.address is not None

    def threads_per_worker(self) -> int:
        """``threads``; by default this machine's CPUs shared out among its workers, or one per
        worker on a cluster."""
        if self.threads:
            return self.threads
        return 1 if self.address else max(1, (os.cpu_count() or 1) // (self.workers or 1))


def require_ray() -> None:
    """A ``ValueError`` saying how to install Ray, when it is missing (found without importing
    it: Ray reads whether it may leave the machine when it is first imported)."""
    if importlib.util.find_spec("ray") is None:
        raise ValueError("--workers above 1 and --ray need Ray: pip install 'foldlens[atlas]'")


def explained(
    recipe: Recipe, proteins: Iterable[tuple[int, Protein]], placement: Placement
) -> Iterator[tuple[int, Outcome]]:
    """``(index, outcome)`` for every ``(index, protein)``, in the order they finish."""
    if not placement.on_ray:
        worker = ProteinWorker(recipe, placement.threads)
        for index, protein in proteins:
            yield index, worker.explain(protein)
        return
    with _ray_session(placement) as ray:
        yield from _on_ray(ray, recipe, proteins, placement)


def _host(address: str) -> str:
    return address.rsplit(":", 1)[0].strip("[]")


def _is_loopback(host: str) -> bool:
    try:
        return host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@contextlib.contextmanager
def _ray_session(placement: Placement) -> Iterator[Any]:
    """Ray, started on this machine or connected to ``placement.address``; shut down (this
    driver's actors with it) when the run ends."""
    host = None if placement.address is None else _host(placement.address)
    single_machine = host is None or host in ("localhost", "127.0.0.1", "::1")
    environment = LOCAL_RAY_ENVIRONMENT if single_machine else {"RAY_USAGE_STATS_ENABLED": "0"}
    with _environment(environment):
        import ray

        if placement.address is None:
            ray.init(
                num_cpus=(placement.workers or 1) * placement.threads_per_worker(),
                include_dashboard=False,
                object_store_memory=OBJECT_STORE_BYTES,
                log_to_driver=False,
                configure_logging=False,
            )
            _check_loopback(ray)
        else:
            this_node = host if host and _is_loopback(host) and not single_machine else None
            ray.init(
                address=placement.address,
                _node_ip_address=this_node,
                log_to_driver=False,
                configure_logging=False,
            )
        try:
            yield ray
        finally:
            ray.shutdown()


def _check_loopback(ray: Any) -> None:
    """A ``RuntimeError`` (Ray shut down) unless the embedded Ray's node is at 127.0.0.1: Ray
    decides that when first imported, so a process that imported it before cannot keep it there."""
    address = ray.util.get_node_ip_address()
    if address != "127.0.0.1":
        ray.shutdown()
        raise RuntimeError(
            f"the embedded Ray came up at {address}, not 127.0.0.1: Ray was imported before "
            "foldlens set RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER=0; set it before importing ray"
        )


@contextlib.contextmanager
def _environment(values: dict[str, str]) -> Iterator[None]:
    before = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in before.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def _on_ray(
    ray: Any, recipe: Recipe, proteins: Iterable[tuple[int, Protein]], placement: Placement
) -> Iterator[tuple[int, Outcome]]:
    """Actors spread over the nodes, each given one protein at a time (a protein costs seconds,
    so there is nothing to gain from queueing more, and a protein whose actor dies — killed, out
    of memory — fails alone: the actor restarts for the next)."""
    from ray.exceptions import RayActorError

    threads = placement.threads_per_worker()
    actor = ray.remote(ProteinWorker).options(
        num_cpus=threads, scheduling_strategy="SPREAD", max_restarts=3
    )
    workers = [actor.remote(recipe, threads) for _ in range(_worker_count(ray, placement))]
    waiting = iter(proteins)
    pending: dict[Any, tuple[int, Any]] = {}

    def feed(worker: Any) -> None:
        for index, protein in waiting:
            pending[worker.explain.remote(protein)] = (index, worker)
            return

    for worker in workers:
        feed(worker)
    while pending:
        [done], _ = ray.wait(list(pending), num_returns=1)
        index, worker = pending.pop(done)
        try:
            outcome = ray.get(done)
        except RayActorError as error:
            outcome = Outcome(None, f"worker died: {error}", "unknown")
        feed(worker)
        yield index, outcome


def _worker_count(ray: Any, placement: Placement) -> int:
    """``placement.workers``, or on a cluster given without it, its CPUs over the threads."""
    if placement.workers is not None:
        return placement.workers
    cpus = int(ray.cluster_resources().get("CPU", 1))
    return max(1, cpus // placement.threads_per_worker())
