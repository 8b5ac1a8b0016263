"""Review records: actions, derived review state and what exports consume (DESIGN §5).

These are plain frozen dataclasses; ORM objects never leave ``storage/``. The current state of a
report is *derived* from the immutable draft plus the append-only actions
(:func:`storage.review.apply_actions`); nothing is overwritten.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

from inference.records import Draft, Finding, Grounding, Section, regions_for

ActionKind = Literal[
    "accept", "edit", "reject", "add", "move_box", "relink_region", "edit_mask", "regenerate", "sign",
]
ACTION_KINDS: tuple[str, ...] = (
    "accept", "edit", "reject", "add", "move_box", "relink_region", "edit_mask", "regenerate", "sign",
)
REASON_CODES: tuple[str, ...] = (
    "false_finding", "missed_finding", "wrong_location", "wrong_severity", "false_comparison",
    "missed_comparison", "grounding_error", "style", "other",
)
StudyStatus = Literal["new", "drafted", "in_review", "signed"]
FindingStatus = Literal["pending", "accepted", "edited", "rejected", "added"]
ImpressionStatus = Literal["pending", "accepted", "edited", "proposed"]
GroundingChoice = Literal["keep", "drop", "reground"]
GROUNDING_CHOICES: tuple[str, ...] = ("keep", "drop", "reground")
IMPRESSION_ID = "@impression"
"""The reserved ``finding_id`` of impression actions (``accept``/``edit`` of the impression, and the
``regenerate`` action that proposes a new one). Draft finding ids starting with ``@`` are refused."""


@dataclass(frozen=True)
class ReviewAction:
    """One reviewer decision, appended and never changed.

    Attributes:
        kind: One of :data:`ACTION_KINDS`.
        case_id: The study's pseudonymous id.
        draft_id: The draft the reviewer was looking at.
        reviewer: Reviewer login name.
        finding_id: The finding acted on (``None`` for ``sign`` and whole-report ``regenerate``).
        phrase_index: For ``move_box``/``edit_mask``: which phrase of the finding.
        before_text: Text before an ``edit``.
        after_text: Text after an ``edit``, or the text of an ``add``.
        before_grounding: Grounding before a ``move_box``/``edit_mask``.
        after_grounding: Grounding after it.
        region: Target region of ``add``/``relink_region``/``regenerate`` (section).
        reason: One of :data:`REASON_CODES` (required for ``edit``, ``reject`` and ``add``).
        clinically_significant: Whether the reviewer judged the error clinically significant.
        comment: Free text.
        shown_at: When the finding was shown to the reviewer (for time-per-finding).
        acted_at: When the reviewer acted; set by storage when ``None``.
        base_version: The finding's version the reviewer saw (optimistic lock): the number of actions
            already applied to that finding. For ``sign`` it is the case's action count.
        new_draft_id: For ``regenerate``: the draft holding the regenerated section(s).
        grounding: For ``edit``: what the reviewer chose to do with the finding's grounding —
            ``keep`` (boxes and masks stay, re-attached to the new text), ``drop`` (removed) or
            ``reground`` (removed now; the reviewer draws a new box next). ``None`` on rows written
            before revision 0005: replayed with :func:`storage.review.default_grounding`.
        id: Assigned by storage (monotonic per database).

    Impression actions use ``finding_id == IMPRESSION_ID``: ``accept`` (the current impression is
    right), ``edit`` (``after_text`` replaces it) and ``regenerate`` with the proposal in ``after_text``
    (built from the reviewed findings; still to be accepted or edited).
    """

    kind: ActionKind
    case_id: str
    draft_id: str
    reviewer: str
    finding_id: str | None = None
    phrase_index: int | None = None
    before_text: str | None = None
    after_text: str | None = None
    before_grounding: Grounding | None = None
    after_grounding: Grounding | None = None
    region: str | None = None
    reason: str | None = None
    clinically_significant: bool = False
    comment: str = ""
    shown_at: datetime | None = None
    acted_at: datetime | None = None
    base_version: int = 0
    new_draft_id: str | None = None
    grounding: GroundingChoice | None = None
    id: int | None = None

    def __post_init__(self) -> None:
        if self.kind not in ACTION_KINDS:
            raise ValueError(f"unknown action {self.kind!r}; expected one of {', '.join(ACTION_KINDS)}")
        if self.reason is not None and self.reason not in REASON_CODES:
            raise ValueError(
                f"unknown reason code {self.reason!r}; expected one of {', '.join(REASON_CODES)}")
        if self.kind in ("edit", "reject", "add") and self.reason is None:
            raise ValueError(f"a {self.kind!r} action needs a reason code ({', '.join(REASON_CODES)})")
        needs_finding = self.kind not in ("sign", "regenerate", "add")
        if needs_finding and not self.finding_id:
            raise ValueError(f"a {self.kind!r} action needs a finding_id")
        if self.kind in ("edit", "add") and not (self.after_text or "").strip():
            raise ValueError(f"a {self.kind!r} action needs the new text (after_text)")
        if self.grounding is not None and (self.kind != "edit" or self.grounding not in GROUNDING_CHOICES):
            raise ValueError(f"grounding choice {self.grounding!r} is only for an 'edit' action and must be "
                             f"one of {', '.join(GROUNDING_CHOICES)}")
        if self.finding_id == IMPRESSION_ID and self.kind not in ("accept", "edit", "regenerate"):
            raise ValueError(f"the impression can be accepted, edited or regenerated, not {self.kind!r}-ed")


@dataclass(frozen=True)
class FindingState:
    """A finding as it stands after the actions so far.

    Attributes:
        finding: Current text, region and phrases.
        status: ``pending`` until accepted/edited/rejected; reviewer additions are ``added``.
        version: Number of actions applied to this finding (the optimistic-lock counter).
        original: The finding as drafted (``None`` for reviewer additions).
        reason: Last reason code given.
        clinically_significant: Last significance flag given.
    """

    finding: Finding
    status: FindingStatus = "pending"
    version: int = 0
    original: Finding | None = None
    reason: str | None = None
    clinically_significant: bool = False

    @property
    def decided(self) -> bool:
        """True once the reviewer has made a decision about it."""
        return self.status != "pending"


@dataclass(frozen=True)
class ReviewState:
    """A case's review derived from its draft and actions."""

    case_id: str
    draft_id: str
    kind: str
    findings: tuple[FindingState, ...]
    actions: tuple[ReviewAction, ...] = ()
    impression: str | None = None
    impression_status: ImpressionStatus = "pending"
    impression_version: int = 0
    impression_original: str | None = None
    signed_by: str | None = None
    signed_at: datetime | None = None

    @property
    def signed(self) -> bool:
        """True once a ``sign`` action was recorded."""
        return self.signed_by is not None

    @property
    def all_decided(self) -> bool:
        """True when no finding is still pending."""
        return all(f.decided for f in self.findings)

    @property
    def impression_decided(self) -> bool:
        """True once the reviewer accepted or edited the impression (a proposal is not a decision)."""
        return self.impression_status in ("accepted", "edited")

    @property
    def ready_to_sign(self) -> bool:
        """Every finding and the impression decided (what ``sign`` requires)."""
        return self.all_decided and self.impression_decided

    @property
    def version(self) -> int:
        """The case-level version: number of actions recorded."""
        return len(self.actions)

    def state_of(self, finding_id: str) -> FindingState:
        """The state of one finding.

        Raises:
            KeyError: naming the finding and case.
        """
        for state in self.findings:
            if state.finding.id == finding_id:
                return state
        raise KeyError(f"finding {finding_id!r} is not in case {self.case_id!r}")

    def sections(self) -> tuple[Section, ...]:
        """The current report: kept findings (not rejected) per region, in DESIGN §4 order."""
        kept = [s.finding for s in self.findings if s.status != "rejected"]
        return tuple(Section(region, tuple(f for f in kept if f.region == region))
                     for region in regions_for(self.kind))

    def current_text(self) -> str:
        """The current report as plain text (``REGION: text`` lines plus the impression)."""
        lines = [f"{s.region.upper()}: {s.text}" for s in self.sections() if s.findings]
        if self.impression:
            lines.append(f"IMPRESSION: {self.impression}")
        return "\n".join(lines)

    def reviewed_sections(self) -> tuple[Section, ...]:
        """Only what the reviewer decided to keep: accepted, edited and added findings per region."""
        kept = [s.finding for s in self.findings if s.status in ("accepted", "edited", "added")]
        return tuple(Section(region, tuple(f for f in kept if f.region == region))
                     for region in regions_for(self.kind))

    def reviewed_impression(self) -> str | None:
        """The impression when the reviewer accepted or edited it, else ``None``."""
        return self.impression if self.impression_decided else None

    def reviewed_text(self) -> str:
        """The report as the reviewer decided it: pending findings and an undecided impression left out.

        For a signed case this equals :meth:`current_text` (signing needs everything decided).
        """
        lines = [f"{s.region.upper()}: {s.text}" for s in self.reviewed_sections() if s.findings]
        impression = self.reviewed_impression()
        if impression:
            lines.append(f"IMPRESSION: {impression}")
        return "\n".join(lines)


