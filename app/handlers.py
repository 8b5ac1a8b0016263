"""Gradio adapters: turn component values into calls of the plain callbacks and back into updates.

Each handler takes the injected :class:`Services` first (bound with ``functools.partial`` in
:mod:`app.build`), then component values, then ``gr.Request`` for the reviewer's login. A
:class:`ServiceError` becomes ``gr.Error`` with the same message. All review outputs are produced by
:func:`show` from the state re-read from storage, so a page reload shows exactly what is stored.

No ``from __future__ import annotations`` here: Gradio finds ``gr.Request``/``gr.Progress`` parameters
through their (unstringified) annotations, also through ``functools.partial``.
"""

import dataclasses
import functools
import inspect
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import gradio as gr

from app.callbacks import generate as gen
from app.callbacks import render, review, viewer, worklist
from app.services import ServiceError, Services
from inference.records import regions_for


@dataclass(frozen=True)
class Session:
    """Per-user review state kept in ``gr.State`` (small, replaced on every change)."""

    case_id: str = ""
    selected: str | None = None
    shown_at: str | None = None


def bind(fn: Callable[..., Any], *bound: Any, **fixed: Any) -> Callable[..., Any]:
    """``functools.partial`` that Gradio can introspect: a real function (a generator function when
    ``fn`` is one) whose signature and annotations are those left after binding, so ``gr.Request``
    and ``gr.Progress`` parameters are still recognised."""
    part = functools.partial(fn, *bound, **fixed)
    if inspect.isgeneratorfunction(inspect.unwrap(fn)):

        def wrapper(*args: Any, **kwargs: Any) -> Any:
            yield from part(*args, **kwargs)
    else:

        def wrapper(*args: Any, **kwargs: Any) -> Any:
            return part(*args, **kwargs)

    signature = inspect.signature(part)
    wrapper.__signature__ = signature  # type: ignore[attr-defined]
    wrapper.__annotations__ = {
        name: p.annotation
        for name, p in signature.parameters.items()
        if p.annotation is not inspect.Parameter.empty
    }
    wrapper.__name__ = wrapper.__qualname__ = getattr(fn, "__name__", "callback")
    return wrapper


