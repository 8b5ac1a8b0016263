"""Pixel routes (app/pixels.py) through a real FastAPI + Gradio app with login: 401 without the session
cookie, ids and paths refused, and the bytes, shape, dtype and values of what is served, checked against
the study's own arrays and hand-computed numbers."""

from __future__ import annotations

import gzip
import zlib
from typing import Any

import numpy as np
import pytest

from app.pixels import CHUNK_SLICES, chunk_count, label_map, labels_key, mask_refs, stored_array

USER, PASSWORD = "alice", "correct-horse-1"


def _client(services: Any, auth: bool = True) -> Any:
    import gradio as gr
    from fastapi import FastAPI
    from fastapi.testclient import TestClient

    from app.pixel_routes import mount_pixel_routes

    api = FastAPI()
    mount_pixel_routes(api, services)
    with gr.Blocks() as blocks:
        gr.Markdown("test page")
    kwargs: dict[str, Any] = {"auth": [(USER, PASSWORD)]} if auth else {}
    gr.mount_gradio_app(api, blocks, path="/", **kwargs)
    return TestClient(api)


@pytest.fixture()
def client(drafted: Any) -> Any:
    return _client(drafted)


def _login(client: Any) -> None:
    resp = client.post("/login", data={"username": USER, "password": PASSWORD})
    assert resp.status_code == 200, resp.text


def test_stored_array_dtypes_by_hand() -> None:
    ct = stored_array(np.array([[-1024.0, 0.0], [40.0, 3071.0]], dtype=np.float32))
    assert (ct.dtype, ct.vmin, ct.vmax, ct.array.shape) == ("int16", -1024.0, 3071.0, (1, 2, 2))
    cr = stored_array(np.array([[0.0, 40000.0]], dtype=np.float32))  # 16-bit CR beyond int16
    assert cr.dtype == "uint16" and cr.array[0, 0, 1] == 40000
    frac = stored_array(np.array([[0.5, 1.0]], dtype=np.float32))
    assert frac.dtype == "float32"


def test_pixels_need_the_session(client: Any) -> None:
    resp = client.get("/rr-api/pixels/ct1/0/0")
    assert resp.status_code == 401
    assert "log in" in resp.json()["error"]
    assert client.get("/rr-api/labels/ct1/x").status_code == 401
    assert client.get("/rr-api/heat/ct1/sha256:00").status_code == 401


def test_bad_ids_and_traversal_refused(client: Any, drafted: Any, tmp_path: Any) -> None:
    _login(client)
    assert client.get("/rr-api/pixels/..%2F..%2Fetc/0/0").status_code in (400, 404)
    assert client.get("/rr-api/pixels/ct1..x/0/0").status_code == 400
    assert client.get("/rr-api/pixels/nope/0/0").status_code == 404
    assert client.get("/rr-api/pixels/ct1/3/0").status_code == 404  # no image #3
    assert client.get("/rr-api/pixels/ct1/0/999").status_code == 404  # no such chunk
    # a worklist row whose file lies outside the data dir (written behind the app's back) is refused
    from sqlalchemy import text

    with drafted.repo.engine.begin() as conn:
        conn.execute(text("UPDATE studies SET data_path = '../../outside.nii.gz' WHERE case_id = 'cxr1'"))
    drafted.studies.drop("cxr1")
    resp = client.get("/rr-api/pixels/cxr1/0/0")
    assert resp.status_code == 403 and "outside the data directory" in resp.json()["error"]


def test_chunk_bytes_values_and_size(client: Any, drafted: Any) -> None:
    _login(client)
    image = drafted.study("ct1").primary
    n = image.shape[0]
    first = client.get("/rr-api/pixels/ct1/0/0")
    assert first.status_code == 200
    assert first.headers["content-encoding"] == "gzip"
    values = np.frombuffer(first.content, dtype="<i2").reshape(-1, *image.shape[1:])
    assert values.shape[0] == min(CHUNK_SLICES, n)
    np.testing.assert_array_equal(values, image.pixels[:CHUNK_SLICES].astype(np.int16))
    total_wire, chunks = 0, []
    for c in range(chunk_count(n)):
        resp = client.get(f"/rr-api/pixels/ct1/0/{c}")
        total_wire += int(resp.headers["content-length"])
        chunks.append(np.frombuffer(resp.content, dtype="<i2"))
    whole = np.concatenate(chunks).reshape(image.shape)
    k, i, j = n // 2, image.shape[1] // 2, image.shape[2] // 3
    assert whole[k, i, j] == int(image.pixels[k, i, j])  # exact stored HU
    floor = len(gzip.compress(image.pixels.astype("<i2").tobytes(), compresslevel=6))
    assert total_wire <= 1.1 * floor, (total_wire, floor)


