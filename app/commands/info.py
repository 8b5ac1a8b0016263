"""``radreview info PATH [--series UID] [--json]``: what a study is, as the loader sees it (DESIGN §7)."""

from __future__ import annotations

import argparse
import json
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from viewer.records import Image, Study


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add the ``info`` subcommand."""
    p = subparsers.add_parser(
        "info", help="describe one study: kind, modality, shape, spacing, window, sha256"
    )
    p.add_argument("path", metavar="PATH", help="a file, a folder (DICOM series) or a zip")
    p.add_argument("--series", metavar="UID", help="SeriesInstanceUID to pick when the folder holds several")
    p.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    p.set_defaults(func=run)


def _orientation(image: Any) -> str:
    if image.is_volume:
        from viewer.io.orient import axcodes

        return axcodes(image.affine)
    return str(image.meta.get("PatientOrientation", "")) or "unknown"


def describe_image(image: Image) -> dict[str, Any]:
    """The JSON description of one :class:`viewer.Image`."""
    window = None
    if image.default_window is not None:
        window = {
            "center": image.default_window[0],
            "width": image.default_window[1],
            "function": image.voi_function,
        }
    return {
        "source": image.source,
        "modality": image.modality,
        "shape": list(image.shape),
        "spacing": list(image.spacing_mm) if image.spacing_mm is not None else None,
        "window": window,
        "voi_lut": image.voi_lut is not None,
        "photometric": image.photometric,
        "view": image.view,
        "orientation": _orientation(image),
        "sha256": image.sha256,
        "affine": [[round(float(v), 6) for v in row] for row in image.affine],
        "meta": dict(image.meta),
        "warnings": list(image.warnings),
    }


def describe(study: Study) -> dict[str, Any]:
    """The JSON object ``radreview info --json`` prints: the primary image's fields at top level."""
    images = [describe_image(im) for im in study.images]
    primary = images[0]
    return {
        "case_id": study.case_id,
        "kind": study.kind,
        **{k: v for k, v in primary.items() if k != "meta"},
        "meta": primary["meta"],
        "images": images if len(images) > 1 else [],
    }


def _text(info: dict[str, Any]) -> str:
    window = info["window"]
    lines = [
        f"case      {info['case_id']}  ({info['kind']})",
        f"source    {info['source']}",
        f"modality  {info['modality']}  {info['photometric']}  view {info['view'] or '-'}",
        f"shape     {' × '.join(str(s) for s in info['shape'])}  orientation {info['orientation']}",
        "spacing   "
        + (" × ".join(f"{s:g}" for s in info["spacing"]) + " mm" if info["spacing"] else "unknown"),
        "window    "
        + (f"C {window['center']:g} / W {window['width']:g} ({window['function']})" if window else "none"),
        f"sha256    {info['sha256']}",
    ]
    lines += [f"warning   {w}" for w in info["warnings"]]
    lines += [f"image {i + 1}   {im['view'] or '-'} {im['source']}" for i, im in enumerate(info["images"])]
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    """Load the study and print its description."""
    from viewer.io import load_study

    study = load_study(args.path, series=args.series)
    info = describe(study)
    print(json.dumps(info) if args.json else _text(info))
    return 0
