"""Find, check and load a transformers vision-language model: offline by default, never a silent fallback.

* ``--model`` is a local directory or a hub id already in the Hugging Face cache. Nothing is
  downloaded unless the caller passes ``allow_download=True`` *and* ``HF_HUB_OFFLINE`` is not set;
  otherwise every ``from_pretrained`` call gets ``local_files_only=True``.
* ``quantization`` is ``none``, ``8bit`` or ``4bit``. 8-bit and 4-bit go through ``BitsAndBytesConfig``
  (4-bit: NF4, double quantization, bf16 compute) and need a CUDA GPU plus the ``gpu`` extra; without
  them loading fails with :class:`ModelSetupError` / ``MissingExtraError`` — it never quietly loads
  fp32 weights instead.
* ``attn_implementation="eager"`` when attention maps are wanted: with ``sdpa``,
  ``output_attentions=True`` returns empty tuples and raises nothing (DESIGN §9).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, get_args

from inference.records import Quantization
from viewer.errors import MissingExtraError

QUANTIZATIONS: tuple[str, ...] = get_args(Quantization)
_WEIGHT_PATTERNS = ("*.safetensors", "*.bin", "*.safetensors.index.json", "*.bin.index.json")
_HEX40 = re.compile(r"^[0-9a-f]{40}$")


class ModelSetupError(ValueError):
    """The model cannot be set up as asked (a usage problem: CLI exit code 2).

    The message names the model path or option and says how to fix it.
    """

    exit_code = 2


@dataclass(frozen=True)
class ResolvedModel:
    """Where a model's files are.

    Attributes:
        model_id: What the user asked for (a path or a hub repo id), for provenance.
        location: Local directory holding ``config.json`` and the weights.
        revision: Hub commit hash when known (cache snapshot directory name), else ``None``.
    """

    model_id: str
    location: Path
    revision: str | None


@dataclass(frozen=True)
class LoadedModel:
    """A loaded model with its processor and where it runs."""

    model: Any
    processor: Any
    device: str
    dtype: str
    revision: str | None


def check_quantization(quantization: str) -> None:
    """Fail clearly when ``quantization`` cannot run here.

    Raises:
        ModelSetupError: Unknown value, or 8bit/4bit on a machine without CUDA.
        MissingExtraError: 8bit/4bit without ``bitsandbytes``/``accelerate`` (the ``gpu`` extra).
    """
    if quantization not in QUANTIZATIONS:
        raise ModelSetupError(
            f"unknown quantization {quantization!r}; choose one of {', '.join(QUANTIZATIONS)}"
        )
    if quantization == "none":
        return
    import torch

    if not torch.cuda.is_available():
        bits = quantization.removesuffix("bit")
        raise ModelSetupError(
            f"{bits}-bit quantization needs a CUDA GPU; this machine has none — use --quantization none"
        )
    for module in ("bitsandbytes", "accelerate"):
        try:
            __import__(module)
        except ImportError as exc:
            raise MissingExtraError(
                "gpu", f"--quantization {quantization} ({module} is not installed)"
            ) from exc


def bnb_config(quantization: str) -> Any:
    """The ``BitsAndBytesConfig`` for ``8bit``/``4bit`` (NF4, double quant, bf16 compute), else ``None``."""
    if quantization == "none":
        return None
    import torch
    from transformers import BitsAndBytesConfig

    config_class: Any = BitsAndBytesConfig  # untyped constructor

    if quantization == "8bit":
        return config_class(load_in_8bit=True)
    return config_class(
        load_in_4bit=True,
        bnb_4bit_quant_type="nf4",
        bnb_4bit_use_double_quant=True,
        bnb_4bit_compute_dtype=torch.bfloat16,
    )


def resolve_device(device: str = "auto") -> str:
    """``auto`` → ``cuda`` when available, else ``cpu``; an explicit ``cuda`` without CUDA is an error."""
    import torch

    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise ModelSetupError(
            f"device {device!r} was asked for but this machine has no CUDA GPU — use --device cpu"
        )
    return device


def offline() -> bool:
    """True when ``HF_HUB_OFFLINE`` (or ``TRANSFORMERS_OFFLINE``) is set to a true value."""
    values = (os.environ.get("HF_HUB_OFFLINE", ""), os.environ.get("TRANSFORMERS_OFFLINE", ""))
    return any(v.strip().lower() in {"1", "true", "yes", "on"} for v in values)


def _check_local_dir(path: Path) -> None:
    if not (path / "config.json").is_file():
        raise ModelSetupError(
            f"model directory {path} has no config.json; point --model at a checkpoint folder "
            "(config.json, processor/tokenizer files and *.safetensors)"
        )
    if not any(next(path.glob(p), None) for p in _WEIGHT_PATTERNS):
        raise ModelSetupError(
            f"model directory {path} has no weights (*.safetensors or *.bin); copy the "
            "checkpoint's weight files there, e.g. `hf download REPO_ID --local-dir "
            f"{path}` on a machine with network access"
        )


def _from_cache(model: str, allow_download: bool, cache_dir: str | Path | None) -> Path:
    from huggingface_hub import snapshot_download

    local_only = not allow_download or offline()
    try:
        return Path(snapshot_download(model, local_files_only=local_only, cache_dir=cache_dir))
    except Exception as exc:
        how = (
            "downloads are off (HF_HUB_OFFLINE is set)"
            if allow_download and offline()
            else "downloads are off by default"
        )
        raise ModelSetupError(
            f"model {model!r} is not a local directory and not in the Hugging Face cache, and {how}; "
            f"run `hf download {model}` once where there is network access, or pass a local folder "
            f"({type(exc).__name__})"
        ) from exc


def resolve_model(
    model: str, *, allow_download: bool = False, cache_dir: str | Path | None = None
) -> ResolvedModel:
    """Find ``model`` on disk: a local directory, or a hub id in the cache.

    Args:
        model: A directory path or a hub repo id such as ``microsoft/llava-rad``.
        allow_download: Let the hub client fetch missing files (ignored when ``HF_HUB_OFFLINE`` is set).
        cache_dir: Hub cache to look in; default ``$HF_HUB_CACHE`` (``~/.cache/huggingface/hub``).

    Raises:
        ModelSetupError: Naming the path or id and how to provide the files.
    """
    path = Path(model).expanduser()
    if path.exists():
        if not path.is_dir():
            raise ModelSetupError(f"--model {model} is a file; pass the checkpoint's folder")
        _check_local_dir(path)
        return ResolvedModel(model, path.resolve(), _snapshot_revision(path.resolve()))
    if model.count("/") != 1 or model.startswith((".", "/", "~")):
        raise ModelSetupError(
            f"model directory {model} does not exist (and it is not a hub id like 'org/name')"
        )
    location = _from_cache(model, allow_download, cache_dir)
    _check_local_dir(location)
    return ResolvedModel(model, location, _snapshot_revision(location))


def _snapshot_revision(path: Path) -> str | None:
    return path.name if _HEX40.match(path.name) and path.parent.name == "snapshots" else None


def _auto_model_classes(trust_remote_code: bool) -> list[Any]:
    import transformers

    classes = [transformers.AutoModelForImageTextToText]
    if trust_remote_code:  # custom architectures register under these auto classes
        classes += [
            getattr(transformers, n)
            for n in ("AutoModelForVision2Seq", "AutoModelForCausalLM")
            if hasattr(transformers, n)
        ]
    return classes


def _dtype_for(device: str, quantization: str) -> Any:
    import torch

    if quantization != "none" or device.startswith("cuda"):
        return torch.bfloat16
    return torch.float32


def load_model(
    resolved: ResolvedModel,
    *,
    quantization: str = "none",
    device: str = "auto",
    attention_maps: bool = False,
    trust_remote_code: bool = False,
    allow_download: bool = False,
) -> LoadedModel:
    """Load processor and model from ``resolved.location`` (never from the network unless allowed).

    Args:
        resolved: From :func:`resolve_model`.
        quantization: ``none``, ``8bit`` or ``4bit`` (checked by :func:`check_quantization`).
        device: ``auto``, ``cpu`` or ``cuda[:n]``.
        attention_maps: Load with ``attn_implementation="eager"`` so attentions are returned.
        trust_remote_code: Allow custom model code shipped with the checkpoint (opt-in).
        allow_download: Passed on as ``local_files_only=not allow_download``.

    Raises:
        ModelSetupError: Unsupported architecture (naming the classes tried) or unreadable files.
    """
    from transformers import AutoProcessor

    check_quantization(quantization)
    device = resolve_device(device)
    common = {"local_files_only": not allow_download or offline(), "trust_remote_code": trust_remote_code}
    auto_processor: Any = AutoProcessor  # its from_pretrained is untyped
    processor = auto_processor.from_pretrained(resolved.location, **common)
    kwargs: dict[str, Any] = {**common, "dtype": _dtype_for(device, quantization)}
    if attention_maps:
        kwargs["attn_implementation"] = "eager"
    if quantization != "none":
        kwargs.update(quantization_config=bnb_config(quantization), device_map={"": device})
    model = _from_pretrained(resolved, kwargs, trust_remote_code)
    if quantization == "none":
        model = model.to(device)
    model.eval()
    revision = resolved.revision or getattr(model.config, "_commit_hash", None)
    return LoadedModel(model, processor, device, str(kwargs["dtype"]).removeprefix("torch."), revision)


def _from_pretrained(resolved: ResolvedModel, kwargs: dict[str, Any], trust_remote_code: bool) -> Any:
    tried = []
    for cls in _auto_model_classes(trust_remote_code):
        try:
            return cls.from_pretrained(resolved.location, **kwargs)
        except ValueError as exc:  # "Unrecognized configuration class …" for this auto class
            tried.append(f"{cls.__name__}: {str(exc).splitlines()[0]}")
    hint = (
        ""
        if trust_remote_code
        else "; if the checkpoint ships its own model code, opt in with trust_remote_code"
    )
    raise ModelSetupError(
        f"cannot load {resolved.model_id} ({resolved.location}) as an image-text-to-text "
        f"model — tried {'; '.join(tried)}{hint}"
    )
