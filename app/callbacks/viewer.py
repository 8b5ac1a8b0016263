"""Viewer panel: window/level, plane and slice, overlays (segmentation, attention, boxes), box clicks.

The per-user view is a small frozen :class:`ViewParams` kept in ``gr.State`` and replaced on every
change. Rendering goes through ``viewer`` (planes → windowing → overlay → figure); the overlays are built
from the *current* review state, so a moved box or replaced mask shows as soon as it is stored.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np

from app.services import ServiceError, Services
from storage.records import FindingState, ReviewState
from viewer.records import Image

CXR_PRESETS: tuple[str, ...] = ("file", "auto")
HOVER_SIDE = 64  # hover readout grid per side: the browser redraws it on every update
_NORMAL_AXIS = {"axial": 0, "coronal": 1, "sagittal": 2}


@dataclass(frozen=True)
class ViewParams:
    """What one reviewer is looking at.

    Attributes:
        plane: ``axial``/``coronal``/``sagittal`` for CT, ``image`` for radiographs.
        index: Slice index along the plane normal (``None``: middle slice).
        preset: Window preset name (``file``/``auto`` for the file or percentile window).
        center: Window center override (``None``: the preset's).
        width: Window width override.
        seg: Show segmentation masks.
        attention: Show attention heat maps.
        boxes: Show boxes.
        opacity: Mask opacity in [0, 1].
        image_index: Which image of the study (0 frontal/volume, 1 lateral).
        click: First corner of a box being drawn (display coordinates), if any.
    """

    plane: str = "axial"
    index: int | None = None
    preset: str = ""
    center: float | None = None
    width: float | None = None
    seg: bool = True
    attention: bool = False
    boxes: bool = True
    opacity: float = 0.35
    image_index: int = 0
    click: tuple[float, float] | None = None


def preset_names(kind: str) -> tuple[str, ...]:
    """Window presets offered for a study kind (CT: HU presets; CXR: file/auto window)."""
    if kind == "ct":
        from viewer.presets import preset_names as ct

        return ct()
    return CXR_PRESETS


def initial_params(image: Image, kind: str) -> ViewParams:
    """The view a case opens with: axial middle slice at soft tissue (CT) or the file window (CXR)."""
    if kind == "ct" and image.is_volume:
        from viewer.presets import DEFAULT_CT_PRESET

        return ViewParams(plane="axial", index=image.shape[0] // 2, preset=DEFAULT_CT_PRESET)
    return ViewParams(plane="image", index=0, preset="file" if image.default_window else "auto")


def slice_count(image: Image, plane: str) -> int:
    """Number of slices along ``plane`` (1 for a radiograph)."""
    if not image.is_volume or plane not in _NORMAL_AXIS:
        return 1
    return image.shape[_NORMAL_AXIS[plane]]


def window_of(image: Image, params: ViewParams) -> Any:
    """The :class:`viewer.presets.Window` to show (preset, then slider overrides)."""
    from viewer.presets import Window
    from viewer.windowing import auto_window, window_for

    if params.preset == "auto":
        base = auto_window(image.pixels)
    elif params.preset in ("", "file"):
        base = window_for(image)
    else:
        base = window_for(image, params.preset)
    if params.center is None and params.width is None:
        return base
    center = base.center if params.center is None else float(params.center)
    width = max(1.0, base.width if params.width is None else float(params.width))
    return Window(center, width, "LINEAR", "manual")


def cycle_preset(kind: str, params: ViewParams) -> ViewParams:
    """The next window preset (the ``w`` key); clears slider overrides."""
    names = preset_names(kind)
    nxt = names[(names.index(params.preset) + 1) % len(names)] if params.preset in names else names[0]
    return dataclasses.replace(params, preset=nxt, center=None, width=None)


def step_slice(image: Image, params: ViewParams, step: int) -> ViewParams:
    """Scroll ``step`` slices (arrow keys), clamped to the volume."""
    n = slice_count(image, params.plane)
    current = n // 2 if params.index is None else params.index
    return dataclasses.replace(params, index=int(min(max(current + step, 0), n - 1)))


def set_plane(image: Image, params: ViewParams, plane: str) -> ViewParams:
    """Switch plane, landing on its middle slice."""
    if not image.is_volume:
        return dataclasses.replace(params, plane="image", index=0)
    if plane not in _NORMAL_AXIS:
        raise ServiceError(f"unknown plane {plane!r}; expected axial, coronal or sagittal")
    return dataclasses.replace(params, plane=plane, index=slice_count(image, plane) // 2, click=None)


def phrase_choices(fs: FindingState | None) -> list[tuple[str, str]]:
    """Dropdown choices ``(label, index)`` for a finding's phrases, each labelled with its grounding."""
    if fs is None:
        return []
    out = []
    for i, phrase in enumerate(fs.finding.phrases):
        g = phrase.grounding
        kind = "box" if g and g.boxes else "mask" if g and g.mask_ref else "ungrounded"
        out.append((f"“{phrase.text}” · {kind}", str(i)))
    return out


def finding_centre(
    services: Services, image: Image, fs: FindingState, phrase_index: int | None = None
) -> tuple[float, ...] | None:
    """Normalised centre ``(x, y[, z])`` of a finding's first box, else its mask's centroid.

    With ``phrase_index`` only that phrase's grounding counts (phrase-level selection).
    """
    phrases = fs.finding.phrases
    if phrase_index is not None:
        phrases = phrases[phrase_index : phrase_index + 1]
    for phrase in phrases:
        g = phrase.grounding
        if g is not None and g.boxes:
            box = g.boxes[0]
            half = len(box) // 2
            return tuple((box[i] + box[i + half]) / 2 for i in range(half))
    for phrase in phrases:
        g = phrase.grounding
        if g is not None and g.mask_ref:
            mask = np.asarray(services.artefact(g.mask_ref))
            if mask.shape != image.shape or not mask.any():
                continue
            idx = np.argwhere(mask).mean(axis=0) / np.maximum(np.array(mask.shape) - 1, 1)
            return tuple(float(v) for v in idx[::-1])  # (k, i, j) → (x, y, z)
    return None


def jump_to(
    services: Services, image: Image, params: ViewParams, fs: FindingState, phrase_index: int | None = None
) -> ViewParams:
    """Move to the slice that contains the finding's (or one phrase's) grounding; unchanged when
    ungrounded or 2D."""
    centre = finding_centre(services, image, fs, phrase_index)
    if centre is None or not image.is_volume or len(centre) != 3 or params.plane not in _NORMAL_AXIS:
        return params
    axis = _NORMAL_AXIS[params.plane]
    coord = centre[2 - axis]  # x ↔ axis 2, y ↔ axis 1, z ↔ axis 0
    n = image.shape[axis]
    return dataclasses.replace(params, index=int(min(max(round(coord * n - 0.5), 0), n - 1)))


def _phrases(state: ReviewState | None) -> Iterable[tuple[FindingState, Any]]:
    if state is None:
        return []
    return [
        (fs, p)
        for fs in state.findings
        if fs.status != "rejected"
        for p in fs.finding.phrases
        if p.grounding is not None
    ]


def _label_volume(services: Services, image: Image, refs: tuple[tuple[str, str], ...]) -> Any:
    """One label volume for ``(region, mask_ref)`` pairs, cached by the refs (built once per selection)."""
    from viewer.overlay import LabelVolume

    def build() -> Any:
        masks: dict[str, np.ndarray] = {}
        for region, ref in refs:
            mask = np.asarray(services.artefact(ref))
            if mask.shape == image.shape:
                masks[region] = mask.astype(bool) | masks.get(region, False)
        return LabelVolume.from_masks(masks, ref="|".join(r for _, r in refs)) if masks else None

    return services.artefacts.get_or_create(("labels", image.sha256, refs), build)


def build_overlays(
    services: Services, image: Image, state: ReviewState | None, params: ViewParams, selected: str | None
) -> Any:
    """The viewer overlays for the current review state: the selected finding's masks, boxes and
    attention map (every kept finding's masks and boxes when none is selected)."""
    from viewer.overlay import Box, BoxLayer, HeatLayer, MaskLayer, Overlays

    refs: list[tuple[str, str]] = []
    boxes: list[Any] = []
    heat = None
    for fs, phrase in _phrases(state):
        g = phrase.grounding
        is_sel = fs.finding.id == selected
        if selected is not None and not is_sel:
            continue
        if g.mask_ref and params.seg and (fs.finding.region, g.mask_ref) not in refs:
            refs.append((fs.finding.region, g.mask_ref))
        if g.attention_ref and params.attention and is_sel:
            values = np.asarray(services.artefact(g.attention_ref), dtype=np.float32)
            heat = HeatLayer(values, ref=g.attention_ref) if values.shape == image.shape else heat
        for box in g.boxes if len(g.boxes[0] if g.boxes else ()) == 2 * image.pixels.ndim else ():
            boxes.append(
                Box(tuple(box), text=phrase.text, region=fs.finding.region, selected=is_sel, id=fs.finding.id)
            )
    labels = _label_volume(services, image, tuple(refs)) if refs else None
    selected_region = None
    if labels is not None and selected is not None and state is not None:
        region = state.state_of(selected).finding.region
        selected_region = region if region in labels.names else None
    mask_layer = MaskLayer(labels, opacity=params.opacity, selected=selected_region) if labels else None
    return Overlays(masks=mask_layer, heat=heat, boxes=BoxLayer(tuple(boxes), visible=params.boxes))


def render(
    services: Services,
    case_id: str,
    state: ReviewState | None,
    params: ViewParams,
    selected: str | None = None,
) -> Any:
    """The plotly figure of the current view.

    Raises:
        ServiceError: the case cannot be loaded or the view is out of range.
    """
    from viewer.cache import render_key
    from viewer.figure import figure

    study = services.study(case_id)
    image = study.images[min(params.image_index, len(study.images) - 1)]
    plane = params.plane if image.is_volume else "image"
    index = params.index if params.index is not None else slice_count(image, plane) // 2
    try:
        window = window_of(image, params)
        overlays = build_overlays(services, image, state, params, selected)
        key = render_key(image, plane, index, window, overlays)
        return services.figures.get_or_create(
            key,
            lambda: figure(image, plane, index, window=window, overlays=overlays, hover_max_side=HOVER_SIDE),
        )
    except ValueError as exc:
        raise ServiceError(f"cannot show {case_id}: {exc}") from None


def click_to_box(
    services: Services,
    case_id: str,
    params: ViewParams,
    x: float,
    y: float,
) -> tuple[ViewParams, tuple[float, ...] | None]:
    """Two clicks on the image draw a box: the first is remembered, the second returns the box.

    Returns:
        The new params and, on the second click, the normalised box (2D: 4 values; CT: 6 values,
        spanning the current slice along the plane normal).
    """
    if params.click is None:
        return dataclasses.replace(params, click=(float(x), float(y))), None
    from viewer.planes import extract_plane

    study = services.study(case_id)
    image = study.images[min(params.image_index, len(study.images) - 1)]
    plane = extract_plane(image, params.plane if image.is_volume else "image", params.index)
    (x0, y0), (x1, y1) = params.click, (float(x), float(y))
    a = plane.display_to_normalised(min(x0, x1), min(y0, y1))
    b = plane.display_to_normalised(max(x0, x1), max(y0, y1))
    cleared = dataclasses.replace(params, click=None)
    if len(a) == 2:
        box = (min(a[0], b[0]), min(a[1], b[1]), max(a[0], b[0]), max(a[1], b[1]))
    else:
        n = image.shape[plane.normal_axis or 0]
        slab = (plane.index / n, (plane.index + 1) / n)
        lo = [min(a[i], b[i]) for i in range(3)]
        hi = [max(a[i], b[i]) for i in range(3)]
        axis = 2 - (plane.normal_axis or 0)
        lo[axis], hi[axis] = slab
        box = (*lo, *hi)
    box = tuple(float(min(max(v, 0.0), 1.0)) for v in box)
    if any(box[i] >= box[i + len(box) // 2] for i in range(len(box) // 2)):
        raise ServiceError("the two clicks must be at different corners of the box")
    return cleared, box


def pixel_readout(services: Services, case_id: str, params: ViewParams, x: float, y: float) -> str:
    """``value HU at (k, i, j)`` for a display point (a click; the hover shows it in the figure too).

    Uses :func:`viewer.figure.readout`, so the voxel is the one whose pixel contains the point
    (``floor`` of the plot coordinates) and the value is the stored modality value, not the display.

    Raises:
        ServiceError: When the point lies outside the image.
    """
    from viewer.figure import readout
    from viewer.planes import extract_plane

    study = services.study(case_id)
    image = study.images[min(params.image_index, len(study.images) - 1)]
    plane = extract_plane(image, params.plane if image.is_volume else "image", params.index)
    try:
        voxel, value = readout(image, plane, x, y)
    except ValueError as exc:
        raise ServiceError(f"the click at ({x:.1f}, {y:.1f}) is outside the image: {exc}") from None
    unit = " HU" if image.modality == "CT" else ""
    return f"{value:.0f}{unit} at {tuple(int(v) for v in voxel)}"
