"""The drafting worker: claims queued studies, drafts them in batches, stores each draft exactly once.

One :class:`DraftWorker` holds one generator (the model is loaded once) and loops:
claim up to ``batch_size`` jobs (:meth:`storage.drafting.DraftQueue.claim`) → load each study →
:func:`inference.batch.draft_batch` under the generation lock → store each draft through
:meth:`~storage.drafting.DraftQueue.save` (exactly once) or record the study's failure reason. A
heartbeat thread renews the claimed jobs' lease while the batch runs, so only a dead or hung worker
loses its jobs to the next one.

Used by ``radreview drafts run`` (:meth:`DraftWorker.run` until the queue is empty) and by
``radreview serve --draft-ahead`` (:meth:`DraftWorker.start` / :meth:`DraftWorker.stop`: a
background thread that also queues every new study, polling while idle).
"""

from __future__ import annotations

import contextlib
import sys
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from storage.drafting import DraftJob, DraftQueue, GeneratorSpec, new_worker_id

if TYPE_CHECKING:
    from app.services import Services

Log = Callable[[str], None]


def _stderr(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


@dataclass
class Tally:
    """What a run did: jobs drafted, failed (with reasons) and lost to another worker."""

    done: list[tuple[str, str]] = field(default_factory=list)  # (case id, draft id)
    failed: list[tuple[str, str]] = field(default_factory=list)  # (case id, reason)
    lost: list[str] = field(default_factory=list)  # case ids whose lease was taken over

    def add(self, other: Tally) -> None:
        """Add another batch's counts."""
        self.done += other.done
        self.failed += other.failed
        self.lost += other.lost

    def to_json(self) -> dict[str, Any]:
        """JSON-able summary."""
        return {
            "done": [{"case_id": c, "draft_id": d} for c, d in self.done],
            "failed": [{"case_id": c, "reason": r} for c, r in self.failed],
            "lost": self.lost,
        }


class _Heartbeat:
    """Renews the lease of the jobs being drafted every ``interval`` seconds, in a thread."""

    def __init__(self, queue: DraftQueue, jobs: list[DraftJob], interval: float) -> None:
        self._queue, self._jobs, self._interval = queue, jobs, interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._beat, name="draft-heartbeat", daemon=True)

    def _beat(self) -> None:
        while not self._stop.wait(self._interval):
            with contextlib.suppress(Exception):  # a missed beat only shortens the lease
                self._queue.heartbeat(self._jobs)

    @contextlib.contextmanager
    def running(self) -> Iterator[None]:
        self._thread.start()
        try:
            yield
        finally:
            self._stop.set()
            self._thread.join()