def user_errors(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Show :class:`ServiceError` (and unreadable-study errors) to the reviewer as ``gr.Error``."""
    from viewer.errors import MissingExtraError, StudyLoadError

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except (ServiceError, StudyLoadError, MissingExtraError) as exc:
            raise gr.Error(str(exc), duration=8) from None

    return wrapper


def reviewer_of(services: Services, request: gr.Request | None) -> str:
    """The logged-in reviewer, or the local default reviewer when login is off."""
    name = getattr(request, "username", None) if request is not None else None
    if name:
        return str(name)
    if services.default_reviewer:
        return services.default_reviewer
    raise ServiceError("you are not logged in; reload the page to log in")


# ---------------------------------------------------------------- review view (one place for outputs)


def _header(services: Services, case_id: str, state: Any) -> str:
    record = services.record(case_id)
    study = services.study(case_id)
    img = study.primary
    bits = [f"### {case_id} · {record.kind.upper()} · {img.modality} {'×'.join(map(str, img.shape))}"]
    if record.indication:
        bits.append(f"**Indication:** {record.indication}")
    bits.append(
        f"**Prior:** {record.prior_case_id or 'none'}"
        + (" · prior report given" if record.prior_report else "")
    )
    if study.lateral is not None:
        bits.append("**Lateral:** given")
    if state is not None:
        draft = services.repo.get_draft(state.draft_id)
        bits.append(f"<span class='rr-provenance'>{render.provenance_text(draft.provenance)}</span>")
    return "  \n".join(bits)


def _phrase_update(state: Any, selected: str | None, reset: bool) -> Any:
    """The phrase dropdown: the selected finding's phrases; cleared (first boxed phrase) on reset."""
    choices = viewer.phrase_choices(state.state_of(selected) if state and selected else None)
    return gr.update(choices=choices, value=None) if reset else gr.update(choices=choices)


def _phrase_index(phrase: str | None) -> int | None:
    try:
        return int(phrase) if phrase not in (None, "") else None
    except ValueError:
        raise ServiceError(f"unknown phrase {phrase!r}; pick one from the phrase list") from None


def view_query(sess: Session, params: viewer.ViewParams) -> str:
    """The page's URL query for this review view (``case``, ``finding``, ``plane``, ``slice``); the
    page writes it into its address (app/keyboard.js) so a reload or a shared link reopens it."""
    from urllib.parse import urlencode

    if not sess.case_id:
        return ""
    fields = {"case": sess.case_id, "finding": sess.selected or "", "plane": params.plane}
    if params.index is not None:
        fields["slice"] = str(params.index)
    return urlencode({k: v for k, v in fields.items() if v})


def _decision_inputs(reset: bool) -> tuple[Any, Any, Any]:
    """Reason, significance and comment: cleared for a new finding/decision, else left as typed."""
    if reset:
        return gr.update(value=None), gr.update(value=False), gr.update(value="")
    return gr.update(), gr.update(), gr.update()


def show(
    services: Services, sess: Session, params: viewer.ViewParams, reset: bool = False
) -> tuple[Any, ...]:
    """Every review output for ``sess``/``params`` (``review_out`` in :mod:`app.build`, 16 values)."""
    if not sess.case_id:
        empty = gr.update()
        return (
            sess,
            params,
            "### Open a case from the worklist",
            None,
            gr.update(maximum=1, value=0),
            render.report_html(None),
            gr.update(choices=[], value=None),
            "",
            "",
            empty,
            empty,
            *_decision_inputs(reset),
            gr.update(choices=[], value=None),
            "",
        )
    state = review.review_state(services, sess.case_id)
    study = services.study(sess.case_id)
    image = study.images[min(params.image_index, len(study.images) - 1)]
    n = viewer.slice_count(image, params.plane)
    choices = [(render.choice_label(fs), fs.finding.id) for fs in state.findings] if state else []
    selected = sess.selected if state and any(c[1] == sess.selected for c in choices) else None
    text = state.state_of(selected).finding.text if state and selected else ""
    signed = ""
    if state is not None and state.signed:
        signed = render.signed_html(services.repo.get_draft(state.draft_id), state)
    win = viewer.window_of(image, params)
    return (
        dataclasses.replace(sess, selected=selected),
        params,
        _header(services, sess.case_id, state),
        viewer.render(services, sess.case_id, state, params, selected),
        gr.update(
            maximum=max(n - 1, 1),
            value=params.index or 0,
            interactive=n > 1,
            label=f"slice ({params.plane}, {n})",
        ),
        render.report_html(state, selected),
        gr.update(choices=choices, value=selected),
        text,
        signed,
        gr.update(value=round(win.center)),
        gr.update(value=round(win.width)),
        *_decision_inputs(reset),
        _phrase_update(state, selected, reset),
        view_query(dataclasses.replace(sess, selected=selected), params),
    )


def show_view(services: Services, sess: Session, params: viewer.ViewParams) -> tuple[Any, ...]:
    """Only the viewer outputs (params, plot, slice slider, level, width): what scrolling and toggles
    change, so they do not resend the report panel."""
    state = review.review_state(services, sess.case_id)
    image = _image(services, sess, params)
    n = viewer.slice_count(image, params.plane)
    win = viewer.window_of(image, params)
    return (
        params,
        viewer.render(services, sess.case_id, state, params, sess.selected),
        gr.update(
            maximum=max(n - 1, 1),
            value=params.index or 0,
            interactive=n > 1,
            label=f"slice ({params.plane}, {n})",
        ),
        gr.update(value=round(win.center)),
        gr.update(value=round(win.width)),
    )


def _review_tab_updates(services: Services, sess: Session, params: viewer.ViewParams) -> tuple[Any, ...]:
    study = services.study(sess.case_id)
    kind = study.kind
    regions = list(regions_for(kind))
    return (
        gr.update(choices=list(viewer.preset_names(kind)), value=params.preset),
        gr.update(
            choices=["axial", "coronal", "sagittal"] if kind == "ct" else ["image"], value=params.plane
        ),
        gr.update(choices=regions, value=regions[0]),
        gr.update(choices=regions, value=regions[0]),
        gr.Tabs(selected="review"),
        gr.update(
            choices=["frontal", "lateral"] if study.lateral is not None else ["frontal"],
            value="frontal",
            visible=study.lateral is not None,
        ),
    )


@user_errors
def open_case(services: Services, case_id: str, request: gr.Request) -> tuple[Any, ...]:
    """Open a case: fresh view, first pending finding selected, switch to the Review tab."""
    reviewer_of(services, request)
    case_id = (case_id or "").strip()
    services.record(case_id)
    study = services.study(case_id)
    params = viewer.initial_params(study.primary, study.kind)
    state = review.review_state(services, case_id)
    selected = review.first_pending(state)
    sess = Session(case_id, selected, review.now_iso())
    if state is not None and selected:
        params = viewer.jump_to(services, study.primary, params, state.state_of(selected))
    return show(services, sess, params, reset=True) + _review_tab_updates(services, sess, params)


@user_errors
def restore(
    services: Services, sess: Session, params: viewer.ViewParams, request: gr.Request
) -> tuple[Any, ...]:
    """Page load: reopen the case, finding, plane and slice named in the URL query (see
    :func:`view_query`); without ``case`` the page starts at the worklist."""
    query = dict(getattr(request, "query_params", None) or {})
    case_id = (query.get("case") or "").strip()
    if not case_id:
        return show(services, Session(), params) + (gr.update(),) * 6
    out = open_case.__wrapped__(services, case_id, request)
    sess, params = out[0], out[1]
    finding = query.get("finding") or ""
    if finding and finding != sess.selected:
        sess, params = select_finding.__wrapped__(services, sess, params, finding)[:2]
    image = _image(services, sess, params)
    planes = ("axial", "coronal", "sagittal") if image.is_volume else ("image",)
    if query.get("plane") in planes and query["plane"] != params.plane:
        params = viewer.set_plane(image, params, query["plane"])
    if (query.get("slice") or "").isdigit():
        n = viewer.slice_count(image, params.plane)
        params = dataclasses.replace(params, index=min(int(query["slice"]), n - 1))
    return show(services, sess, params, reset=True) + _review_tab_updates(services, sess, params)


@user_errors
def select_finding(
    services: Services,
    sess: Session,
    params: viewer.ViewParams,
    finding_id: str | None,
) -> tuple[Any, ...]:
    """Select a finding: highlight its overlay and jump to its slice."""
    if not finding_id or finding_id == sess.selected:
        return show(services, dataclasses.replace(sess, selected=finding_id or sess.selected), params)
    state = review.require_state(services, sess.case_id)
    image = services.study(sess.case_id).images[params.image_index]
    params = dataclasses.replace(
        viewer.jump_to(services, image, params, state.state_of(finding_id)), click=None
    )
    return show(services, Session(sess.case_id, finding_id, review.now_iso()), params, reset=True)


@user_errors
def select_phrase(
    services: Services, sess: Session, params: viewer.ViewParams, phrase: str | None
) -> tuple[Any, ...]:
    """Choose one phrase of the selected finding: jump to its grounding; boxes drawn next go to it."""
    index = _phrase_index(phrase)
    if not sess.selected or index is None:
        return show(services, sess, params)
    state = review.require_state(services, sess.case_id)
    image = _image(services, sess, params)
    fs = state.state_of(sess.selected)
    if index >= len(fs.finding.phrases):
        raise ServiceError(f"finding {sess.selected} has no phrase {index}; reload the page")
    params = dataclasses.replace(viewer.jump_to(services, image, params, fs, index), click=None)
    return show(services, sess, params)


@user_errors
def step_finding(services: Services, sess: Session, params: viewer.ViewParams, step: int) -> tuple[Any, ...]:
    """j/k: next/previous finding."""
    state = review.review_state(services, sess.case_id)
    return select_finding.__wrapped__(
        services, sess, params, review.neighbour_finding(state, sess.selected, step)
    )


@user_errors
def decide(
    services: Services,
    kind: str,
    sess: Session,
    params: viewer.ViewParams,
    text: str,
    reason: str | None,
    significant: bool,
    comment: str,
    request: gr.Request,
) -> tuple[Any, ...]:
    """Accept / edit / reject the selected finding, then move to the next pending one."""
    reviewer = reviewer_of(services, request)
    decision = review.Decision(reason or None, bool(significant), comment or "", sess.shown_at)
    state = review.decide(services, reviewer, sess.case_id, sess.selected or "", kind, decision, text)
    nxt = review.first_pending(state, sess.selected)
    if nxt and nxt != sess.selected:
        return select_finding.__wrapped__(services, sess, params, nxt)
    return show(services, sess, params, reset=True)


@user_errors
def add_finding(
    services: Services,
    sess: Session,
    params: viewer.ViewParams,
    region: str,
    text: str,
    reason: str | None,
    significant: bool,
    request: gr.Request,
) -> tuple[Any, ...]:
    """Add a missed finding to a section."""
    reviewer = reviewer_of(services, request)
    decision = review.Decision(reason or None, bool(significant), "", sess.shown_at)
    state = review.add_finding(services, reviewer, sess.case_id, region, text, decision)
    return show(
        services, dataclasses.replace(sess, selected=state.findings[-1].finding.id), params, reset=True
    )


@user_errors
def sign(
    services: Services, sess: Session, params: viewer.ViewParams, request: gr.Request
) -> tuple[Any, ...]:
    """Sign the report (all findings decided)."""
    review.sign(services, reviewer_of(services, request), sess.case_id)
    gr.Info(f"{sess.case_id} signed")
    return show(services, sess, params)


@user_errors
def relink(
    services: Services, sess: Session, params: viewer.ViewParams, region: str, request: gr.Request
) -> tuple[Any, ...]:
    """Move the selected finding to another region."""
    review.relink(services, reviewer_of(services, request), sess.case_id, sess.selected or "", region)
    return show(services, sess, params)


@user_errors
def plot_click(
    services: Services,
    sess: Session,
    params: viewer.ViewParams,
    xy: str,
    phrase: str | None,
    request: gr.Request,
) -> tuple[Any, ...]:
    """A click on the image: first corner, then second corner → move the box of the chosen phrase of
    the selected finding (the first boxed phrase when none is chosen)."""
    x, y = _click_xy(xy)
    if not sess.selected:
        return show(services, sess, params)  # a click without a selection only reads the pixel value
    params, box = viewer.click_to_box(services, sess.case_id, params, x, y)
    if box is None:
        gr.Info("first corner set — click the opposite corner")
        return show(services, sess, params)
    review.move_box(
        services, reviewer_of(services, request), sess.case_id, sess.selected, box, _phrase_index(phrase)
    )
    return show(services, sess, params)


def _click_xy(xy: str) -> tuple[float, float]:
    try:
        x, y = (float(v) for v in (xy or "").split(",")[:2])
    except ValueError:
        raise ServiceError(f"bad click coordinates {xy!r}") from None
    return x, y


def click_readout(services: Services, sess: Session, params: viewer.ViewParams, xy: str) -> str:
    """The exact stored value (HU for CT) of the voxel under a click on the image, for the readout box.

    A click outside the image or before a case is open gives a short explanation instead of an error.
    """
    if not sess.case_id:
        return ""
    try:
        x, y = _click_xy(xy)
        return viewer.pixel_readout(services, sess.case_id, params, x, y)
    except ServiceError as exc:
        return str(exc)


def ping(counter: str) -> str:
    """An empty callback (counter + 1): the floor of ``radreview bench ui``."""
    return str(int(counter or 0) + 1)


# ---------------------------------------------------------------- viewer controls


def _image(services: Services, sess: Session, params: viewer.ViewParams) -> Any:
    study = services.study(sess.case_id)
    return study.images[min(params.image_index, len(study.images) - 1)]


@user_errors
def set_view(
    services: Services,
    change: str,
    sess: Session,
    params: viewer.ViewParams,
    value: Any,
) -> tuple[Any, ...]:
    """One viewer control changed (``slice``, ``plane``, ``preset``, ``center``, ``width``, ``seg``,
    ``attention``, ``boxes``, ``opacity``, ``image``), or a key (``up``, ``down``, ``cycle``,
    ``overlays``)."""
    if not sess.case_id:
        raise ServiceError("open a case from the worklist first")
    image = _image(services, sess, params)
    if change == "slice":
        params = dataclasses.replace(params, index=int(value))
    elif change in ("up", "down"):
        params = viewer.step_slice(image, params, 1 if change == "up" else -1)
    elif change == "plane":
        params = viewer.set_plane(image, params, value)
    elif change == "preset":
        params = dataclasses.replace(params, preset=value, center=None, width=None)
    elif change == "cycle":
        params = viewer.cycle_preset(services.study(sess.case_id).kind, params)
    elif change in ("center", "width", "opacity"):
        params = dataclasses.replace(params, **{change: float(value)})
    elif change in ("seg", "attention", "boxes"):
        params = dataclasses.replace(params, **{change: bool(value)})
    elif change == "overlays":
        on = not (params.seg or params.boxes or params.attention)
        params = dataclasses.replace(params, seg=on, boxes=on)
    elif change == "image":
        params = dataclasses.replace(
            params, image_index=1 if value == "lateral" else 0, plane="image", index=0
        )
    return (
        *show_view(services, sess, params),
        params.seg,
        params.attention,
        params.boxes,
        gr.update(value=params.preset),
        gr.update(value=params.plane),
        view_query(sess, params),
    )


# ---------------------------------------------------------------- worklist


@user_errors
def worklist_view(services: Services, status: str, search: str, request: gr.Request) -> tuple[Any, str]:
    """Worklist rows and the reviewer's progress line."""
    reviewer = reviewer_of(services, request)
    return worklist.rows(services, status, search), worklist.progress_text(services, reviewer)


@user_errors
def next_case(services: Services, sess: Session, request: gr.Request) -> tuple[Any, ...]:
    """Open the next unreviewed case."""
    nxt = worklist.next_unreviewed(services, reviewer_of(services, request), sess.case_id or None)
    if nxt is None:
        raise ServiceError("no unreviewed case left — all done")
    return open_case.__wrapped__(services, nxt, request)


def table_select(evt: gr.SelectData) -> str:
    """The case id of the clicked worklist row."""
    row = getattr(evt, "row_value", None)
    return str(row[0]) if row else ""


@user_errors
def upload(
    services: Services,
    path: str | None,
    case_id: str,
    indication: str,
    prior_case: str,
    prior_report: str,
    lateral: str | None,
    request: gr.Request,
) -> tuple[Any, ...]:
    """Upload a study and open it."""
    reviewer = reviewer_of(services, request)
    cid = worklist.upload(
        services,
        reviewer,
        path,
        case_id=case_id or "",
        indication=indication or "",
        prior_case=prior_case or "",
        prior_report=prior_report or "",
        lateral=lateral,
    )
    gr.Info(f"uploaded as {cid}")
    return open_case.__wrapped__(services, cid, request)


# ---------------------------------------------------------------- generation


def generate(
    services: Services,
    sess: Session,
    params: viewer.ViewParams,
    progress: gr.Progress = gr.Progress(),  # noqa: B008 - Gradio's injection idiom
) -> Any:
    """Generate a draft, streaming the stage and text, then show the stored draft."""
    if not sess.case_id:
        raise gr.Error("open a case from the worklist first")
    if review.review_state(services, sess.case_id) is not None:
        state = services.repo.review_state(sess.case_id)
        if state.signed or state.actions:
            raise gr.Error(f"{sess.case_id} already has a draft under review; decide its findings instead")
    progress(0.0, desc="starting")
    step = 0
    try:
        for stage, text in gen.stream(services, sess.case_id):
            step += 1
            progress(min(0.95, step / (step + 5)), desc=stage)
            yield (gr.update(value=f"**{stage}**"), text) + (gr.update(),) * 16
    except ServiceError as exc:
        raise gr.Error(str(exc)) from None
    state = review.require_state(services, sess.case_id)
    sess = Session(sess.case_id, review.first_pending(state), review.now_iso())
    yield (
        gr.update(value=f"**done** · {services.generator.label()}"),
        gr.update(),
        *show(services, sess, params, reset=True),
    )


# ---------------------------------------------------------------- export and dashboard


@user_errors
def export(
    services: Services,
    fmt: str,
    reviewer: str,
    since: str,
    until: str,
    region: str | None,
    model: str,
    unsigned: bool,
    copy_images: bool,
    request: gr.Request,
) -> tuple[str, str]:
    """Run an export; returns the summary and the zip to download."""
    from app.callbacks import export as export_cb

    reviewer_of(services, request)
    req = export_cb.ExportRequest(
        fmt or "",
        reviewer or "",
        since or "",
        until or "",
        region or "",
        model or "",
        bool(unsigned),
        bool(copy_images),
    )
    _folder, archive, summary = export_cb.run_export(services, req, services.download_dir())
    return summary, str(archive)


@user_errors
def dashboard(services: Services, request: gr.Request) -> tuple[Any, ...]:
    """The dashboard charts."""
    from app.callbacks import dashboard as dash

    reviewer_of(services, request)
    return dash.charts(services)


# ---------------------------------------------------------------- mask replacement and regeneration


@user_errors
def mask_from_segmenter(
    services: Services, sess: Session, params: viewer.ViewParams, segmenter: str, request: gr.Request
) -> tuple[Any, ...]:
    """Replace the selected finding's mask with a segmenter's mask of its region."""
    from app.callbacks import grounding

    reviewer = reviewer_of(services, request)
    state = review.require_state(services, sess.case_id)
    region = state.state_of(sess.selected or "").finding.region if sess.selected else ""
    if not region:
        raise ServiceError("select a finding first")
    mask = grounding.segmenter_mask(services, sess.case_id, region, segmenter)
    grounding.replace_mask(services, reviewer, sess.case_id, sess.selected or "", mask)
    return show(services, sess, params)


@user_errors
def mask_from_file(
    services: Services, sess: Session, params: viewer.ViewParams, path: str | None, request: gr.Request
) -> tuple[Any, ...]:
    """Replace the selected finding's mask with an uploaded label map."""
    from app.callbacks import grounding

    reviewer = reviewer_of(services, request)
    if not path:
        raise ServiceError("choose a label-map file first")
    if not sess.selected:
        raise ServiceError("select a finding first")
    mask = grounding.uploaded_mask(services, sess.case_id, path)
    grounding.replace_mask(services, reviewer, sess.case_id, sess.selected, mask)
    return show(services, sess, params)


@user_errors
def regenerate_section(
    services: Services, sess: Session, params: viewer.ViewParams, request: gr.Request
) -> tuple[Any, ...]:
    """Regenerate the selected finding's section with the corrected masks."""
    from app.callbacks import grounding

    reviewer = reviewer_of(services, request)
    state = review.require_state(services, sess.case_id)
    if not sess.selected:
        raise ServiceError("select a finding of the section to regenerate")
    region = state.state_of(sess.selected).finding.region
    state = grounding.regenerate_section(services, reviewer, sess.case_id, region)
    gr.Info(f"section {region!r} regenerated")
    return show(services, dataclasses.replace(sess, selected=review.first_pending(state)), params, reset=True)
