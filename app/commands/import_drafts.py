"""``radreview import-drafts --drafts FILE --format F``: store drafts made elsewhere for ingested studies.

The studies must be in the worklist (``radreview ingest``); rows are matched to them by case id or
by file name, flagged in each study's context and stored. Every row that is not stored is listed.
``radreview ingest PATH... --drafts FILE --drafts-format F`` does the same for the studies it ingests.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
from pathlib import Path
from typing import Any

from app.commands import DEFAULT_DATA_DIR


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add the ``import-drafts`` subcommand."""
    from inference.importers import format_names

    p = subparsers.add_parser("import-drafts", help="store drafts produced elsewhere for ingested studies")
    p.add_argument("--drafts", required=True, metavar="FILE", help="the drafts file (or folder of reports)")
    p.add_argument("--format", required=True, dest="fmt", metavar="F",
                   help=f"format of FILE: {', '.join(format_names())}")
    p.add_argument("--match-by", choices=["id", "filename"], default="id",
                   help="match rows by case id or by study file name (default id)")
    p.add_argument("--kind", choices=["cxr", "ct"], help="study kind of the rows (default: from the studies)")
    p.add_argument("--db", default=None, help="database URL (default sqlite:///DATA_DIR/radreview.db)")
    p.add_argument("--data-dir", type=Path, default=Path(DEFAULT_DATA_DIR),
                   help=f"where studies and artefacts live (default ./{DEFAULT_DATA_DIR})")
    p.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    p.set_defaults(func=run)


def _file_names(path: Path) -> tuple[str, ...]:
    if path.is_dir():
        return (path.name, *sorted(p.name for p in path.rglob("*") if p.is_file()))
    return (path.name,)


def _loader(repo: Any) -> Any:
    from viewer.io import load_study

    def load(case_id: str) -> Any:
        record = repo.get_study(case_id)
        study = load_study(repo.data_dir / record.data_path)
        prior = load(record.prior_case_id) if record.prior_case_id else None
        return dataclasses.replace(study, case_id=case_id, prior=prior, prior_report=record.prior_report,
                                   indication=record.indication)

    return load


def run(args: argparse.Namespace) -> int:
    """Import the drafts; exit 0 even when some rows were not imported (they are listed)."""
    from app.errors import CliError
    from app.importing import import_matched, summary_json, summary_lines
    from storage.repository import Repository

    with Repository.open(args.db, args.data_dir) as repo:
        records = repo.list_studies()
        if not records:
            where = args.db or args.data_dir
            raise CliError(f"no studies in {where}; add them with radreview ingest PATH", 2)
        candidates = [(r.case_id, r.kind, _file_names(repo.data_dir / r.data_path)) for r in records]
        summary = import_matched(repo, args.drafts, args.fmt, candidates, _loader(repo),
                                 match_by=args.match_by, kind=args.kind)
    if args.json:
        print(json.dumps(summary_json(summary)))
    else:
        print("\n".join(summary_lines(summary)))
    return 0
