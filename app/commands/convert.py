"""``radreview convert llava-rad SRC OUT --base VICUNA [--vision PT]``: release → transformers checkpoint."""

from __future__ import annotations

import argparse
import json

from app.errors import CliError

EXIT_USAGE = 2


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add the ``convert`` subcommand."""
    p = subparsers.add_parser(
        "convert", help="convert a released model layout into a transformers checkpoint the hf path loads"
    )
    p.add_argument("family", choices=["llava-rad"], help="the released layout to convert")
    p.add_argument(
        "src", metavar="SRC", help="release folder (config.json, adapter_*, non_lora_trainables.bin)"
    )
    p.add_argument("out", metavar="OUT", help="output folder for the transformers Llava checkpoint")
    p.add_argument("--base", required=True, metavar="DIR", help="the Vicuna-7B v1.5 folder (LoRA base)")
    p.add_argument("--vision", metavar="FILE", help="BiomedCLIP-CXR weights (biomedclipcxr_518.pt)")
    p.add_argument("--vision-config", metavar="FILE", help="its open_clip JSON (mean/std)")
    p.add_argument("--random-vision", action="store_true", help="random vision tower (benchmarks only)")
    p.add_argument("--dtype", default="float16", choices=["float16", "bfloat16", "float32"])
    p.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Convert; a missing file or key is a usage error (exit 2) naming it."""
    from inference.models._llava_rad_convert import ConversionError, convert

    try:
        report = convert(
            args.src,
            args.out,
            base=args.base,
            vision=args.vision,
            vision_config=args.vision_config,
            random_vision=args.random_vision,
            dtype=args.dtype,
        )
    except (ConversionError, FileNotFoundError, OSError) as exc:
        raise CliError(str(exc), EXIT_USAGE) from exc
    info = {
        "out": str(report.out),
        "merged_lora_modules": report.merged_lora_modules,
        "lora_scale": report.lora_scale,
        "vision": report.vision,
        "image_token_id": report.image_token_id,
    }
    if args.json:
        print(json.dumps(info))
    else:
        merged = f"merged {report.merged_lora_modules} LoRA modules (scale {report.lora_scale:g})"
        print(f"wrote {report.out}: {merged}")
        print(f"vision: {report.vision}; load it with --generator hf --model {report.out}")
    return 0
