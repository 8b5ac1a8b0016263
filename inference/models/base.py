"""The model-adapter plug-in contract: what a seed model needs, accepts and costs, and how it is built.

Each adapter is one module of :mod:`inference.models` exposing ``ADAPTER`` (a :class:`ModelAdapter`);
:mod:`inference.models.registry` discovers them with ``pkgutil`` (MONAILabel style), so adding a model
is adding a file. Adapter modules import nothing heavy at import time.

VRAM estimate (GB), stated once and used by every adapter::

    vram_gb = params_billion * BYTES[quantization] * 1.2 + 1.0
    BYTES = {"none": 2.0 (bf16/fp16), "8bit": 1.0, "4bit": 0.5}

The 1.2 factor covers layers kept in 16 bit under bitsandbytes (vision tower, norms, lm_head,
embeddings), quantization constants and the KV cache of one ~1k-token prompt; the 1.0 GB is the CUDA
context and allocator slack. It is an estimate for choosing a GPU, not a measurement.
"""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

INPUTS: tuple[str, ...] = ("frontal", "lateral", "prior", "indication", "masks", "ct")
BYTES_PER_PARAM = {"none": 2.0, "8bit": 1.0, "4bit": 0.5}
VRAM_FACTOR, VRAM_OVERHEAD_GB = 1.2, 1.0
MODELS_ENV = "RADREVIEW_MODELS"


def vram_gb(params_billion: float, quantization: str) -> float:
    """Estimated GPU memory in GB: ``params_billion × bytes/param × 1.2 + 1.0`` (see module doc).

    Raises:
        ValueError: Unknown quantization.
    """
    if quantization not in BYTES_PER_PARAM:
        raise ValueError(f"unknown quantization {quantization!r}; choose one of {', '.join(BYTES_PER_PARAM)}")
    return round(params_billion * BYTES_PER_PARAM[quantization] * VRAM_FACTOR + VRAM_OVERHEAD_GB, 1)


def hf_cache_dirs() -> list[Path]:
    """The Hugging Face hub cache folders to look in (``HF_HUB_CACHE``, ``HF_HOME/hub``, default)."""
    dirs = []
    if os.environ.get("HF_HUB_CACHE"):
        dirs.append(Path(os.environ["HF_HUB_CACHE"]))
    if os.environ.get("HF_HOME"):
        dirs.append(Path(os.environ["HF_HOME"]) / "hub")
    dirs.append(Path.home() / ".cache" / "huggingface" / "hub")
    return list(dict.fromkeys(dirs))


def model_roots() -> list[Path]:
    """The folders named by ``$RADREVIEW_MODELS`` (``os.pathsep``-separated), existing ones only."""
    raw = os.environ.get(MODELS_ENV, "")
    return [Path(p) for p in raw.split(os.pathsep) if p and Path(p).is_dir()]


def _cached_snapshots(hub_id: str) -> Iterator[Path]:
    folder = "models--" + hub_id.replace("/", "--")
    for cache in hf_cache_dirs():
        snapshots = cache / folder / "snapshots"
        if snapshots.is_dir():
            yield from sorted(p for p in snapshots.iterdir() if p.is_dir())


def _local_dirs(names: tuple[str, ...]) -> Iterator[Path]:
    wanted = {n.lower() for n in names}
    for root in model_roots():
        for child in sorted(root.iterdir()):
            if child.is_dir() and child.name.lower() in wanted:
                yield child


def importable(name: str) -> bool:
    """Whether module ``name`` (dotted names too) can be imported, found without importing it."""
    top, _, rest = name.partition(".")
    spec = importlib.util.find_spec(top)
    if spec is None or not rest:
        return spec is not None
    parts = rest.split(".")
    for location in spec.submodule_search_locations or []:
        path = Path(location).joinpath(*parts)
        if path.with_suffix(".py").is_file() or (path / "__init__.py").is_file():
            return True
    return False


