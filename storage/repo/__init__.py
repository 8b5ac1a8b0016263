"""The units behind :class:`storage.repository.Repository`: one database handle and three stores.

* :mod:`storage.repo.base` — :class:`Database` (read and write transactions, the write gate) and the
  errors every unit raises;
* :mod:`storage.repo.studies` — reviewers, studies, assignments, the worklist and reference reports;
* :mod:`storage.repo.drafts` — immutable drafts, their findings and artefacts;
* :mod:`storage.repo.review_log` — the append-only review log: actions, derived states, signed reports.
"""
