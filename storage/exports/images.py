"""Image references in exports (pseudonymous case id + sha256) and de-identified copies on request.

Without copying, a record refers to ``images/<case_id>/<sha256>`` — the name the copy would get —
so a consumer can place the files itself. With copying, every source file is written under that
folder with identifying data removed: DICOM through :func:`storage.deid.scrub_dataset`, PNG/JPEG
re-saved without text/EXIF metadata, NIfTI with its free-text header fields cleared.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from storage.exports.common import SourceResolver
from storage.exports.manifest import file_sha256
from storage.records import StudyRecord


def sniff_kind(path: Path) -> str:
    """``dicom``, ``png``, ``jpeg``, ``nifti`` or ``other`` from the file's bytes and name."""
    head = _head(path)
    if head[128:132] == b"DICM":
        return "dicom"
    if head.startswith(b"\x89PNG"):
        return "png"
    if head.startswith(b"\xff\xd8"):
        return "jpeg"
    if path.name.endswith((".nii", ".nii.gz")):
        return "nifti"
    return "other"


def _head(path: Path) -> bytes:
    with path.open("rb") as fh:
        return fh.read(132)


_SUFFIX = {"dicom": ".dcm", "png": ".png", "jpeg": ".jpg", "nifti": ".nii.gz", "other": ""}


def _copy_dicom(src: Path, dst: Path, pseudonym: str) -> None:
    import pydicom

    from storage.deid import scrub_dataset

    ds = pydicom.dcmread(src, force=True)
    if str(ds.get("BurnedInAnnotation", "")).upper() == "YES":
        raise ValueError(f"{src}: BurnedInAnnotation is YES — text burned into the pixels cannot be "
                         f"removed by attribute de-identification; export without copying images or "
                         f"clean the pixels first (PS3.15 Clean Pixel Data Option)")
    scrub_dataset(ds, pseudonym).save_as(dst, enforce_file_format=True)


def _copy_raster(src: Path, dst: Path) -> None:
    from PIL import Image

    with Image.open(src) as im:
        fmt = im.format or "PNG"
        clean = im.copy()
        clean.info = {}
        buf = io.BytesIO()
        clean.save(buf, format=fmt, **({"quality": 95} if fmt == "JPEG" else {}))
    dst.write_bytes(buf.getvalue())


def _copy_nifti(src: Path, dst: Path) -> None:
    import nibabel as nib

    img: Any = nib.load(str(src))
    header: Any = img.header.copy()
    for field in ("descrip", "aux_file", "intent_name", "db_name"):
        if field in header:
            header[field] = b""
    nib.save(type(img)(img.dataobj, img.affine, header), str(dst))


def sanitised_copy(src: Path, dst: Path, pseudonym: str) -> None:
    """Copy ``src`` to ``dst`` without identifying metadata (see module docstring)."""
    kind = sniff_kind(src)
    dst.parent.mkdir(parents=True, exist_ok=True)
    if kind == "dicom":
        _copy_dicom(src, dst, pseudonym)
    elif kind in ("png", "jpeg"):
        _copy_raster(src, dst)
    elif kind == "nifti":
        _copy_nifti(src, dst)
    else:
        raise ValueError(f"{src}: cannot copy an image of unknown type into an export "
                         f"(expected DICOM, PNG, JPEG or NIfTI)")


def plan_images(study: StudyRecord, out_dir: Path, *, copy: bool,
                resolver: SourceResolver | None) -> tuple[tuple[str, ...], list[dict[str, Any]]]:
    """The image references of a study and their manifest entries, copying the files when asked.

    One reference per ``source_sha256s`` entry. When copying and the study has one file per image,
    each file becomes ``images/<case_id>/<sha256><suffix>``; a multi-file series goes into the
    folder ``images/<case_id>/<sha256>/`` (numbered files) and the reference is that folder.
    """
    case_id, shas = study.case_id, study.source_sha256s
    refs = [f"images/{case_id}/{sha}" for sha in shas]
    if not copy or not shas:
        return tuple(refs), [{"case_id": case_id, "source_sha256": s, "path": r, "copied": False}
                             for s, r in zip(shas, refs, strict=True)]
    if resolver is None:
        raise ValueError("copying images needs the source files: give the data directory (--data-dir)")
    files = list(resolver(study))
    if not files:
        raise FileNotFoundError(f"no source files found for case {case_id!r} (data_path {study.data_path!r})")
    if len(files) == len(shas):
        targets = [out_dir / f"{r}{_SUFFIX[sniff_kind(f)]}" for f, r in zip(files, refs, strict=True)]
    else:
        targets = [out_dir / refs[0] / f"{i:05d}{_SUFFIX[sniff_kind(f)]}" for i, f in enumerate(files)]
        refs = [f"{refs[0]}/"]
    one_to_one = len(files) == len(shas)
    entries = []
    for i, (src, dst) in enumerate(zip(files, targets, strict=True)):
        sanitised_copy(src, dst, case_id)
        entries.append({"case_id": case_id, "source_sha256": shas[i] if one_to_one else shas[0],
                        "path": dst.relative_to(out_dir).as_posix(), "sha256": file_sha256(dst),
                        "copied": True})
    if one_to_one:
        refs = [t.relative_to(out_dir).as_posix() for t in targets]
    return tuple(refs), entries