@dataclass(frozen=True)
class ModelAdapter:
    """One seed model family: its requirements, accepted inputs, cost and generator factory.

    Attributes:
        name: Registry name (``radreview models``, ``--adapter NAME``).
        description: One line: the model, its paper/repo, what it outputs.
        needs: Importable top-level Python packages it needs beyond the core install.
        inputs: Subset of :data:`INPUTS` it can use.
        params_billion: Parameter count in billions (drives :meth:`vram_gb`).
        hub_ids: Hub repositories whose cached snapshots count as local weights.
        local_names: Folder names looked for under each ``$RADREVIEW_MODELS`` root.
        weight_markers: Files of which at least one must exist in a folder for it to count.
        install_hint: What to install when something in ``needs`` is missing.
        factory: ``factory(model=PATH, **options)`` → a generator (usually an ``HFGenerator``).
    """

    name: str
    description: str
    needs: tuple[str, ...]
    inputs: frozenset[str]
    params_billion: float
    hub_ids: tuple[str, ...]
    local_names: tuple[str, ...]
    factory: Callable[..., Any]
    weight_markers: tuple[str, ...] = ("config.json",)
    install_hint: str = ""
    notes: tuple[str, ...] = field(default_factory=tuple)

    def __post_init__(self) -> None:
        unknown = set(self.inputs) - set(INPUTS)
        if unknown:
            raise ValueError(f"adapter {self.name!r}: unknown inputs {sorted(unknown)}; use {INPUTS}")

    def vram_gb(self, quantization: str) -> float:
        """Estimated VRAM in GB at ``none``/``8bit``/``4bit`` (formula in the module doc)."""
        return vram_gb(self.params_billion, quantization)

    def installed(self) -> dict[str, bool]:
        """``{package: importable}`` for every package in :attr:`needs` (checked without importing)."""
        return {pkg: importable(pkg) for pkg in self.needs}

    def missing(self) -> list[str]:
        """The packages of :attr:`needs` that are not importable."""
        return [pkg for pkg, ok in self.installed().items() if not ok]

    def find_local_weights(self) -> list[Path]:
        """Folders holding this model's weights: HF cache snapshots and ``$RADREVIEW_MODELS/<name>``.

        Nothing is downloaded; a folder counts when it holds one of :attr:`weight_markers`.
        """
        candidates = [p for hub in self.hub_ids for p in _cached_snapshots(hub)]
        candidates += list(_local_dirs((self.name, *self.local_names)))
        found = [p for p in candidates if any((p / m).exists() for m in self.weight_markers)]
        return list(dict.fromkeys(found))

    def build_generator(self, **options: Any) -> Any:
        """Build the generator; ``model`` defaults to the first folder :meth:`find_local_weights` finds.

        Raises:
            ModelSetupError: No ``model`` given and no local weights found.
        """
        if not options.get("model"):
            found = self.find_local_weights()
            if not found:
                raise _no_weights(self)
            options["model"] = str(found[0])
        return self.factory(**options)

    def describe(self) -> dict[str, Any]:
        """The JSON description used by ``radreview models --json``."""
        return {
            "name": self.name,
            "description": self.description,
            "inputs": sorted(self.inputs),
            "needs": self.installed(),
            "installed": not self.missing(),
            "install_hint": self.install_hint if self.missing() else "",
            "params_billion": self.params_billion,
            "vram_gb": {q: self.vram_gb(q) for q in BYTES_PER_PARAM},
            "hub_ids": list(self.hub_ids),
            "local_weights": [str(p) for p in self.find_local_weights()],
            "notes": list(self.notes),
        }


def _no_weights(adapter: ModelAdapter) -> Exception:
    from inference.model_loading import ModelSetupError

    where = ", ".join(adapter.hub_ids) or adapter.name
    return ModelSetupError(
        f"no local weights for {adapter.name!r}: none in the HF cache ({where}) nor under "
        f"${MODELS_ENV}/{adapter.name}; pass model=PATH, or copy the checkpoint to "
        f"${MODELS_ENV}/{adapter.name} (downloads are off)"
    )


def native_release(adapter: ModelAdapter, how: str) -> Exception:
    """The error for a model's own (not transformers) release, which runs only under its own code.

    Returns:
        :func:`code_missing` when that code is not installed, else a ``ModelSetupError`` saying ``how``
        to use the release instead (run its scripts, import their result).
    """
    if adapter.missing():
        return code_missing(adapter)
    from inference.model_loading import ModelSetupError

    return ModelSetupError(how)


def code_missing(adapter: ModelAdapter) -> Exception:
    """A :class:`viewer.errors.MissingExtraError` (CLI exit 4) saying exactly what to install."""
    from viewer.errors import MissingExtraError

    error = MissingExtraError(adapter.name, f"{adapter.name} needs {', '.join(adapter.missing())}")
    error.args = (f"{error.what}, which is not installed: {adapter.install_hint}",)
    return error