class DraftWorker:
    """Drafts queued studies of one generator configuration.

    Args:
        queue: The repository's :class:`~storage.drafting.DraftQueue`.
        spec: Generator configuration (only jobs of this configuration are claimed).
        load_study: ``case_id → viewer.records.Study`` with its context (lateral, prior, indication).
        batch_size: Studies claimed and drafted together.
        generator: A generator instance (default: built from ``spec`` on first use).
        build_generator: Builds the generator on first use instead of ``spec`` (``serve`` passes its
            shared :meth:`app.services.Services.report_generator`).
        segmenter: As for :func:`inference.draft.draft_study`.
        lock: Held while generating (``serve`` shares it with interactive generation).
        heartbeat_s: Seconds between lease renewals (well under the queue's lease).
        worker_id: Default :func:`storage.drafting.new_worker_id`.
        log: Receives one line per event (default stderr).
    """

    def __init__(
        self,
        queue: DraftQueue,
        spec: GeneratorSpec,
        load_study: Callable[[str], Any],
        *,
        batch_size: int = 4,
        generator: Any = None,
        build_generator: Callable[[], Any] | None = None,
        segmenter: Any = None,
        lock: Any = None,
        heartbeat_s: float = 10.0,
        worker_id: str | None = None,
        log: Log | None = None,
    ) -> None:
        if batch_size < 1:
            raise ValueError(f"batch size must be at least 1, got {batch_size}")
        self.queue, self.spec, self.load_study = queue, spec, load_study
        self.batch_size, self.segmenter = batch_size, segmenter
        self.lock = lock if lock is not None else threading.Lock()
        self.heartbeat_s = heartbeat_s
        self.worker_id = worker_id or new_worker_id()
        self.log = log or _stderr
        self._generator = generator
        self._build_generator = build_generator or self._from_spec
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def generator(self) -> Any:
        """The generator (built once from :attr:`spec`).

        Raises:
            inference.registry.UnknownNameError, BackendOptionsError, ModelSetupError, MissingExtraError:
                the configuration cannot run here (not a per-study failure).
        """
        if self._generator is None:
            self._generator = self._build_generator()
        return self._generator

    def _from_spec(self) -> Any:
        from inference.registry import configured_generator

        return configured_generator(self.spec.generator, self.spec.model, self.spec.quantization)

    def run_batch(self, n: int | None = None) -> Tally | None:
        """Claim and draft up to ``n`` (default ``batch_size``) jobs; ``None`` when none was queued."""
        generator = self.generator()
        jobs = self.queue.claim(self.worker_id, self.spec, min(n or self.batch_size, self.batch_size))
        if not jobs:
            return None
        try:
            with _Heartbeat(self.queue, jobs, self.heartbeat_s).running():
                return self._draft(generator, jobs)
        except BaseException:  # Ctrl-C or a crash of the worker itself: hand back what it still holds
            with contextlib.suppress(Exception):
                self.queue.release(jobs, f"{self.worker_id} was interrupted; re-queued")
            raise

    def _draft(self, generator: Any, jobs: list[DraftJob]) -> Tally:
        from inference.batch import DraftFailure, describe, draft_batch

        tally = Tally()
        todo: list[tuple[DraftJob, Any]] = []
        for job in jobs:
            existing = self.queue.job_draft(job)  # drafted by a worker that died before marking it done
            if existing is not None:
                self.queue.complete(job, existing)
                tally.done.append((job.case_id, existing))
                continue
            try:
                todo.append((job, self.load_study(job.case_id)))
            except Exception as exc:  # an unreadable study fails alone
                self._fail(tally, job, f"cannot load the study: {describe(exc)}")
        if not todo:
            return tally
        with self.lock:
            results = draft_batch(
                [s for _, s in todo],
                generator=generator,
                segmenter=self.segmenter,
                batch_size=self.batch_size,
            )
        for (job, _), result in zip(todo, results, strict=True):
            if isinstance(result, DraftFailure):
                self._fail(tally, job, f"{result.stage}: {result.reason}")
                continue
            try:
                draft_id = self.queue.save(job, result)
            except Exception as exc:
                self._fail(tally, job, f"cannot store the draft: {describe(exc)}")
                continue
            if draft_id is None:
                tally.lost.append(job.case_id)
                self.log(f"drafts: {job.case_id}: lease lost to another worker; its result was not stored")
            else:
                tally.done.append((job.case_id, draft_id))
                self.log(f"drafts: {job.case_id} drafted ({draft_id})")
        return tally

    def _fail(self, tally: Tally, job: DraftJob, reason: str) -> None:
        self.queue.fail(job, reason)
        tally.failed.append((job.case_id, reason))
        self.log(f"drafts: {job.case_id} failed: {reason}")

    def run(self, limit: int | None = None) -> Tally:
        """Draft until the queue has nothing of this configuration (or ``limit`` jobs were handled)."""
        tally = Tally()
        while not self._stop.is_set():
            handled = len(tally.done) + len(tally.failed) + len(tally.lost)
            if limit is not None and handled >= limit:
                break
            batch = self.run_batch(None if limit is None else limit - handled)
            if batch is None:
                break
            tally.add(batch)
        return tally

    # -- background thread (serve) ------------------------------------------------------------

    def start(self, *, poll_s: float = 5.0, enqueue_new: bool = True) -> None:
        """Draft in a daemon thread until :meth:`stop`; with ``enqueue_new`` every new study is queued."""
        if self._thread is not None:
            raise RuntimeError("the drafting worker is already running")
        self._stop.clear()
        self._thread = threading.Thread(
            target=self._serve, args=(poll_s, enqueue_new), name="draft-ahead", daemon=True
        )
        self._thread.start()

    def _serve(self, poll_s: float, enqueue_new: bool) -> None:
        try:
            self.generator()
        except Exception as exc:
            self.log(f"drafts: background drafting is off: {exc}")
            return
        while not self._stop.is_set():
            try:
                if enqueue_new:
                    self.queue.enqueue_undrafted(self.spec)
                if self.run_batch() is not None:
                    continue
            except Exception as exc:  # the database went away, etc.: report, wait, try again
                self.log(f"drafts: background drafting paused: {type(exc).__name__}: {exc}")
            self._stop.wait(poll_s)

    def stop(self, timeout: float = 30.0) -> bool:
        """Ask the thread to stop after its current batch and wait up to ``timeout`` seconds.

        Returns:
            True when it stopped. A batch still generating after the timeout keeps its jobs until
            their lease expires; the next worker re-queues them (nothing is lost or stored twice).
        """
        self._stop.set()
        thread, self._thread = self._thread, None
        if thread is None:
            return True
        thread.join(timeout)
        stopped = not thread.is_alive()
        self.log(
            "drafts: background drafting stopped"
            if stopped
            else f"drafts: background drafting still busy after {timeout:.0f} s; its jobs return to "
            "the queue when their lease expires"
        )
        return stopped


def start_drafting(services: Services, *, batch_size: int = 4, poll_s: float = 5.0) -> DraftWorker:
    """Start ``serve``'s background worker: queue every new study and draft it with the server's generator.

    The worker loads studies through its own :class:`app.services.Services` view (so it does not evict
    the reviewers' cached studies), drafts with the server's one generator
    (:meth:`app.services.Services.report_generator`: the model is held once) and holds
    ``services.generation_lock`` while generating.
    """
    from app.services import Services

    cfg = services.generator
    spec = GeneratorSpec(cfg.name, cfg.model or "", cfg.quantization)
    loader = Services(repo=services.repo, data_dir=services.data_dir)
    worker = DraftWorker(
        DraftQueue(services.repo), spec, loader.study, batch_size=batch_size, lock=services.generation_lock,
        build_generator=services.report_generator,
    )
    worker.start(poll_s=poll_s)
    return worker


def stop_on_shutdown(app: Any, worker: DraftWorker, timeout: float = 30.0) -> None:
    """Stop ``worker`` during the ASGI app's shutdown (uvicorn runs it on SIGINT/SIGTERM before exiting).

    Wraps the app's lifespan, keeping whatever it already does (Gradio's start-up and shutdown).
    """
    import asyncio
    from contextlib import asynccontextmanager

    inner = app.router.lifespan_context

    @asynccontextmanager
    async def lifespan(asgi_app: Any) -> Any:
        async with inner(asgi_app) as state:
            try:
                yield state
            finally:
                await asyncio.to_thread(worker.stop, timeout)

    app.router.lifespan_context = lifespan
