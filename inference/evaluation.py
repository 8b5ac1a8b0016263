"""Measure the context flags and the sentence → region assignment on hand-labelled report sentences.

The labelled set (``tests/inference/data/labelled_sentences.jsonl``) holds radiology report
sentences written by the team, each with its study kind, the region a radiologist would file it
under (plus any other acceptable regions), a study context (prior given? lateral given?) and the
flags expected in that context. :func:`evaluate` runs the real code — the lexicon region
assignment of :mod:`inference.parsers` and :func:`inference.flags.flags_for` on a study built with
that context — and counts agreements.

Region accuracy is reported strictly (the labelled region) and leniently (any acceptable region).
A sentence labelled with no region (``null``: CT sentences with no anatomy, e.g. "Comparison:
none.") is correct when the lexicon finds no anatomy keyword, i.e. it falls through to the
fallback region.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from inference.records import FLAGS, Finding, regions_for
from viewer.records import Image, Study

CONTEXT_FLAGS: tuple[str, ...] = tuple(f for f in FLAGS if f != "malformed_output")


@dataclass(frozen=True)
class LabelledSentence:
    """One labelled sentence (one line of the JSONL file)."""

    id: str
    kind: str
    text: str
    region: str | None
    also_acceptable: tuple[str, ...]
    has_prior: bool
    has_lateral: bool
    flags: tuple[str, ...]


@dataclass(frozen=True)
class FlagScore:
    """Confusion counts of one flag; precision/recall are ``None`` when undefined (no positives)."""

    flag: str
    tp: int
    fp: int
    fn: int
    tn: int

    @property
    def precision(self) -> float | None:
        """tp / (tp + fp)."""
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else None

    @property
    def recall(self) -> float | None:
        """tp / (tp + fn)."""
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else None


@dataclass(frozen=True)
class RegionScore:
    """Region assignment accuracy over ``n`` sentences."""

    n: int
    strict: int
    lenient: int

    @property
    def strict_accuracy(self) -> float:
        """Share assigned exactly the labelled region."""
        return self.strict / self.n if self.n else 0.0

    @property
    def lenient_accuracy(self) -> float:
        """Share assigned the labelled or an acceptable region."""
        return self.lenient / self.n if self.n else 0.0


@dataclass(frozen=True)
class Outcome:
    """What the code said about one sentence."""

    sentence: LabelledSentence
    region: str
    keyword_region: str | None
    flags: tuple[str, ...]

    @property
    def region_strict(self) -> bool:
        """Region equals the label (for an unlabelled region: no anatomy keyword matched)."""
        if self.sentence.region is None:
            return self.keyword_region is None
        return self.region == self.sentence.region

    @property
    def region_lenient(self) -> bool:
        """Region is the label or one of the acceptable alternatives."""
        return self.region_strict or self.region in self.sentence.also_acceptable


@dataclass(frozen=True)
class EvaluationReport:
    """Per-flag scores, region accuracy (``all``, ``cxr``, ``ct``) and every disagreement."""

    flags: dict[str, FlagScore]
    regions: dict[str, RegionScore]
    outcomes: tuple[Outcome, ...] = field(repr=False)

    def flag_errors(self, flag: str) -> list[Outcome]:
        """Outcomes where ``flag`` was raised but not expected, or expected but not raised."""
        return [o for o in self.outcomes if (flag in o.flags) != (flag in o.sentence.flags)]

    def region_errors(self) -> list[Outcome]:
        """Outcomes whose region is neither the label nor an acceptable one."""
        return [o for o in self.outcomes if not o.region_lenient]


def load_labelled(path: str | Path) -> list[LabelledSentence]:
    """Read and validate the labelled JSONL.

    Raises:
        ValueError: naming the line, for an unknown kind, region or flag.
    """
    sentences = []
    for number, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        d = json.loads(line)
        s = LabelledSentence(
            id=d["id"], kind=d["kind"], text=d["text"], region=d.get("region"),
            also_acceptable=tuple(d.get("also_acceptable", ())),
            has_prior=bool(d["context"]["has_prior"]), has_lateral=bool(d["context"]["has_lateral"]),
            flags=tuple(d.get("flags", ())))
        _validate(s, f"{path}:{number}")
        sentences.append(s)
    return sentences


def _validate(s: LabelledSentence, where: str) -> None:
    regions = regions_for(s.kind)
    for region in (*([s.region] if s.region else []), *s.also_acceptable):
        if region not in regions:
            raise ValueError(f"{where}: region {region!r} is not a {s.kind} region ({', '.join(regions)})")
    unknown = set(s.flags) - set(CONTEXT_FLAGS)
    if unknown:
        raise ValueError(f"{where}: unknown flags {sorted(unknown)}; expected from {CONTEXT_FLAGS}")


def context_study(kind: str, has_prior: bool, has_lateral: bool) -> Study:
    """A minimal study carrying only the context the flags look at (prior report, lateral image)."""
    def image(shape: tuple[int, ...], view: str) -> Image:
        return Image(pixels=np.zeros(shape, np.float32), spacing_mm=None, affine=np.eye(4),
                     modality="CT" if kind == "ct" else "DX", photometric="MONOCHROME2",
                     default_window=None, source=f"<{view.lower() or 'volume'}>", sha256="0" * 64, view=view)

    images: tuple[Image, ...]
    if kind == "ct":
        images = (image((1, 2, 2), "AXIAL"),)
    else:
        images = (image((2, 2), "PA"), *([image((2, 2), "LATERAL")] if has_lateral else []))
    return Study(case_id="labelled", kind=kind, images=images,  # type: ignore[arg-type]
                 prior_report="Prior report on file." if has_prior else None)


def judge(sentence: LabelledSentence) -> Outcome:
    """Run the real region assignment and flags on one labelled sentence."""
    from inference.flags import flags_for
    from inference.parsers.base import finding_for
    from inference.parsers.lexicon import region_for

    finding: Finding = finding_for(sentence.text, sentence.kind, 1)
    study = context_study(sentence.kind, sentence.has_prior, sentence.has_lateral)
    flags = tuple(f for f in flags_for(finding, study) if f in CONTEXT_FLAGS)
    return Outcome(sentence, finding.region, region_for(sentence.text, sentence.kind), flags)


def _flag_score(flag: str, outcomes: Sequence[Outcome]) -> FlagScore:
    pairs = [(flag in o.flags, flag in o.sentence.flags) for o in outcomes]
    return FlagScore(flag, tp=sum(p and e for p, e in pairs), fp=sum(p and not e for p, e in pairs),
                     fn=sum(e and not p for p, e in pairs), tn=sum(not p and not e for p, e in pairs))


def _region_score(outcomes: Iterable[Outcome]) -> RegionScore:
    chosen = list(outcomes)
    strict = sum(o.region_strict for o in chosen)
    return RegionScore(len(chosen), strict, sum(o.region_lenient for o in chosen))


def evaluate(sentences: Sequence[LabelledSentence]) -> EvaluationReport:
    """Score every context flag and the region assignment on ``sentences``."""
    outcomes = tuple(judge(s) for s in sentences)
    regions = {"all": _region_score(outcomes)}
    for kind in ("cxr", "ct"):
        regions[kind] = _region_score(o for o in outcomes if o.sentence.kind == kind)
    return EvaluationReport({f: _flag_score(f, outcomes) for f in CONTEXT_FLAGS}, regions, outcomes)


def _pct(value: float | None) -> str:
    return "n/a" if value is None else f"{100 * value:.1f} %"


def markdown_tables(report: EvaluationReport) -> str:
    """The two markdown tables of ``docs/evaluation.md``: flags, then region accuracy."""
    lines = ["| flag | expected | raised | TP | FP | FN | precision | recall |",
             "|---|---:|---:|---:|---:|---:|---:|---:|"]
    for s in report.flags.values():
        lines.append(f"| `{s.flag}` | {s.tp + s.fn} | {s.tp + s.fp} | {s.tp} | {s.fp} | {s.fn} | "
                     f"{_pct(s.precision)} | {_pct(s.recall)} |")
    lines += ["", "| sentences | n | region accuracy (strict) | region accuracy (lenient) |",
              "|---|---:|---:|---:|"]
    for name, r in report.regions.items():
        lines.append(f"| {name} | {r.n} | {_pct(r.strict_accuracy)} | {_pct(r.lenient_accuracy)} |")
    return "\n".join(lines)
