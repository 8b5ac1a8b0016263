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
from collections.abc import Iterator, Mapping
from typing import Any

from inference import prompts
from inference.generators.options import OpenAIOptions, RetryPolicy
from inference.generators.pipeline import GeneratorPipeline, ModelOutput, RunRecord
from inference.image_prep import ModelImage
from inference.protocols import Progress, emit_text

RETRY_STATUS = frozenset({429, 500, 502, 503, 504})


class ServerError(RuntimeError):
    """The completion server could not be used (unreachable, timing out, refusing); CLI exit code 4."""

    exit_code = 4


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


class OpenAIGenerator(GeneratorPipeline[OpenAIOptions, ChatClient]):
    """Draft reports through an OpenAI-compatible chat-completions server.

    Args:
        model: The model name the server serves (``--model``).
        options: Everything else (:class:`~inference.generators.options.OpenAIOptions`).
        **keywords: Flat overrides of ``options`` fields by name (``base_url=``, ``stream=False``,
            ``max_new_tokens=``, ``timeout_s=``…), as the registry and the CLI pass them.

    Raises:
        ModelSetupError: No model, or an unknown option or value.
    """

    name = "openai"
    model_hint = "the model name the server serves"

    def __init__(self, model: str, options: OpenAIOptions | None = None, **keywords: Any) -> None:
        super().__init__(model, options or OpenAIOptions(), keywords)
        opts = self.options
        base = opts.base_url or os.environ.get("RADREVIEW_OPENAI_BASE_URL") or "http://127.0.0.1:8000/v1"
        key = opts.api_key or os.environ.get("RADREVIEW_OPENAI_API_KEY") or os.environ.get("OPENAI_API_KEY")
        self.client = ChatClient(base, key, opts.retry)

    def load(self) -> ChatClient:
        """The client (nothing to load here: the server holds the model)."""
        return self.client

    def capabilities(self, handle: ChatClient) -> tuple[bool, int]:
        """(grounding, max_images) as set: no grounding and one image unless asked."""
        return bool(self.prompting.grounding), self.prompting.max_images or 1

    def stage_message(self, request: prompts.PromptRequest | None) -> str:
        """``using URL`` before the first request, then ``requesting REGION from URL``."""
        if request is None:
            return f"using {self.client.url}"
        return f"requesting {request.region or 'report'} from {self.client.url}"

    def body(self, request: prompts.PromptRequest) -> dict[str, Any]:
        """The JSON body for one request (temperature 0 = greedy)."""
        return {
            "model": self.model_id,
            "messages": to_openai_messages(request),
            "max_tokens": self.decoding.max_new_tokens,
            "temperature": self.decoding.temperature,
            "seed": self.decoding.seed,
            "stream": self.options.stream,
        }

    def call(
        self, handle: ChatClient, request: prompts.PromptRequest, progress: Progress | None
    ) -> ModelOutput:
        """One completion, streamed to ``progress`` (sent whole when not streaming)."""
        start = time.perf_counter()
        text = handle.complete(self.body(request), lambda chunk: emit_text(progress, chunk, request.region))
        if not self.options.stream:
            emit_text(progress, text, request.region)
        return ModelOutput(
            text=text, prompt=request.text, seconds=time.perf_counter() - start, n_images=len(request.images)
        )

    def run_record(self, handle: ChatClient) -> RunRecord:
        """The server URL stands for the device."""
        return RunRecord(device=handle.url, label="openai-compatible server")
