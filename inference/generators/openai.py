"""``openai``: draft with any OpenAI-compatible ``/v1/chat/completions`` server that takes images.

The scale-out path: vLLM (``vllm serve MODEL``), SGLang, TGI or a hosted endpoint serve the model on
as many GPUs as needed; radreview sends the same prompts as the ``hf`` generator
(:mod:`inference.prompts`) with the images as base64 PNG data URLs, and parses the answer the same way.

Networking rules: a per-request timeout; bounded retries with exponential backoff on 429 and 5xx
(``Retry-After`` honoured, capped) and on connection errors; a 4xx other than 429 is not retried;
every failure ends in one :class:`ServerError` naming the URL, what happened and what to do. The
standard library's ``urllib`` is used, so no extra package is needed.
"""

from __future__ import annotations

import base64
import io
import json
import os
import socket
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from inference import prompts
from inference.generators import _common
from inference.image_prep import ModelImage
from inference.protocols import Progress, emit_stage, emit_text
from inference.records import Draft, Finding, Provenance
from viewer.records import Study

RETRY_STATUS = frozenset({429, 500, 502, 503, 504})
MAX_RETRY_AFTER_S = 30.0


class ServerError(RuntimeError):
    """The completion server could not be used (unreachable, timing out, refusing); CLI exit code 4."""

    exit_code = 4


