"""Drafts: immutable AI drafts of a case, their findings and their content-addressed artefacts."""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Mapping

import numpy as np
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from inference.records import Draft, draft_from_json, to_dict, to_json
from storage import rows
from storage.artefacts import ArtefactStore, LazyArtefacts
from storage.models import ArtefactRow, DraftFinding, DraftRow, StudyRow, table, utcnow
from storage.repo.base import Database, NotFoundError, insert_ignore
from storage.repo.studies import Studies
from viewer.cache import LruCache

_DRAFTS = table(DraftRow)
_STUDIES = table(StudyRow)
CACHE_SIZE = 1024
"""Entries of the per-process caches of parsed drafts and derived review states."""


class Drafts:
    """The ``drafts``, ``draft_findings`` and ``artefacts`` tables plus the artefact files.

    Parsed drafts are cached by id (drafts never change, so a cached one is always current).

    Args:
        db: The database.
        artefacts: Where artefact arrays are stored.
        studies: The studies (a draft's case must be registered).
    """

    def __init__(self, db: Database, artefacts: ArtefactStore, studies: Studies) -> None:
        self.db = db
        self.artefacts = artefacts
        self.studies = studies
        self.cache: LruCache[tuple[Draft, str]] = LruCache(max_items=CACHE_SIZE)  # id -> (draft, kind)

    def save_draft(self, draft: Draft) -> str:
        """Store an immutable draft and its artefacts (see ``Repository.save_draft``); its new id."""
        kinds = rows.artefact_kinds(draft)
        draft_id = uuid.uuid4().hex
        text = to_json(draft)
        for ref, array in draft.artefacts.items():
            self.artefacts.save(ref, array)
        with self.db.write() as conn:
            self.studies.require_study(conn, draft.case_id)
            self._record_artefacts(conn, draft, kinds)
            prov = draft.provenance
            conn.execute(sa.insert(_DRAFTS).values(
                id=draft_id, case_id=draft.case_id, generator=prov.generator, model_id=prov.model_id,
                provenance=to_dict(prov), draft_json=text, latency_s=dict(draft.latency_s),
                created_at=utcnow()))
            findings = rows.finding_values(draft_id, draft)
            if findings:
                conn.execute(sa.insert(DraftFinding), findings)
        return draft_id

    def _record_artefacts(self, conn: Connection, draft: Draft, kinds: Mapping[str, str]) -> None:
        refs = set(kinds) | set(draft.artefacts)
        if not refs:
            return
        known = set(conn.execute(sa.select(ArtefactRow.ref).where(ArtefactRow.ref.in_(refs))).scalars())
        for ref in sorted(refs - known):
            if ref not in draft.artefacts:
                raise ValueError(f"draft of case {draft.case_id!r} references artefact {ref} but neither "
                                 "draft.artefacts nor the store has it; put the array in Draft.artefacts")
            array = draft.artefacts[ref]
            insert_ignore(conn, table(ArtefactRow), ref=ref, kind=kinds.get(ref, "array"),
                          path=self.artefacts.relative_path(ref), shape=list(array.shape),
                          dtype=array.dtype.str, nbytes=int(array.nbytes), created_at=utcnow())

    def draft(self, conn: Connection, draft_id: str) -> tuple[Draft, str]:
        """A stored draft (without lazy artefacts) and its study's kind, from the cache when there."""
        cached = self.cache.get(draft_id)
        if cached is not None:
            return cached
        row = conn.execute(
            sa.select(_DRAFTS.c.draft_json, _STUDIES.c.kind)
            .join(_STUDIES, _STUDIES.c.case_id == _DRAFTS.c.case_id)
            .where(_DRAFTS.c.id == draft_id)).first()
        if row is None:
            raise NotFoundError(f"draft {draft_id!r} is not in the repository")
        loaded = (draft_from_json(row.draft_json), str(row.kind))
        self.cache.put(draft_id, loaded)
        return loaded

    def with_artefacts(self, draft: Draft) -> Draft:
        """``draft`` whose ``artefacts`` mapping loads arrays from the store on access."""
        refs = tuple(rows.artefact_kinds(draft))
        return dataclasses.replace(draft, artefacts=LazyArtefacts(self.artefacts, refs))

    def get_draft(self, draft_id: str) -> Draft:
        """A stored draft; its ``artefacts`` mapping loads arrays from the store on access."""
        with self.db.read() as conn:
            draft, _kind = self.draft(conn, draft_id)
        return self.with_artefacts(draft)

    def drafts_for(self, case_id: str) -> list[tuple[str, Draft]]:
        """All drafts of a case, oldest first, as ``(draft_id, draft)``."""
        with self.db.read() as conn:
            ids = conn.execute(sa.select(_DRAFTS.c.id).where(_DRAFTS.c.case_id == case_id)
                               .order_by(_DRAFTS.c.created_at, _DRAFTS.c.id)).scalars().all()
            return [(i, self.with_artefacts(self.draft(conn, i)[0])) for i in ids]

    def latest_draft(self, case_id: str) -> tuple[str, Draft] | None:
        """The newest draft of a case as ``(draft_id, draft)``, or ``None`` when it has none."""
        with self.db.read() as conn:
            draft_id = self.newest_id(conn, case_id)
            if draft_id is None:
                return None
            return draft_id, self.with_artefacts(self.draft(conn, draft_id)[0])

    def newest_id(self, conn: Connection, case_id: str) -> str | None:
        """The id of the newest draft of a case, ``None`` when it has none."""
        d = _DRAFTS.c
        newest = conn.execute(sa.select(d.id).where(d.case_id == case_id)
                              .order_by(d.created_at.desc(), d.id.desc()).limit(1)).scalar()
        return None if newest is None else str(newest)

    def load_artefact(self, ref: str) -> np.ndarray:
        """The array stored under a content reference (hash verified)."""
        return self.artefacts.load(ref)