def test_single_slice_route(client: Any, drafted: Any) -> None:
    _login(client)
    image = drafted.study("ct1").primary
    k = image.shape[0] // 2
    resp = client.get(f"/rr-api/slice/ct1/0/{k}")
    assert resp.status_code == 200 and resp.headers["content-encoding"] == "gzip"
    got = np.frombuffer(resp.content, dtype="<i2").reshape(image.shape[1:])
    np.testing.assert_array_equal(got, image.pixels[k].astype(np.int16))
    assert client.get(f"/rr-api/slice/ct1/0/{image.shape[0]}").status_code == 404


def test_radiograph_is_one_chunk(client: Any, drafted: Any) -> None:
    _login(client)
    image = drafted.study("cxr1").primary
    resp = client.get("/rr-api/pixels/cxr1/0/0")
    stored = stored_array(np.asarray(image.pixels))
    got = np.frombuffer(resp.content, dtype=np.dtype(stored.dtype).newbyteorder("<")).reshape(image.shape)
    np.testing.assert_array_equal(got, image.pixels.astype(stored.dtype))


def test_label_map_by_hand(client: Any, drafted: Any) -> None:
    from app.callbacks.review import review_state

    _login(client)
    state = review_state(drafted, "ct1")
    refs = mask_refs(state)
    assert [r for r, _ in refs] == ["lungs"]  # one masked finding (the hand draft's f2)
    resp = client.get(f"/rr-api/labels/ct1/{labels_key(refs)}")
    assert resp.status_code == 200
    labels = np.frombuffer(resp.content, dtype=np.uint8).reshape(drafted.study("ct1").primary.shape)
    assert labels[10, 40, 20] == 1 and labels[50, 40, 20] == 0 and labels[9, 40, 20] == 0
    assert int(labels.sum()) == 40 * 80 * 50  # the lungs block [10:50, 40:120, 20:70]
    assert client.get("/rr-api/labels/ct1/stale").status_code == 404
    np.testing.assert_array_equal(label_map(drafted, refs, labels.shape), labels)


def test_heat_map_scaled_once(client: Any, drafted: Any) -> None:
    import dataclasses

    from app.callbacks.review import review_state
    from inference.artefacts import content_ref

    _login(client)
    shape = drafted.study("ct1").primary.shape
    heat = np.zeros(shape, dtype=np.float32)
    heat[5, 6, 7] = 2.0
    heat[5, 6, 8] = 1.0
    ref = content_ref(heat)
    drafted.repo.artefacts.save(ref, heat)
    state = review_state(drafted, "ct1")
    fs = state.state_of("f1")
    from app.callbacks import review
    from storage.records import ReviewAction

    g = dataclasses.replace(fs.finding.phrases[0].grounding, attention_ref=ref)
    action = ReviewAction(kind="move_box", case_id="ct1", draft_id=state.draft_id, reviewer="alice",
                          finding_id="f1", phrase_index=0, after_grounding=g, reason="grounding_error",
                          base_version=fs.version)
    review._commit(drafted, action)
    resp = client.get(f"/rr-api/heat/ct1/{ref}")
    assert resp.status_code == 200
    got = np.frombuffer(zlib.decompress(zlib.compress(resp.content)), dtype=np.uint8).reshape(shape)
    assert (got[5, 6, 7], got[5, 6, 8], got[0, 0, 0]) == (255, 128, 0)  # 1/2 · 255 = 127.5 → 128
    assert client.get("/rr-api/heat/ct1/sha256:" + "0" * 64).status_code == 404


def test_no_login_configured_means_open(drafted: Any) -> None:
    client = _client(drafted, auth=False)
    assert client.get("/rr-api/pixels/ct1/0/0").status_code == 200


def test_viewer_asset_route(client: Any) -> None:
    from app.pixel_routes import DIST

    resp = client.get("/rr-viewer/viewer.js")
    if (DIST / "viewer.js").is_file():
        assert resp.status_code == 200 and "rrViewer" in resp.text
    else:
        assert resp.status_code == 404 and "npm" in resp.json()["error"]
    assert client.get("/rr-viewer/secret.txt").status_code == 404
