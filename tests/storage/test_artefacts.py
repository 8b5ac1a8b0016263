"""Content-addressed artefact files: atomic writes, verified reads, clear errors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from inference.artefacts import content_ref
from storage.artefacts import ArtefactError, ArtefactStore, LazyArtefacts


def test_save_load_round_trip_and_layout(tmp_path: Path) -> None:
    store = ArtefactStore(tmp_path)
    heat = np.linspace(0, 1, 24, dtype=np.float32).reshape(2, 3, 4)
    ref = content_ref(heat)
    path = store.save(ref, heat)
    digest = ref.removeprefix("sha256:")
    assert path == tmp_path / "artefacts" / digest[:2] / f"{digest[2:]}.npz"
    loaded = store.load(ref)
    assert loaded.dtype == np.float32 and loaded.shape == (2, 3, 4)
    np.testing.assert_array_equal(loaded, heat)
    assert store.save(ref, heat) == path  # idempotent
    assert [p.name for p in path.parent.iterdir()] == [path.name]  # no temporary left behind


def test_wrong_ref_is_refused(tmp_path: Path) -> None:
    store = ArtefactStore(tmp_path)
    mask = np.ones((2, 2), dtype=bool)
    with pytest.raises(ArtefactError, match="does not match its array"):
        store.save(content_ref(mask.astype(np.uint8)), mask)
    with pytest.raises(ArtefactError, match="64 lowercase hex"):
        store.save("md5:abc", mask)
    with pytest.raises(ArtefactError, match="is not stored"):
        store.load(content_ref(mask))


def test_corrupt_file_is_detected(tmp_path: Path) -> None:
    store = ArtefactStore(tmp_path)
    mask = np.zeros((3, 3), dtype=bool)
    ref = content_ref(mask)
    path = store.save(ref, mask)
    np.savez_compressed(path, array=np.ones((3, 3), dtype=bool))  # silently replaced content
    with pytest.raises(ArtefactError, match="is corrupt"):
        store.load(ref)


def test_lazy_mapping_loads_on_access(tmp_path: Path) -> None:
    store = ArtefactStore(tmp_path)
    mask = np.eye(3, dtype=bool)
    ref = content_ref(mask)
    store.save(ref, mask)
    lazy = LazyArtefacts(store, (ref,))
    assert list(lazy) == [ref] and len(lazy) == 1 and "sha256:00" not in lazy
    np.testing.assert_array_equal(lazy[ref], mask)
