"""The repository: records in, records out; every reviewer action is one committed transaction.

``Repository.open(url, data_dir)`` migrates the database to the newest schema and returns a
repository bound to one engine. No ORM object leaves this package. The work is done by three units
over one :class:`~storage.repo.base.Database` (see :mod:`storage.repo` and ``docs/storage.md``):
:class:`~storage.repo.studies.Studies` (reviewers, studies, worklist, reference reports),
:class:`~storage.repo.drafts.Drafts` (drafts and artefacts) and
:class:`~storage.repo.review_log.ReviewLog` (actions, derived states, signed reports). This class
keeps the public API in one place and only delegates.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from sqlalchemy.engine import Engine

from inference.records import Draft
from storage import migrate
from storage.artefacts import ArtefactStore
from storage.engine import create_engine, sqlite_url
from storage.records import (
    ReferenceReport,
    ReviewAction,
    ReviewedCase,
    ReviewerRecord,
    ReviewState,
    StudyRecord,
)
from storage.repo.base import Database, NotFoundError, VersionConflict
from storage.repo.drafts import Drafts
from storage.repo.review_log import ReviewLog
from storage.repo.studies import Studies

if TYPE_CHECKING:
    from viewer.records import Study

__all__ = ["NotFoundError", "Repository", "VersionConflict", "default_url"]


def default_url(data_dir: Path) -> str:
    """The default database: ``sqlite:///<data_dir>/radreview.db``."""
    return sqlite_url(str(Path(data_dir) / "radreview.db"))


