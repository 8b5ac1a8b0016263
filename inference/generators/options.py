"""The options of the model-backed generators as frozen dataclasses, and the one keyword router.

:class:`GenerationParams` (decoding) and :class:`PromptOptions` (prompting and parsing) are shared by
``hf`` and ``openai``; each generator nests them in its own options class (``HFOptions``,
``OpenAIOptions``). The registry, the CLI and the model adapters pass flat keywords
(``model=``, ``quantization=``, ``max_new_tokens=``…): :func:`with_keywords` routes each to the field
of that name, wherever it is nested, and refuses an unknown one with a "did you mean".
"""

from __future__ import annotations

import dataclasses
import difflib
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar, cast

from inference import prompts
from inference.attention import VIEWS
from inference.model_loading import QUANTIZATIONS, ModelSetupError, check_quantization
from inference.parsers import GRAMMARS

T = TypeVar("T")
CONDITIONINGS: tuple[str, ...] = ("none", "overlay", "channels")
MAX_RETRY_AFTER_S = 30.0


@dataclass(frozen=True)
class GenerationParams:
    """Decoding settings, recorded in provenance.

    Attributes:
        max_new_tokens: Tokens to generate at most.
        do_sample: Sample (else greedy).
        temperature: Sampling temperature (used only when sampling).
        num_beams: Beam search width (1 = none).
        seed: Seed of the sampler (and of the server, for ``openai``).
    """

    max_new_tokens: int = 256
    do_sample: bool = False
    temperature: float = 1.0
    num_beams: int = 1
    seed: int = 0

    def generate_kwargs(self) -> dict[str, Any]:
        """Keyword arguments for ``model.generate``."""
        kwargs: dict[str, Any] = {
            "max_new_tokens": self.max_new_tokens,
            "do_sample": self.do_sample,
            "num_beams": self.num_beams,
        }
        if self.do_sample:
            kwargs["temperature"] = self.temperature
        return kwargs


@dataclass(frozen=True)
class PromptOptions:
    """How prompts are built and answers parsed (:mod:`inference.prompts`, :mod:`inference.parsers`).

    Attributes:
        mode: Prompt mode (:data:`inference.prompts.MODES`); ``auto`` picks by study and model.
        conditioning: Mask conditioning of the images: ``none``, ``overlay`` or ``channels``.
        max_images: Images per prompt; ``None`` = the generator's default for the model.
        grounding: Use the MAIRA-2 grounded prompt; ``None`` = the generator decides.
        n_slices: CT slices per region montage.
        regions: CT regions to prompt for (default: every masked region of DESIGN §4).
        grammar: Parse answers with this grammar (:data:`inference.parsers.GRAMMARS`) instead of the
            prompt mode's.
        preprocessing: How radiographs are made square: ``pad``, ``crop`` or ``maira2``; default
            ``maira2`` for ``cxr-grounded``, else ``pad``.

    Raises:
        ModelSetupError: An unknown mode, conditioning, grammar or preprocessing.
    """

    mode: str = "auto"
    conditioning: str = "none"
    max_images: int | None = None
    grounding: bool | None = None
    n_slices: int = 4
    regions: tuple[str, ...] | None = None
    grammar: str | None = None
    preprocessing: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "regions", tuple(self.regions) if self.regions else None)
        check_choice(self.mode, prompts.MODES, "prompt mode")
        check_choice(self.conditioning, CONDITIONINGS, "mask conditioning")
        if self.grammar is not None:
            check_choice(self.grammar, GRAMMARS, "output grammar")
        if self.preprocessing is not None:
            check_choice(self.preprocessing, prompts.PREPROCESSING, "preprocessing")


@dataclass(frozen=True)
class HFOptions:
    """Options of the ``hf`` generator (:class:`inference.generators.hf.HFGenerator`).

    Attributes:
        quantization: ``none``, ``8bit`` or ``4bit`` (8/4-bit need CUDA and the ``gpu`` extra).
        device: ``auto``, ``cpu`` or ``cuda[:n]``.
        attention_maps: Compute per-phrase heat maps (loads the model with eager attention).
        attention_view: ``mean_heads`` (at ``attention_layer``) or ``max_layers``.
        attention_layer: Layer for ``mean_heads``.
        trust_remote_code: Allow checkpoint-supplied model code (opt-in).
        allow_download: Allow the hub client to download missing files (default off).
        prompting: Prompt and parsing options (``max_images``/``grounding`` ``None`` = from the model:
            3 images for known multi-image models, else 1; grounded when the tokenizer has
            ``<obj>``/``<box>``).
        decoding: Decoding settings.

    Raises:
        ModelSetupError: Unknown or unrunnable quantization, unknown attention view, or attention maps
            with beam search.
    """

    quantization: str = "none"
    device: str = "auto"
    attention_maps: bool = True
    attention_view: str = "mean_heads"
    attention_layer: int = -1
    trust_remote_code: bool = False
    allow_download: bool = False
    prompting: PromptOptions = field(default_factory=PromptOptions)
    decoding: GenerationParams = field(default_factory=GenerationParams)

    def __post_init__(self) -> None:
        check_quantization(self.quantization)
        check_choice(self.attention_view, VIEWS, "attention view")
        if self.attention_maps and self.decoding.num_beams > 1:
            raise ModelSetupError(
                "attention maps need num_beams=1 (beam search reorders hypotheses between "
                "steps); turn attention maps off or use greedy/sampled decoding"
            )