@dataclass(frozen=True)
class StudyRecord:
    """A study registered in the worklist (no pixels, no PHI).

    Attributes:
        case_id: Pseudonymous id.
        kind: ``cxr`` or ``ct``.
        status: Worklist status.
        source_sha256s: Hashes of the input files/images.
        data_path: Path of the study relative to the data directory.
        indication: Clinical indication, if given.
        prior_report: Prior report text, if given.
        prior_case_id: The prior study's case id, if a prior study was given.
        assigned_to: Reviewer the case is assigned to.
        created_at: When it was registered.
        meta: Non-PHI tags (Modality, StudyInstanceUID, SeriesInstanceUID… for SR/SEG export).
    """

    case_id: str
    kind: str
    status: StudyStatus = "new"
    source_sha256s: tuple[str, ...] = ()
    data_path: str = ""
    indication: str | None = None
    prior_report: str | None = None
    prior_case_id: str | None = None
    assigned_to: str | None = None
    created_at: datetime | None = None
    meta: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class ReviewedCase:
    """Everything an export needs about one case: the study, the draft and its derived review."""

    study: StudyRecord
    draft: Draft
    state: ReviewState


@dataclass(frozen=True)
class ReviewerRecord:
    """A reviewer known to the repository."""

    name: str
    display_name: str | None = None
    created_at: datetime | None = None


@dataclass(frozen=True)
class ReferenceReport:
    """A ground-truth report of a case, stored as imported (never changed).

    Attributes:
        case_id: The study's pseudonymous id.
        text: The reference report text, verbatim.
        source_file: Name of the file it was read from.
        source_format: The import format (``reg2rg``, ``llava-rad``…); decides how it splits by region.
        source_row: 1-based row of that file, when known.
        id: Assigned by storage.
        created_at: When it was stored.
    """

    case_id: str
    text: str
    source_file: str = ""
    source_format: str = ""
    source_row: int | None = None
    id: int | None = None
    created_at: datetime | None = None