@dataclass(frozen=True)
class RetryPolicy:
    """Timeout and retry settings.

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


def image_data_url(image: ModelImage) -> str:
    """A model image as a ``data:image/png;base64,…`` URL."""
    buffer = io.BytesIO()
    image.to_pil().save(buffer, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def to_openai_messages(request: prompts.PromptRequest) -> list[dict[str, Any]]:
    """Our chat messages in OpenAI form: text parts and ``image_url`` parts, images in prompt order."""
    images = iter(request.images)
    out: list[dict[str, Any]] = []
    for message in request.messages:
        if message["role"] == "system":
            out.append({"role": "system", "content": " ".join(c["text"] for c in message["content"])})
            continue
        parts = [
            {"type": "image_url", "image_url": {"url": image_data_url(next(images))}}
            if c["type"] == "image"
            else {"type": "text", "text": c["text"]}
            for c in message["content"]
        ]
        out.append({"role": message["role"], "content": parts})
    return out


class ChatClient:
    """A minimal ``/chat/completions`` client with timeouts, retries and SSE streaming.

    Args:
        base_url: Up to and including ``/v1``, e.g. ``http://127.0.0.1:8000/v1``.
        api_key: Sent as ``Authorization: Bearer``; ``None`` sends none (vLLM without ``--api-key``).
        policy: Timeout and retries.
    """

    def __init__(self, base_url: str, api_key: str | None = None, policy: RetryPolicy | None = None) -> None:
        self.url = base_url.rstrip("/") + "/chat/completions"
        self.api_key = api_key
        self.policy = policy or RetryPolicy()

    def complete(self, body: Mapping[str, Any], on_text: Any = None) -> str:
        """POST ``body``; stream deltas to ``on_text`` when ``body['stream']``; return the full text.

        A server that ignores ``stream`` and answers ``application/json`` is read as a whole answer.

        Raises:
            ServerError: After the retries, or at once for a non-retryable answer.
        """
        for attempt in range(self.policy.max_retries + 1):
            last = attempt == self.policy.max_retries
            try:
                with self._open(body) as response:
                    if body.get("stream") and "json" not in response.headers.get("Content-Type", ""):
                        return "".join(self._stream(response, on_text))
                    return self._content(json.loads(response.read().decode("utf-8")))
            except urllib.error.HTTPError as exc:
                detail = exc.read().decode("utf-8", "replace")[:300]
                if exc.code not in RETRY_STATUS or last:
                    raise ServerError(self._http_message(exc.code, detail, attempt + 1)) from exc
                time.sleep(self.policy.wait(attempt, exc.headers.get("Retry-After")))
            except (urllib.error.URLError, TimeoutError, ConnectionError) as exc:
                if last:
                    raise ServerError(self._network_message(exc, attempt + 1)) from exc
                time.sleep(self.policy.wait(attempt, None))
        raise AssertionError("unreachable")  # pragma: no cover

    def _open(self, body: Mapping[str, Any]) -> Any:
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        data = json.dumps(body).encode("utf-8")
        request = urllib.request.Request(self.url, data=data, headers=headers, method="POST")
        return urllib.request.urlopen(request, timeout=self.policy.timeout_s)

    def _content(self, payload: Mapping[str, Any]) -> str:
        try:
            return str(payload["choices"][0]["message"]["content"] or "")
        except (KeyError, IndexError, TypeError) as exc:
            raise ServerError(
                f"{self.url} answered without choices[0].message.content: {json.dumps(payload)[:200]}"
            ) from exc

    def _stream(self, response: Any, on_text: Any) -> Iterator[str]:
        for raw in response:
            line = raw.decode("utf-8").strip()
            if not line.startswith("data:"):
                continue
            data = line[5:].strip()
            if data == "[DONE]":
                return
            choices = json.loads(data).get("choices") or [{}]
            chunk = (choices[0].get("delta") or {}).get("content") or ""
            if chunk:
                if on_text is not None:
                    on_text(chunk)
                yield chunk

    def _http_message(self, status: int, detail: str, attempts: int) -> str:
        hint = {
            401: "check the API key (RADREVIEW_OPENAI_API_KEY)",
            404: "check the base URL and model name",
            429: "the server is rate limiting; retry later or raise max_retries",
        }.get(status, "see the server's log")
        return f"{self.url} answered HTTP {status} after {attempts} attempt(s): {detail.strip()} — {hint}"

    def _network_message(self, exc: BaseException, attempts: int) -> str:
        reason = getattr(exc, "reason", exc)
        timed_out = isinstance(reason, (TimeoutError, socket.timeout)) or "timed out" in str(reason)
        what = (
            f"timed out after {self.policy.timeout_s:g} s" if timed_out else f"cannot be reached ({reason})"
        )
        return (
            f"completion server {self.url} {what} after {attempts} attempt(s); start it (e.g. `vllm serve "
            "MODEL`) or pass the right base URL, or raise the timeout"
        )


class OpenAIGenerator:
    """Draft reports through an OpenAI-compatible chat-completions server.

    Args:
        model: The model name the server serves (``--model``).
        quantization: Recorded in provenance as declared; the server decides what it runs.
        base_url: Server URL up to ``/v1``; default ``$RADREVIEW_OPENAI_BASE_URL`` or
            ``http://127.0.0.1:8000/v1``.
        api_key: Default ``$RADREVIEW_OPENAI_API_KEY`` (else ``$OPENAI_API_KEY``), or none.
        timeout_s, max_retries, backoff_s: See :class:`RetryPolicy`.
        stream: Stream tokens to the progress callback (SSE).
        mode, conditioning, max_images, grounding, n_slices, regions, grammar: Prompting and parsing,
            as for ``hf``.
        max_new_tokens, temperature, seed: Decoding; temperature 0 is greedy.
    """

    name = "openai"

    def __init__(
        self,
        model: str,
        quantization: str = "none",
        *,
        base_url: str | None = None,
        api_key: str | None = None,
        timeout_s: float = 120.0,
        max_retries: int = 3,
        backoff_s: float = 1.0,
        stream: bool = True,
        mode: str = "auto",
        conditioning: str = "none",
        max_images: int = 1,
        grounding: bool = False,
        n_slices: int = 4,
        regions: Sequence[str] | None = None,
        max_new_tokens: int = 512,
        temperature: float = 0.0,
        seed: int = 0,
        grammar: str | None = None,
    ) -> None:
        if not model:
            raise ValueError("the openai generator needs --model: the model name the server serves")
        if grammar is not None and grammar not in _common.GRAMMARS:
            raise ValueError(
                f"unknown output grammar {grammar!r}; choose one of {', '.join(_common.GRAMMARS)}"
            )
        self.grammar = grammar
        if mode not in prompts.MODES:
            raise ValueError(f"unknown prompt mode {mode!r}; choose one of {', '.join(prompts.MODES)}")
        self.model_id, self.quantization = model, quantization
        base = base_url or os.environ.get("RADREVIEW_OPENAI_BASE_URL") or "http://127.0.0.1:8000/v1"
        key = api_key or os.environ.get("RADREVIEW_OPENAI_API_KEY") or os.environ.get("OPENAI_API_KEY")
        self.client = ChatClient(base, key, RetryPolicy(timeout_s, max_retries, backoff_s))
        self.stream, self.mode, self.conditioning = stream, mode, conditioning
        self.max_images, self.grounding, self.n_slices = max_images, grounding, n_slices
        self.regions = tuple(regions) if regions else None
        self.params = {
            "max_new_tokens": max_new_tokens,
            "temperature": temperature,
            "seed": seed,
            "do_sample": temperature > 0,
            "num_beams": 1,
        }

    def body(self, request: prompts.PromptRequest) -> dict[str, Any]:
        """The JSON body for one request."""
        return {
            "model": self.model_id,
            "messages": to_openai_messages(request),
            "max_tokens": self.params["max_new_tokens"],
            "temperature": self.params["temperature"],
            "seed": self.params["seed"],
            "stream": self.stream,
        }

    def generate(self, study: Study, masks: Mapping[str, Any], *, progress: Progress | None = None) -> Draft:
        """Write a draft for ``study`` (one request for CXR, one per masked region for CT)."""
        mode = prompts.choose_mode(study, self.mode, grounding=self.grounding, max_images=self.max_images)
        requests = prompts.build_requests(
            study,
            masks,
            mode,
            conditioning=self.conditioning,
            max_images=self.max_images,
            n_slices=self.n_slices,
            regions=self.regions,
        )
        findings: list[Finding] = []
        impressions: list[str] = []
        artefacts: dict[str, Any] = {}
        start = time.perf_counter()
        for request in requests:
            emit_stage(
                progress, f"requesting {request.region or 'report'} from {self.client.url}", request.region
            )
            text = self.client.complete(
                self.body(request), lambda chunk, r=request.region: emit_text(progress, chunk, r)
            )
            if not self.stream:
                emit_text(progress, text, request.region)
            parsed, impression = _common.parse_generation(request, text, study, self.grammar)
            findings += _common.ground_to_region(parsed, request, masks, artefacts)
            impressions += [impression] if impression else []
        notes = _common.input_notes(requests)
        provenance = Provenance(
            generator=self.name,
            model_id=self.model_id,
            model_revision=None,
            quantization=self.quantization,  # type: ignore[arg-type]
            device=self.client.url,
            prompts=tuple(r.text for r in requests),
            generation_params={**self.params, "mode": mode, "conditioning": self.conditioning, **notes},
            seed=int(self.params["seed"]),
            input_sha256s=study.input_sha256s,
            package_version=_common.package_version(),
            label=f"{self.model_id} (openai-compatible server{_common.context_label(notes)})",
        )
        return Draft(
            case_id=study.case_id,
            sections=_common.sections(study.kind, findings),
            impression=" ".join(impressions) or None,
            provenance=provenance,
            latency_s={"generate": time.perf_counter() - start},
            artefacts=artefacts,
        )
