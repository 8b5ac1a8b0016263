"""``bench ui``'s study and servers: a synthetic CT in a fresh workspace, uvicorn on loopback, floor A."""

from __future__ import annotations

import gzip
import importlib
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np

CASE = "bench-ct"
USER, PASSWORD = "bench", "bench-pass-1"
SPACING = (1.0, 0.7, 0.7)


def synthetic_ct(shape: tuple[int, int, int], seed: int = 0) -> np.ndarray:
    """An int16 HU chest-like volume: air, a soft-tissue body, two lungs that change along k, a spine,
    Gaussian noise (σ 12 HU) so it compresses like a real scan rather than like a drawing."""
    nk, ni, nj = shape
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:ni, 0:nj].astype(np.float32)
    y, x = (y - ni / 2) / (ni / 2), (x - nj / 2) / (nj / 2)
    body = (x / 0.85) ** 2 + (y / 0.65) ** 2 <= 1
    spine = (x / 0.08) ** 2 + ((y - 0.45) / 0.08) ** 2 <= 1
    out = np.empty(shape, dtype=np.int16)
    for k in range(nk):
        s = 0.6 + 0.4 * np.sin(np.pi * (k + 1) / (nk + 1))
        lungs = (((np.abs(x) - 0.38) / (0.26 * s)) ** 2 + (y / (0.45 * s)) ** 2) <= 1
        hu = np.where(body, 40.0, -1000.0)
        hu = np.where(lungs & body, -850.0, hu)
        hu = np.where(spine, 700.0, hu)
        hu += rng.normal(0.0, 12.0, size=(ni, nj))
        out[k] = np.clip(np.rint(hu), -1024, 3071).astype(np.int16)
    return out


def _write_nifti(path: Path, hu: np.ndarray, spacing: tuple[float, float, float]) -> None:
    """SPL ``[k, i, j]`` → a RAS NIfTI the readers turn back into the same array (as viewer.demo)."""
    nib: Any = importlib.import_module("nibabel")

    nz, ny, nx = hu.shape
    sz, sy, sx = spacing
    ras = np.ascontiguousarray(hu.transpose(2, 1, 0)[::-1, ::-1, :])
    affine = np.diag([sx, sy, sz, 1.0])
    affine[:3, 3] = [-(nx - 1) / 2 * sx, -(ny - 1) / 2 * sy, -(nz - 1) / 2 * sz]
    img = nib.Nifti1Image(ras, affine)
    img.header.set_xyzt_units("mm", "sec")
    img.set_qform(affine, code=1)
    img.set_sform(affine, code=1)
    path.write_bytes(gzip.compress(img.to_bytes(), compresslevel=1, mtime=0))


def _prepare(root: Path, hu: np.ndarray) -> Any:
    """Services over a fresh database with the CT registered and a two-finding draft (mask + box)."""
    from app.callbacks.worklist import register
    from app.services import Services
    from inference.artefacts import content_ref
    from inference.records import Draft, Finding, Grounding, Phrase, Provenance, Section
    from storage.repository import Repository
    from viewer.io import load_study

    data = root / "data"
    (data / "studies").mkdir(parents=True)
    path = data / "studies" / "bench-ct.nii.gz"
    _write_nifti(path, hu, SPACING)
    repo = Repository.open(f"sqlite:///{root / 'rr.db'}", data)
    services = Services(repo=repo, data_dir=data)
    register(services, load_study(path, case_id=CASE), path)
    repo.add_reviewer(USER)
    lungs = hu < -500
    lungs[:, :, : hu.shape[2] // 8] = False  # not the air outside the body: a region, not a frame
    lungs[:, :, -hu.shape[2] // 8 :] = False
    ref = content_ref(lungs)
    nodule = Finding("b1", "lungs", "A nodule.", (Phrase("nodule", (2, 8), Grounding(
        boxes=((0.3, 0.4, 0.45, 0.36, 0.46, 0.55),))),))
    clear = Finding("b2", "lungs", "Lungs otherwise clear.", (Phrase("Lungs", (0, 5), Grounding(
        mask_ref=ref, source="segmenter")),))
    prov = Provenance(generator="builtin", model_id="built-in", created_at="2026-11-30T00:00:00+00:00")
    repo.save_draft(Draft(CASE, (Section("lungs", (nodule, clear)),), None, prov, artefacts={ref: lungs}))
    services.studies.drop(CASE)  # the first open reads it from disk (cold)
    return services


class _Thread:
    """A uvicorn server for ``app`` on a free loopback port, in a daemon thread."""

    def __init__(self, app: Any) -> None:
        import uvicorn

        from app.server import free_port

        self.port = free_port()
        self.server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="error"))
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.thread.start()
        deadline = time.monotonic() + 60
        while not self.server.started and time.monotonic() < deadline:
            time.sleep(0.05)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


def _bare_app() -> Any:
    """Floor A: a bare Gradio app, one button → counter."""
    import gradio as gr
    from fastapi import FastAPI

    with gr.Blocks() as blocks:
        count = gr.Textbox("0", elem_id="rr-b-count")
        button = gr.Button("+1", elem_id="rr-b-ping")
        button.click(lambda v: str(int(v) + 1), count, count, show_progress="hidden")
    return gr.mount_gradio_app(FastAPI(), blocks.queue(), path="/")