@dataclass(frozen=True)
class RetryPolicy:
    """Timeout and retry settings of the ``openai`` generator's client.

    Attributes:
        timeout_s: Socket timeout per attempt (connect and each read).
        max_retries: Retries after the first attempt (0 = try once).
        backoff_s: First wait; doubles each retry.
    """

    timeout_s: float = 120.0
    max_retries: int = 3
    backoff_s: float = 1.0

    def wait(self, attempt: int, retry_after: str | None) -> float:
        """Seconds to wait before retry ``attempt`` (0-based): ``Retry-After`` if given, else backoff."""
        if retry_after:
            try:
                return min(max(float(retry_after), 0.0), MAX_RETRY_AFTER_S)
            except ValueError:
                pass
        return float(self.backoff_s * (2**attempt))


@dataclass(frozen=True)
class OpenAIOptions:
    """Options of the ``openai`` generator (:class:`inference.generators.openai.OpenAIGenerator`).

    Attributes:
        quantization: Recorded in provenance as declared; the server decides what it runs.
        base_url: Server URL up to ``/v1``; default ``$RADREVIEW_OPENAI_BASE_URL`` or
            ``http://127.0.0.1:8000/v1``.
        api_key: Default ``$RADREVIEW_OPENAI_API_KEY`` (else ``$OPENAI_API_KEY``), or none.
        stream: Stream tokens to the progress callback (SSE).
        retry: Timeout and retries.
        prompting: Prompt and parsing options (``max_images`` ``None`` = 1, ``grounding`` ``None`` = off).
        decoding: Decoding; the API samples when ``temperature`` > 0 (``do_sample`` follows it) and
            has no beam search.

    Raises:
        ModelSetupError: Unknown quantization or ``num_beams`` other than 1.
    """

    quantization: str = "none"
    base_url: str | None = None
    api_key: str | None = None
    stream: bool = True
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    prompting: PromptOptions = field(default_factory=PromptOptions)
    decoding: GenerationParams = field(
        default_factory=lambda: GenerationParams(max_new_tokens=512, temperature=0.0)
    )

    def __post_init__(self) -> None:
        check_choice(self.quantization, QUANTIZATIONS, "quantization")
        if self.decoding.num_beams != 1:
            raise ModelSetupError("the chat-completions API has no beam search; use num_beams=1")
        sampled = dataclasses.replace(self.decoding, do_sample=self.decoding.temperature > 0)
        object.__setattr__(self, "decoding", sampled)


def check_choice(value: str, allowed: Sequence[str], what: str) -> None:
    """Refuse ``value`` unless it is one of ``allowed``.

    Raises:
        ModelSetupError: Naming ``what``, the value and the choices.
    """
    if value not in allowed:
        raise ModelSetupError(f"unknown {what} {value!r}; choose one of {', '.join(allowed)}")


def field_names(options: Any) -> Iterator[str]:
    """Every keyword :func:`with_keywords` accepts for ``options`` (nested dataclass fields included)."""
    for f in dataclasses.fields(options):
        value = getattr(options, f.name)
        yield from field_names(value) if dataclasses.is_dataclass(value) else (f.name,)


def with_keywords(options: T, keywords: Mapping[str, Any], owner: str) -> T:
    """``options`` with each flat keyword set on the (possibly nested) field of the same name.

    Args:
        options: A frozen options dataclass (e.g. ``HFOptions()``), possibly nesting others.
        keywords: ``{"device": "cpu", "max_new_tokens": 4, …}``.
        owner: The generator name, for the error message.

    Raises:
        ModelSetupError: A keyword that is no field (with close matches and every known name).
    """
    known = list(field_names(options))
    unknown = [k for k in keywords if k not in known]
    if unknown:
        close = difflib.get_close_matches(unknown[0], known, n=3)
        hint = f"; did you mean {' or '.join(close)}?" if close else ""
        raise ModelSetupError(
            f"the {owner} generator has no option {unknown[0]!r}{hint} (options: {', '.join(sorted(known))})"
        )
    return cast(T, _replace(options, keywords))


def _replace(options: Any, keywords: Mapping[str, Any]) -> Any:
    changes: dict[str, Any] = {}
    for f in dataclasses.fields(options):
        value = getattr(options, f.name)
        if dataclasses.is_dataclass(value):
            nested = {k: v for k, v in keywords.items() if k in set(field_names(value))}
            if nested:
                changes[f.name] = _replace(value, nested)
        elif f.name in keywords:
            changes[f.name] = keywords[f.name]
    return dataclasses.replace(options, **changes) if changes else options
