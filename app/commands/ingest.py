"""``radreview ingest PATH... [--db URL] [--data-dir D]``: add studies to the worklist (DESIGN §7).

Each PATH (file, folder or zip) is read, copied into ``DATA_DIR/studies/`` under its content hash and
registered; ingesting the same content again changes nothing. With ``--drafts FILE`` the drafts in
that file are matched to the ingested studies and stored (see ``app.importing``).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from app.commands import DEFAULT_DATA_DIR


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add the ``ingest`` subcommand."""
    p = subparsers.add_parser("ingest", help="copy studies into the data directory, add them to the worklist")
    p.add_argument("paths", nargs="+", metavar="PATH", help="study files, folders (DICOM series) or zips")
    p.add_argument("--db", default=None, help="database URL (default sqlite:///DATA_DIR/radreview.db)")
    p.add_argument("--data-dir", type=Path, default=Path(DEFAULT_DATA_DIR),
                   help=f"where studies and artefacts live (default ./{DEFAULT_DATA_DIR})")
    p.add_argument("--series", metavar="UID", help="SeriesInstanceUID to pick in folders with several")
    p.add_argument("--indication", metavar="TEXT", help="clinical indication recorded with every study")
    p.add_argument("--assign", metavar="REVIEWER", help="assign the studies to this reviewer")
    p.add_argument("--drafts", metavar="FILE", help="drafts made elsewhere to store for these studies")
    p.add_argument("--drafts-format", metavar="F", help="format of --drafts (see `radreview import-drafts`)")
    p.add_argument("--match-by", choices=["id", "filename"], default="id",
                   help="match draft rows by case id or by study file name (default id)")
    p.add_argument("--queue-drafts", action="store_true",
                   help="queue the ingested studies for drafting ahead of review (`radreview drafts run`)")
    p.add_argument("--generator", metavar="G", default="builtin", help="generator of --queue-drafts")
    p.add_argument("--model", metavar="M", default="", help="model of --queue-drafts (hf/openai)")
    p.add_argument("--quantization", metavar="Q", choices=("none", "8bit", "4bit"), default="none",
                   help="quantization of --queue-drafts (hf)")
    p.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    p.set_defaults(func=run)


def _ingest_all(repo: Any, args: argparse.Namespace) -> tuple[list[Any], list[str]]:
    from storage.ingest import ingest_path
    from viewer.errors import StudyLoadError

    done, failed = [], []
    for path in args.paths:
        try:
            done.append(ingest_path(repo, Path(path), series=args.series, indication=args.indication,
                                    assign_to=args.assign))
        except StudyLoadError as exc:
            print(f"error: {' '.join(str(exc).split())}", file=sys.stderr)
            failed.append(path)
    return done, failed


def _import_drafts(repo: Any, args: argparse.Namespace, done: list[Any]) -> dict[str, Any] | None:
    if not args.drafts:
        return None
    from app.errors import CliError
    from app.importing import import_drafts, summary_json, summary_lines

    if not args.drafts_format:
        raise CliError("--drafts needs --drafts-format", 2)
    summary = import_drafts(repo, args.drafts, args.drafts_format, [(i.study, i.sources) for i in done],
                            match_by=args.match_by)
    if not args.json:
        print("\n".join(summary_lines(summary)))
    return summary_json(summary)


def _queue_drafts(repo: Any, args: argparse.Namespace, done: list[Any]) -> list[str]:
    """With ``--queue-drafts``: queue the ingested studies that have no draft (storage.drafting)."""
    if not args.queue_drafts:
        return []
    from storage.drafting import DraftQueue, GeneratorSpec

    spec = GeneratorSpec(args.generator, args.model or "", args.quantization)
    jobs = DraftQueue(repo).enqueue_undrafted(spec, [i.record.case_id for i in done])
    if not args.json and jobs:
        print(f"queued {len(jobs)} for drafting with {spec.label()} (radreview drafts run)")
    return [j.case_id for j in jobs]


def run(args: argparse.Namespace) -> int:
    """Ingest the studies; exit 3 when any PATH could not be read (the others are still ingested)."""
    from storage.repository import Repository

    with Repository.open(args.db, args.data_dir) as repo:
        if args.assign:
            repo.add_reviewer(args.assign)
        done, failed = _ingest_all(repo, args)
        drafts = _import_drafts(repo, args, done)
        queued = _queue_drafts(repo, args, done)
    rows = [{"case_id": i.record.case_id, "kind": i.record.kind, "data_path": i.record.data_path,
             "status": i.record.status, "copied": i.copied} for i in done]
    if args.json:
        print(json.dumps({"ingested": rows, "failed": failed, "drafts": drafts,
                          "queued_for_drafting": queued}))
    else:
        for row in rows:
            note = "copied" if row["copied"] else "already in the data directory"
            print(f"{row['case_id']}  {row['kind']}  {row['status']}  {row['data_path']}  ({note})")
    return 3 if failed else 0
