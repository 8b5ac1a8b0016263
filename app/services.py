"""What every callback needs, injected: repository, data directory, generator choice, study cache.

Callbacks are plain functions ``fn(services, ...)``; :func:`app.build.build_app` binds one
:class:`Services` to them. Nothing here holds per-user data: per-user state lives in ``gr.State``.
"""

from __future__ import annotations

import dataclasses
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from storage.records import StudyRecord
from viewer.cache import LruCache
from viewer.records import Study

if TYPE_CHECKING:
    import plotly.graph_objects as go

    from inference.protocols import ReportGenerator
    from storage.repository import Repository


class ServiceError(Exception):
    """A problem the reviewer must see (bad upload, stale version, unknown case…).

    The Gradio layer turns it into ``gr.Error`` with the same message.
    """


@dataclass(frozen=True)
class GeneratorConfig:
    """The report generator chosen at server start (``--generator/--model/--quantization``)."""

    name: str = "builtin"
    model: str | None = None
    quantization: str = "none"

    def label(self) -> str:
        """How the UI names it; the built-in generator says it is not an AI model."""
        if self.name == "builtin":
            return "built-in, no AI model"
        model = f" · {self.model}" if self.model else ""
        return f"{self.name}{model} · quantization {self.quantization}"


def _figure_cache() -> LruCache[go.Figure]:
    from viewer.cache import figure_cache

    return figure_cache(256.0)


def lateral_path(study_path: Path) -> Path | None:
    """The lateral radiograph stored next to an uploaded study (``lateral.*``), if any."""
    if not study_path.is_file():
        return None
    found = sorted(study_path.parent.glob("lateral.*"))
    return found[0] if found else None


@dataclass
class Services:
    """The injected dependencies of every callback.

    Attributes:
        repo: A ``storage.repository.Repository``.
        data_dir: Where uploaded/demo studies and artefacts live.
        generator: The generator configuration.
        default_reviewer: Reviewer used when no login is required (localhost without auth file).
        max_upload_mb: Upload size cap in MiB.
        studies: Cache of loaded studies by case id.
        artefacts: Cache of masks/heat maps by content ref (and label volumes built from them).
        figures: ``viewer.cache`` LRU of rendered figures (shared, read-only figures).
        generation_lock: Held while a model generates (interactive drafts, section regeneration and the
            background drafting worker of ``serve --draft-ahead``), so one generation runs at a time.
        drafting: The background :class:`app.drafting.DraftWorker`, when ``serve --draft-ahead`` runs one.
    """

    repo: Repository
    data_dir: Path
    generator: GeneratorConfig = field(default_factory=GeneratorConfig)
    default_reviewer: str | None = None
    max_upload_mb: int = 1024
    studies: LruCache[Study] = field(default_factory=lambda: LruCache(max_items=6))
    artefacts: LruCache[Any] = field(default_factory=lambda: LruCache(max_items=64))
    figures: LruCache[go.Figure] = field(default_factory=lambda: _figure_cache())
    generation_lock: Any = field(default_factory=threading.Lock)
    drafting: Any = None
    _report_generator: Any = field(default=None, init=False, repr=False)
    _building: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)

    def report_generator(self) -> ReportGenerator:
        """The server's report generator, built from :attr:`generator` on first use and then shared.

        Interactive drafts, section regeneration and the ``serve --draft-ahead`` worker all draft with
        this one instance, so a model is loaded once and held in memory once (each used to build its
        own: a reload per draft, and two copies of the weights with ``--draft-ahead``). Generate with
        it only while holding :attr:`generation_lock`.

        Raises:
            inference.registry.UnknownNameError, BackendOptionsError, ModelSetupError,
            viewer.errors.MissingExtraError: the configuration cannot run here (nothing is kept, so a
                fixed installation is picked up by the next call).
        """
        with self._building:
            if self._report_generator is None:
                from inference.registry import configured_generator

                cfg = self.generator
                self._report_generator = configured_generator(cfg.name, cfg.model, cfg.quantization)
            return self._report_generator  # type: ignore[no-any-return]

    def record(self, case_id: str) -> StudyRecord:
        """The worklist record of ``case_id``.

        Raises:
            ServiceError: no such case.
        """
        from storage.repository import NotFoundError

        if not case_id:
            raise ServiceError("no case is open; pick one from the worklist")
        try:
            return self.repo.get_study(case_id)
        except NotFoundError:
            raise ServiceError(f"case {case_id!r} is not in the worklist") from None

    def study(self, case_id: str) -> Study:
        """The loaded study of ``case_id`` with its context (cached)."""
        return self.studies.get_or_create(case_id, lambda: self._load(case_id))

    def _load(self, case_id: str) -> Study:
        """Read through the decoded-pixel cache (``viewer.io.pixel_cache``): a cached study is
        memory-mapped (read-only pixels), not decoded again."""
        from viewer.io import cache_for, load_study_cached

        record = self.record(case_id)
        cache = cache_for(self.data_dir)
        study = load_study_cached(self.data_dir / record.data_path, cache, case_id=case_id)
        lateral = lateral_path(self.data_dir / record.data_path)
        if lateral is not None:
            side = load_study_cached(lateral, cache, case_id=f"{case_id}-lateral")
            image = dataclasses.replace(side.primary, view="LATERAL")
            study = dataclasses.replace(study, images=(study.primary, image))
        prior = self.study(record.prior_case_id) if record.prior_case_id else None
        return dataclasses.replace(
            study, indication=record.indication, prior_report=record.prior_report, prior=prior
        )

    def download_dir(self) -> Path:
        """Where files offered for download are written (Gradio's temp dir; never the data dir)."""
        import os
        import tempfile

        path = Path(os.environ.get("GRADIO_TEMP_DIR") or tempfile.gettempdir()) / "radreview-downloads"
        path.mkdir(parents=True, exist_ok=True)
        return path

    def artefact(self, ref: str) -> Any:
        """A stored mask or heat map by content ref (cached)."""
        return self.artefacts.get_or_create(ref, lambda: self.repo.load_artefact(ref))
