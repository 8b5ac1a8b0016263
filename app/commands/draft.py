"""``radreview draft PATH``: write a grounded draft report for one study (DESIGN §7)."""

from __future__ import annotations

import argparse
import sys

from app.errors import CliError


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add the ``draft`` subcommand."""
    p = subparsers.add_parser("draft", help="draft a grounded report for one study")
    p.add_argument("path", metavar="PATH", help="study file, DICOM folder or zip")
    p.add_argument("--lateral", metavar="P", help="lateral radiograph (CXR)")
    p.add_argument("--prior", metavar="P", help="prior study of the same patient")
    p.add_argument("--prior-report", metavar="TEXT", help="text of the prior report")
    p.add_argument("--indication", metavar="TEXT", help="clinical indication")
    p.add_argument("--generator", metavar="G", default="builtin",
                   help="report generator: builtin (default, no AI model), hf, openai")
    p.add_argument("--segmenter", metavar="S", default=None,
                   help="segmenter (default by study kind: threshold-ct / cxr-classical; 'none' to skip)")
    p.add_argument("--labels", metavar="L",
                   help="label map (NIfTI/PNG/DICOM SEG) used as the segmentation (the upload segmenter)")
    p.add_argument("--label-map", metavar="SPEC",
                   help="label → region for --labels, e.g. '1=lungs:right,2=lungs:left,3=heart'")
    p.add_argument("--model", metavar="M", help="model directory or cached hub id (hf/openai)")
    p.add_argument("--quantization", metavar="Q", choices=("none", "8bit", "4bit"), default=None,
                   help="none|8bit|4bit (hf)")
    p.add_argument("--json", action="store_true", help="print the draft as one JSON object")
    p.set_defaults(func=run)


def _load(path: str, **context: object) -> object:
    try:
        from viewer.io import load_study
    except ImportError as exc:
        raise CliError(f"cannot read {path}: the study readers (viewer.io.load_study) are not installed "
                       f"in this build ({exc})", 3) from exc
    return load_study(path, **context)  # type: ignore[arg-type]


def build_study(args: argparse.Namespace) -> object:
    """Load PATH (plus lateral/prior) and attach the clinical context."""
    import dataclasses

    study = _load(args.path)
    images = study.images  # type: ignore[attr-defined]
    if args.lateral:
        lateral = _load(args.lateral).primary  # type: ignore[attr-defined]
        if lateral.view != "LATERAL":
            lateral = dataclasses.replace(lateral, view="LATERAL")
        images = (*images, lateral)
    prior = _load(args.prior) if args.prior else None
    return dataclasses.replace(study, images=images, prior=prior,  # type: ignore[type-var]
                               prior_report=args.prior_report, indication=args.indication)


def run(args: argparse.Namespace) -> int:
    """Load the study, draft it and print the report (or its JSON)."""
    from inference.draft import draft_study
    from inference.records import to_json
    from inference.registry import BackendOptionsError, UnknownNameError, get_generator, get_segmenter

    try:
        generator = get_generator(args.generator, model=args.model, quantization=args.quantization)
        segmenter = _segmenter(args, get_segmenter)
    except (UnknownNameError, BackendOptionsError) as exc:
        raise CliError(str(exc), 2) from exc
    except ValueError as exc:  # a backend refusing an option, e.g. --model with builtin
        raise CliError(f"--generator {args.generator}: {exc}", 2) from exc
    study = build_study(args)
    draft = draft_study(study, generator=generator, segmenter=segmenter)  # type: ignore[arg-type]
    if args.json:
        sys.stdout.write(to_json(draft) + "\n")
        return 0
    print(_human(draft))
    return 0


def _segmenter(args: argparse.Namespace, get_segmenter: object) -> object:
    """The segmenter instance (or ``None``/``"none"``) the options ask for."""
    if args.labels:
        if args.segmenter not in (None, "upload"):
            raise CliError(f"--labels uses the 'upload' segmenter, not {args.segmenter!r}", 2)
        return get_segmenter("upload", path=args.labels, mapping=args.label_map)  # type: ignore[operator]
    if args.label_map:
        raise CliError("--label-map needs --labels", 2)
    if args.segmenter in (None, "none"):
        return args.segmenter
    return get_segmenter(args.segmenter)  # type: ignore[operator]


def _human(draft: object) -> str:
    lines = [draft.text]  # type: ignore[attr-defined]
    flagged = [(f.id, ", ".join(f.flags)) for f in draft.findings if f.flags]  # type: ignore[attr-defined]
    if flagged:
        lines.append("")
        lines.extend(f"flag {fid}: {flags}" for fid, flags in flagged)
    prov = draft.provenance  # type: ignore[attr-defined]
    label = prov.label or prov.model_id
    lines.append(f"\n[{prov.generator}: {label}; segmenter {prov.segmenter or 'none'}; "
                 f"{draft.latency_s.get('total', 0.0):.1f} s]")  # type: ignore[attr-defined]
    return "\n".join(lines)
