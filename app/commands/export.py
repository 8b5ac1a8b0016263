"""``radreview export --format F --out PATH``: training data and PACS objects from reviewed cases (§6)."""

from __future__ import annotations

import argparse
import json
from datetime import date, datetime
from pathlib import Path

from app.commands import DEFAULT_DATA_DIR
from app.errors import CliError


def _when(text: str) -> date | datetime:
    """``YYYY-MM-DD`` (a whole day) or an ISO datetime."""
    try:
        return date.fromisoformat(text) if len(text) == 10 else datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date (YYYY-MM-DD) or ISO datetime") from None


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add the ``export`` subcommand."""
    from storage.exports import FORMATS

    p = subparsers.add_parser("export", help="export reviewed cases as training data or DICOM SR/SEG",
                              description="Write one export format plus manifest.json into --out.")
    p.add_argument("--format", required=True, choices=list(FORMATS), metavar="F",
                   help=f"one of: {', '.join(FORMATS)}")
    p.add_argument("--out", required=True, type=Path, help="export folder (new, or an empty folder)")
    p.add_argument("--db", default=None, help="database URL (default sqlite:///<data-dir>/radreview.db)")
    p.add_argument("--data-dir", type=Path, default=Path(DEFAULT_DATA_DIR),
                   help=f"where studies and artefacts live (default ./{DEFAULT_DATA_DIR})")
    p.add_argument("--reviewer", help="only cases signed by this reviewer")
    p.add_argument("--since", type=_when, help="only cases signed on/after this date (UTC)")
    p.add_argument("--until", type=_when, help="only cases signed on/before this date (UTC, inclusive)")
    p.add_argument("--region", help="only cases with findings in this region (regions format: only it)")
    p.add_argument("--model", help="only drafts from this model id or generator name")
    p.add_argument("--all", action="store_true",
                   help="include unsigned cases (default: signed only); their records say \"signed\": false "
                        "and their pending findings and undecided impression are left out of targets")
    p.add_argument("--copy-images", action="store_true", help="copy de-identified source images into --out")
    p.add_argument("--free-text", choices=["deid", "drop"], default="deid",
                   help="indication/prior report: 'deid' replaces names, ID numbers, dates and phone numbers "
                        "(default); 'drop' leaves free text out")
    p.add_argument("--json", action="store_true", help="print the counts as one JSON object")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Open the repository, export and print a one-line summary."""
    from app.callbacks.export import lookup, region_masks
    from storage.exports import ExportFilter, export
    from storage.exports.images import data_dir_resolver
    from storage.exports.registry import NonEmptyFolderError
    from storage.repository import Repository

    if not args.data_dir.is_dir():
        raise CliError(f"data directory {args.data_dir} does not exist; pass --data-dir", 2)
    filters = ExportFilter(reviewer=args.reviewer, since=args.since, until=args.until, region=args.region,
                           model=args.model, signed_only=not args.all)
    with Repository.open(args.db, args.data_dir) as repo:
        try:
            result = export(args.format, repo.reviewed_cases(signed_only=not args.all), args.out,
                            filters=filters, copy_images=args.copy_images,
                            image_resolver=data_dir_resolver(args.data_dir),
                            artefact_loader=repo.load_artefact, free_text=args.free_text,
                            study_lookup=lookup(repo),
                            region_masks=region_masks(args.data_dir, repo.load_artefact))
        except NonEmptyFolderError as exc:
            raise CliError(str(exc), 2) from None
        except (ValueError, FileNotFoundError) as exc:
            raise CliError(str(exc), 3) from None
    if args.json:
        print(json.dumps({"format": result.format, "out": str(result.out_dir), **result.counts}))
    else:
        c = result.counts
        print(f"{result.format}: {c['records']} record(s) from {c['cases_exported']} of {c['cases_matched']} "
              f"matching case(s) ({c['skipped']} skipped) → {result.out_dir} "
              f"(see {result.manifest_path.name})")
    return 0