class Repository:
    """Studies, drafts and the append-only review log of one database + data directory."""

    def __init__(self, engine: Engine, data_dir: Path) -> None:
        self.engine = engine
        self.data_dir = Path(data_dir)
        self.artefacts = ArtefactStore(self.data_dir)
        self.db = Database(engine)
        self.studies = Studies(self.db)
        self.drafts = Drafts(self.db, self.artefacts, self.studies)
        self.log = ReviewLog(self.db, self.drafts, self.studies)

    @classmethod
    def open(cls, url: str | None, data_dir: Path, *, synchronous: str = "FULL") -> Repository:
        """Open (creating and migrating as needed) the repository.

        Args:
            url: SQLAlchemy URL; ``None`` means ``sqlite:///<data_dir>/radreview.db``.
            data_dir: Where studies and artefacts live (created if missing).
            synchronous: SQLite only: ``FULL`` (default; a commit survives power loss) or ``NORMAL``
                (survives application crashes only; see :mod:`storage.engine`).
        """
        data_dir = Path(data_dir)
        data_dir.mkdir(parents=True, exist_ok=True)
        url = url or default_url(data_dir)
        if not migrate.is_current(url):
            migrate.upgrade(url)
        return cls(create_engine(url, synchronous=synchronous), data_dir)

    def close(self) -> None:
        """Release the engine's connections."""
        self.engine.dispose()

    def __enter__(self) -> Repository:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- reviewers, studies, worklist (storage.repo.studies) ---------------------------------

    def add_reviewer(self, name: str, display_name: str | None = None) -> ReviewerRecord:
        """Add a reviewer (idempotent: an existing name is returned unchanged)."""
        return self.studies.add_reviewer(name, display_name)

    def list_reviewers(self) -> list[ReviewerRecord]:
        """All reviewers, by name."""
        return self.studies.list_reviewers()

    def register_study(self, study: Study, data_path: str, *,
                       prior_case_id: str | None = None) -> StudyRecord:
        """Register a study (idempotent on ``case_id``).

        Args:
            study: A :class:`viewer.records.Study` (its pixels are not stored).
            data_path: Where its files are, relative to the data directory.
            prior_case_id: The prior study's case id; defaults to ``study.prior.case_id`` when that
                case is registered.

        Raises:
            ValueError: ``data_path`` is absolute or leaves the data directory, or the case id is
                already registered with a different kind.
            NotFoundError: an explicit ``prior_case_id`` is not registered.
        """
        return self.studies.register_study(study, data_path, prior_case_id=prior_case_id)

    def get_study(self, case_id: str) -> StudyRecord:
        """One study with its derived status (:class:`NotFoundError` naming the case id)."""
        return self.studies.get_study(case_id)

    def list_studies(self, *, status: str | None = None, assigned_to: str | None = None,
                     search: str | None = None) -> list[StudyRecord]:
        """The worklist, oldest first, filtered by status, assignee and a search string."""
        return self.studies.list_studies(status=status, assigned_to=assigned_to, search=search)

    def assign(self, case_id: str, reviewer: str | None) -> StudyRecord:
        """Assign a case to a reviewer (``None`` unassigns); recorded as an event."""
        return self.studies.assign(case_id, reviewer)

    def progress(self, reviewer: str | None = None) -> dict[str, int]:
        """Counts of studies per status (all four keys), optionally only those assigned to ``reviewer``."""
        return self.studies.progress(reviewer)

    def save_reference(self, case_id: str, text: str, source: tuple[str, str, int | None] = ("", "", None)
                       ) -> int:
        """Append a ground-truth report of a case; returns its id (references are never changed).

        Args:
            case_id: A registered case.
            text: The reference report, verbatim (must not be blank).
            source: ``(file name, import format, 1-based row or None)`` it was read from.

        Raises:
            NotFoundError: the case is not registered.
            ValueError: the text is blank.
        """
        return self.studies.save_reference(case_id, text, source)

    def references_for(self, case_id: str) -> list[ReferenceReport]:
        """The reference reports of a case, oldest first (the last one is the current reference)."""
        return self.studies.references_for(case_id)

    # -- drafts and artefacts (storage.repo.drafts) ------------------------------------------

    def save_draft(self, draft: Draft) -> str:
        """Store an immutable draft and its artefacts; returns the new draft id.

        Arrays in ``draft.artefacts`` are written (content-addressed) before the transaction that
        records the draft commits, so a committed draft never points at a missing file.

        Raises:
            NotFoundError: the case is not registered.
            ValueError: a grounding references an artefact that is neither in ``draft.artefacts``
                nor already stored.
        """
        return self.drafts.save_draft(draft)

    def get_draft(self, draft_id: str) -> Draft:
        """A stored draft; its ``artefacts`` mapping loads arrays from the store on access."""
        return self.drafts.get_draft(draft_id)

    def drafts_for(self, case_id: str) -> list[tuple[str, Draft]]:
        """All drafts of a case, oldest first, as ``(draft_id, draft)``."""
        return self.drafts.drafts_for(case_id)

    def latest_draft(self, case_id: str) -> tuple[str, Draft] | None:
        """The newest draft of a case as ``(draft_id, draft)``, or ``None`` when it has none."""
        return self.drafts.latest_draft(case_id)

    def load_artefact(self, ref: str) -> np.ndarray:
        """The array stored under a content reference (hash verified)."""
        return self.drafts.load_artefact(ref)

    # -- the review log (storage.repo.review_log) --------------------------------------------

    def review_state(self, case_id: str, draft_id: str | None = None) -> ReviewState:
        """The current review of a case, derived from its draft and actions.

        Args:
            case_id: The case.
            draft_id: The draft under review; by default the one the latest action refers to, or
                the newest draft when nothing was recorded yet.

        Raises:
            NotFoundError: the case has no draft (or ``draft_id`` belongs to another case).
        """
        return self.log.review_state(case_id, draft_id)

    def record_action(self, action: ReviewAction) -> ReviewAction:
        """Validate and append one action in its own committed transaction.

        Returns:
            The stored action, with ``id``, ``acted_at`` (when it was ``None``) and, for ``add``
            without one, a generated ``finding_id``.

        Raises:
            StaleVersionError: someone changed the finding (or case) since ``base_version``.
            InvalidActionError: the action does not fit the current review.
            NotFoundError: unknown draft or reviewer.
            Nothing is written when any of these is raised.
        """
        return self.log.record_action(action)

    def reviewed_cases(self, *, signed_only: bool = True) -> Iterator[ReviewedCase]:
        """Each case with its study, the draft under review and the derived state, oldest first.

        Args:
            signed_only: Only signed cases (the draft is the one that was signed).
        """
        return self.log.reviewed_cases(signed_only=signed_only)