def all_source_files(resolver: SourceResolver | None, study: StudyRecord) -> Sequence[Path]:
    """The study's source files, or an empty list without a resolver."""
    return list(resolver(study)) if resolver is not None else []


def _files_under(path: Path) -> list[Path]:
    if path.is_file():
        return [path]
    if path.is_dir():
        return sorted(p for p in path.rglob("*") if p.is_file() and not p.name.startswith("."))
    return []


def data_dir_resolver(data_dir: Path) -> SourceResolver:
    """A resolver finding a study's files at ``data_dir / data_path`` (a file or a folder), plus the
    lateral image at ``meta["lateral_path"]`` when the worklist recorded one."""
    root = Path(data_dir)

    def resolve(study: StudyRecord) -> list[Path]:
        files = _files_under(root / study.data_path) if study.data_path else []
        lateral = study.meta.get("lateral_path") if study.meta else None
        return files + (_files_under(root / lateral) if lateral else [])

    return resolve


def render_png(src: Path, dst: Path) -> tuple[int, int]:
    """Render one 2D source image to an 8-bit grayscale PNG through the display pipeline.

    The reader applies the modality LUT; :func:`viewer.windowing.display_window` applies the file's VOI
    LUT or window (or the viewer's default) and inverts MONOCHROME1 — what a reader sees on screen. The
    PNG carries pixels only (no text chunks).

    Returns:
        ``(rows, columns)`` of the image.

    Raises:
        ValueError: the source is not a single 2D image, or its DICOM says BurnedInAnnotation YES.
    """
    from PIL import Image as PILImage

    from viewer.io import load_study
    from viewer.windowing import display_window

    if sniff_kind(src) == "dicom":
        import pydicom

        head = pydicom.dcmread(src, stop_before_pixels=True, force=True)
        if str(head.get("BurnedInAnnotation", "")).upper() == "YES":
            raise ValueError(f"{src.name}: BurnedInAnnotation is YES — text burned into the pixels cannot be "
                             "removed; it is not rendered into training images")
    image = load_study(src).primary
    if image.pixels.ndim != 2:
        raise ValueError(f"{src.name}: a {image.pixels.ndim}D image is not a 2D radiograph")
    dst.parent.mkdir(parents=True, exist_ok=True)
    # zlib level 1: lossless like the default 6, ~4.7× faster to write and ~17% larger on a 1955×1841 CR
    PILImage.fromarray(display_window(image), mode="L").save(dst, format="PNG", compress_level=1)
    rows, cols = image.pixels.shape
    return int(rows), int(cols)


def _frontal_lateral(study: StudyRecord, resolver: SourceResolver) -> tuple[Path | None, Path | None]:
    files = list(resolver(study))
    if not files:
        return None, None
    lateral = files[-1] if study.meta.get("lateral_path") and len(files) > 1 else None
    return files[0], lateral


def render_roles(study: StudyRecord, out_dir: Path, resolver: SourceResolver | None,
                 prior: StudyRecord | None = None) -> dict[str, Any]:
    """Render a CXR study's images as role-named PNGs under ``images/<case_id>/``.

    Roles follow MAIRA-2's processor: ``current_frontal``, ``current_lateral`` and ``prior_frontal``
    (``None`` when the study has no such image). ``rows``/``columns`` are those of the current frontal.

    Raises:
        ValueError: a source cannot be rendered (names the file and why).
    """
    roles: dict[str, Any] = {"current_frontal": None, "current_lateral": None, "prior_frontal": None,
                             "rows": None, "columns": None}
    if resolver is None:
        return roles
    frontal, lateral = _frontal_lateral(study, resolver)
    base = f"images/{study.case_id}"
    if frontal is not None:
        roles["rows"], roles["columns"] = render_png(frontal, out_dir / base / "current_frontal.png")
        roles["current_frontal"] = f"{base}/current_frontal.png"
    if lateral is not None:
        render_png(lateral, out_dir / base / "current_lateral.png")
        roles["current_lateral"] = f"{base}/current_lateral.png"
    has_prior = prior is not None and prior.kind == "cxr"
    prior_frontal = _frontal_lateral(prior, resolver)[0] if prior is not None and has_prior else None
    if prior_frontal is not None:
        render_png(prior_frontal, out_dir / base / "prior_frontal.png")
        roles["prior_frontal"] = f"{base}/prior_frontal.png"
    return roles
