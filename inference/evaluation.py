"""Measure the context flags and the sentence → region assignment on hand-labelled report sentences.

Three labelled sets ship as package data in ``inference/data/`` (:data:`SETS`, :func:`load_set`), so
``radreview bench flags`` works outside a source checkout:

``own``
    ``labelled_sentences.json`` — 382 CXR and CT sentences written by the team in MIMIC-CXR / Open-i /
    CT-RATE style. The rules were tuned on it (its figures are optimistic).
``dev``
    ``dev_sentences.json`` — 1060 further Open-i sentences in nine rounds (disjoint from ``real``
    and its source reports), a development set the rules were tuned on after the first real-set
    measurement.
``real``
    ``real_sentences.json`` — 325 sentences of real Open-i chest X-ray reports written by
    radiologists, labelled before the flagger was run on them and never tuned on
    (``inference/data/real_sentences_labelling.md``).

Each sentence carries its study kind, the region a radiologist would file it under (plus any other
acceptable regions), a study context (prior given? lateral given?) and the flags expected in that
context. A file is a JSON array with one sentence object per line (a ``.jsonl`` file, one object per
line, is read too). :func:`evaluate` runs the real code — the lexicon region
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
from importlib.resources import as_file, files
from pathlib import Path

import numpy as np

from inference.records import FLAGS, Finding, regions_for
from viewer.records import Image, Study

CONTEXT_FLAGS: tuple[str, ...] = tuple(f for f in FLAGS if f != "malformed_output")
SETS: dict[str, str] = {"own": "labelled_sentences.json", "dev": "dev_sentences.json",
                        "real": "real_sentences.json"}


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
    """Per-flag scores, region accuracy (``all``, then ``cxr``/``ct`` where present), every disagreement."""

    flags: dict[str, FlagScore]
    regions: dict[str, RegionScore]
    outcomes: tuple[Outcome, ...] = field(repr=False)

    def flag_errors(self, flag: str) -> list[Outcome]:
        """Outcomes where ``flag`` was raised but not expected, or expected but not raised."""
        return [o for o in self.outcomes if (flag in o.flags) != (flag in o.sentence.flags)]

    def region_errors(self) -> list[Outcome]:
        """Outcomes whose region is neither the label nor an acceptable one."""
        return [o for o in self.outcomes if not o.region_lenient]


def _records(path: Path) -> list[tuple[int, dict[str, object]]]:
    """``(line number, object)`` pairs of a JSON array (one object per line) or a JSONL file."""
    text = path.read_text(encoding="utf-8")
    if text.lstrip().startswith("["):
        try:
            rows = json.loads(text)
        except json.JSONDecodeError as err:
            raise ValueError(f"{path}:{err.lineno}: not valid JSON ({err.msg})") from None
        lines = [n for n, line in enumerate(text.splitlines(), start=1) if line.lstrip().startswith("{")]
        return list(zip(lines if len(lines) == len(rows) else range(1, len(rows) + 1), rows, strict=True))
    out = []
    for number, line in enumerate(text.splitlines(), start=1):
        if line.strip():
            try:
                out.append((number, json.loads(line)))
            except json.JSONDecodeError as err:
                raise ValueError(f"{path}:{number}: not valid JSON ({err.msg})") from None
    return out


def load_set(name: str) -> list[LabelledSentence]:
    """One of the shipped labelled sets by name (``own`` or ``real``, see :data:`SETS`)."""
    if name not in SETS:
        raise ValueError(f"unknown labelled set {name!r}; expected one of {', '.join(SETS)}")
    with as_file(files("inference.data") / SETS[name]) as path:
        return load_labelled(path)


def load_labelled(path: str | Path) -> list[LabelledSentence]:
    """Read and validate a labelled set (JSON array, one object per line, or JSONL).

    Raises:
        ValueError: naming the line, for invalid JSON, a missing field, an unknown kind, region or flag.
    """
    sentences = []
    for number, d in _records(Path(path)):
        if not isinstance(d, dict):
            raise ValueError(f"{path}:{number}: expected a JSON object, got {type(d).__name__}")
        try:
            s = _sentence(d)
        except (KeyError, TypeError) as err:
            raise ValueError(f"{path}:{number}: missing or malformed field {err}") from None
        _validate(s, f"{path}:{number}")
        sentences.append(s)
    return sentences


def _sentence(d: dict[str, object]) -> LabelledSentence:
    context = d["context"]
    if not isinstance(context, dict):
        raise TypeError("'context'")
    return LabelledSentence(
        id=str(d["id"]), kind=str(d["kind"]), text=str(d["text"]),
        region=None if d.get("region") is None else str(d["region"]),
        also_acceptable=tuple(d.get("also_acceptable", ())),  # type: ignore[arg-type]
        has_prior=bool(context["has_prior"]), has_lateral=bool(context["has_lateral"]),
        flags=tuple(d.get("flags", ())))  # type: ignore[arg-type]


def _validate(s: LabelledSentence, where: str) -> None:
    if s.kind not in ("cxr", "ct"):
        raise ValueError(f"{where}: kind {s.kind!r} is not 'cxr' or 'ct'")
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
        if any(o.sentence.kind == kind for o in outcomes):
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
