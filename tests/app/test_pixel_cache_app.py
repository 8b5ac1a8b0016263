"""The decoded-pixel cache in the app: registering a study warms it, so ``Services.study`` returns
read-only memory-mapped pixels; those go through the pixel routes (same bytes, dtype and range as a
fresh read) and the built-in draft (segmenter + generator) unchanged."""

from __future__ import annotations

import gzip
from typing import Any

import numpy as np
import pytest

from app.pixels import stored_array, stored_for
from viewer.io import load_study

USER, PASSWORD = "alice", "correct-horse-1"


def _client(services: Any) -> Any:
    import gradio as gr
    from fastapi import FastAPI
    from fastapi.testclient import TestClient

    from app.pixel_routes import mount_pixel_routes

    api = FastAPI()
    mount_pixel_routes(api, services)
    with gr.Blocks() as blocks:
        gr.Markdown("test page")
    gr.mount_gradio_app(api, blocks, path="/", auth=[(USER, PASSWORD)])
    client = TestClient(api)
    assert client.post("/login", data={"username": USER, "password": PASSWORD}).status_code == 200
    return client


def _fresh(services: Any, case_id: str) -> Any:
    return load_study(services.data_dir / services.record(case_id).data_path).primary


def test_registered_study_opens_memory_mapped(services: Any) -> None:
    for case_id in ("ct1", "cxr1"):
        pixels = services.study(case_id).primary.pixels
        assert isinstance(pixels, np.memmap) and not pixels.flags.writeable
        with pytest.raises(ValueError, match="read-only"):
            pixels[0, 0] = 1.0
        assert np.asarray(pixels).tobytes() == _fresh(services, case_id).pixels.tobytes()


@pytest.mark.parametrize("case_id", ["ct1", "cxr1"])
def test_memmap_through_the_pixel_routes(drafted: Any, case_id: str) -> None:
    client = _client(drafted)
    image = drafted.study(case_id).primary
    expected = stored_array(_fresh(drafted, case_id).pixels)  # what a fresh read would send
    served = stored_for(drafted, image)
    assert (served.dtype, served.vmin, served.vmax, served.array.shape) == (
        expected.dtype, expected.vmin, expected.vmax, expected.array.shape)
    wire = np.dtype(expected.dtype).newbyteorder("<")
    k = expected.array.shape[0] // 2
    one = client.get(f"/rr-api/slice/{case_id}/0/{k}")
    assert one.status_code == 200
    assert one.content == expected.array[k].astype(wire).tobytes()  # TestClient inflates gzip
    chunk = client.get(f"/rr-api/pixels/{case_id}/0/0")
    assert chunk.status_code == 200
    assert chunk.content == expected.array[:8].astype(wire).tobytes()
    assert len(gzip.compress(chunk.content)) > 0


@pytest.mark.parametrize("case_id", ["ct1", "cxr1"])
def test_memmap_through_the_builtin_draft(services: Any, case_id: str) -> None:
    """Segmenter + built-in generator on the read-only memmap: the same findings as on a fresh read."""
    from app.callbacks.generate import generate
    from inference.draft import draft_study

    assert isinstance(services.study(case_id).primary.pixels, np.memmap)
    generate(services, case_id)
    latest = services.repo.latest_draft(case_id)
    assert latest is not None
    texts = [f.text for f in latest[1].findings]
    fresh = load_study(services.data_dir / services.record(case_id).data_path, case_id=case_id)
    assert texts and texts == [f.text for f in draft_study(fresh, generator="builtin").findings]


def test_cache_off_reads_the_source(services: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RADREVIEW_PIXEL_CACHE", "0")
    services.studies.drop("ct1")
    pixels = services.study("ct1").primary.pixels
    assert not isinstance(pixels, np.memmap) and pixels.flags.writeable
