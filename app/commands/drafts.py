"""``radreview drafts run|status|enqueue``: draft studies ahead of review (the drafting queue).

``drafts run`` queues every study that has no draft yet (unless ``--no-enqueue``) and drafts the
queue with one generator configuration in batches — the overnight run. It is safe to stop (Ctrl-C,
SIGKILL, power loss) and run again: a study being drafted by a worker that died is re-queued when its
lease expires, and a draft is stored exactly once (see :mod:`storage.drafting`). A study that cannot be
drafted fails alone with its reason; the exit code is then 3 (DESIGN §7), after the others are done.

``drafts status`` shows the queue: counts per status and every open or failed job with its reason.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from app.commands import DEFAULT_DATA_DIR
from app.errors import CliError


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--db", default=None, help="database URL (default sqlite:///DATA_DIR/radreview.db)")
    p.add_argument(
        "--data-dir",
        type=Path,
        default=Path(DEFAULT_DATA_DIR),
        help=f"where studies and artefacts live (default ./{DEFAULT_DATA_DIR})",
    )
    p.add_argument("--json", action="store_true", help="print one JSON object on stdout")


def _spec_options(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--generator",
        metavar="G",
        default="builtin",
        help="report generator (builtin, hf, openai or a model adapter; default builtin)",
    )
    p.add_argument("--model", metavar="M", default="", help="model directory or cached hub id (hf/openai)")
    p.add_argument(
        "--quantization",
        metavar="Q",
        choices=("none", "8bit", "4bit"),
        default="none",
        help="none|8bit|4bit (hf)",
    )


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add the ``drafts`` subcommand and its actions."""
    p = subparsers.add_parser("drafts", help="draft studies ahead of review (queue, batch run, status)")
    actions = p.add_subparsers(dest="drafts_action", required=True, metavar="ACTION")
    run_p = actions.add_parser("run", help="draft the queued studies in batches (overnight run)")
    _common(run_p)
    _spec_options(run_p)
    run_p.add_argument("--batch-size", type=int, default=4, metavar="N", help="studies per batch (default 4)")
    run_p.add_argument("--limit", type=int, default=None, metavar="N", help="stop after N studies")
    run_p.add_argument(
        "--segmenter", metavar="S", default=None, help="segmenter (default by study kind; 'none' to skip)"
    )
    run_p.add_argument(
        "--no-enqueue",
        action="store_true",
        help="draft only what is queued already (default: first queue every undrafted study)",
    )
    run_p.add_argument("--retry-failed", action="store_true", help="re-queue failed jobs first")
    run_p.set_defaults(func=run)
    status_p = actions.add_parser("status", help="jobs per status; open and failed jobs with reasons")
    _common(status_p)
    status_p.set_defaults(func=status)
    enqueue_p = actions.add_parser(
        "enqueue", help="queue studies for drafting (default: every undrafted one)"
    )
    _common(enqueue_p)
    _spec_options(enqueue_p)
    enqueue_p.add_argument("cases", nargs="*", metavar="CASE", help="case ids (default: all without a draft)")
    enqueue_p.add_argument("--again", action="store_true", help="queue even cases already drafted with G")
    enqueue_p.set_defaults(func=enqueue)


def _spec(args: argparse.Namespace) -> Any:
    from storage.drafting import GeneratorSpec

    return GeneratorSpec(args.generator, args.model or "", args.quantization)


def _open(args: argparse.Namespace) -> Any:
    from storage.repository import Repository

    return Repository.open(args.db, args.data_dir)


def _check_generator(worker: Any) -> None:
    """Build the generator before claiming anything: a bad configuration is a usage error, not a study's."""
    from inference.registry import BackendOptionsError, UnknownNameError

    try:
        worker.generator()
    except (UnknownNameError, BackendOptionsError) as exc:
        raise CliError(str(exc), 2) from exc


def run(args: argparse.Namespace) -> int:
    """Queue undrafted studies (unless ``--no-enqueue``) and draft the queue; exit 3 if any study failed."""
    from app.drafting import DraftWorker
    from app.services import Services
    from storage.drafting import DraftQueue

    if args.batch_size < 1 or (args.limit is not None and args.limit < 1):
        raise CliError("--batch-size and --limit must be at least 1", 2)
    spec = _spec(args)
    with _open(args) as repo:
        queue = DraftQueue(repo)
        services = Services(repo=repo, data_dir=Path(args.data_dir))
        log = (lambda _m: None) if args.json else None
        worker = DraftWorker(
            queue, spec, services.study, batch_size=args.batch_size, segmenter=args.segmenter, log=log
        )
        _check_generator(worker)
        retried = queue.retry_failed(spec) if args.retry_failed else 0
        queued = [] if args.no_enqueue else queue.enqueue_undrafted(spec)
        tally = worker.run(limit=args.limit)
        counts = queue.counts()
    if args.json:
        print(
            json.dumps(
                {
                    "generator": spec.label(),
                    "queued": len(queued),
                    "retried": retried,
                    **tally.to_json(),
                    "counts": counts,
                }
            )
        )
    else:
        print(
            f"{spec.label()}: {len(tally.done)} drafted, {len(tally.failed)} failed, "
            f"{len(tally.lost)} lost to another worker ({len(queued)} newly queued, "
            f"{counts['queued']} still queued)"
        )
        for case_id, reason in tally.failed:
            print(f"failed {case_id}: {reason}", file=sys.stderr)
    return 3 if tally.failed else 0


def status(args: argparse.Namespace) -> int:
    """Print the queue's counts and its open and failed jobs."""
    from storage.drafting import DraftQueue

    with _open(args) as repo:
        queue = DraftQueue(repo)
        counts = queue.counts()
        jobs = queue.jobs()
    if args.json:
        print(json.dumps({"counts": counts, "jobs": [j.to_json() for j in jobs]}))
        return 0
    print("  ".join(f"{k}: {v}" for k, v in counts.items()))
    for job in jobs:
        if job.status == "done":
            continue
        who = f"  worker {job.worker_id}" if job.status == "running" else ""
        why = f"  {job.reason}" if job.reason else ""
        print(
            f"{job.id:>6}  {job.case_id}  {job.status}  {job.spec.label()}  attempts {job.attempts}{who}{why}"
        )
    return 0


def enqueue(args: argparse.Namespace) -> int:
    """Queue the named cases (or every undrafted one) for the generator configuration."""
    from storage.drafting import DraftQueue

    spec = _spec(args)
    with _open(args) as repo:
        queue = DraftQueue(repo)
        if args.cases:
            try:
                added = [j for c in args.cases if (j := queue.enqueue(c, spec, again=args.again)) is not None]
            except LookupError as exc:
                raise CliError(str(exc).strip("'\""), 2) from None
        else:
            added = queue.enqueue_undrafted(spec)
    if args.json:
        print(json.dumps({"queued": [j.to_json() for j in added]}))
    else:
        print(f"{len(added)} queued for {spec.label()}" + "".join(f"\n{j.id:>6}  {j.case_id}" for j in added))
    return 0
