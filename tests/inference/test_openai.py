"""The ``openai`` generator's client against a scripted chat-completions server on 127.0.0.1."""

from __future__ import annotations

import base64
import io
import json
import socket
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import numpy as np
import pytest

from inference import prompts
from inference.generators.openai import ChatClient, OpenAIGenerator, ServerError, to_openai_messages
from inference.generators.options import RetryPolicy
from tests.images import make_image, phantom_ct_study
from viewer.records import Study


class Script:
    """What the server answers, one entry per request: (status, body, headers, delay_s)."""

    def __init__(self, replies: list[tuple[int, Any, dict[str, str], float]]) -> None:
        self.replies = replies
        self.requests: list[dict[str, Any]] = []
        self.headers: list[dict[str, str]] = []


def _handler(script: Script) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers["Content-Length"])
            script.requests.append(json.loads(self.rfile.read(length)))
            script.headers.append(dict(self.headers))
            status, body, headers, delay = script.replies[min(len(script.requests), len(script.replies)) - 1]
            time.sleep(delay)
            raw = body.encode() if isinstance(body, str) else json.dumps(body).encode()
            try:
                self.send_response(status)
                for k, v in headers.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)
            except (BrokenPipeError, ConnectionResetError):  # the client gave up (timeout test)
                pass

        def log_message(self, *args: Any) -> None:
            pass

    return Handler


@pytest.fixture
def serve() -> Iterator[Any]:
    servers = []

    def start(replies: list[tuple[int, Any, dict[str, str], float]]) -> tuple[str, Script]:
        script = Script(replies)
        server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(script))
        threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_address[1]}/v1", script

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


def _answer(text: str) -> dict[str, Any]:
    return {"choices": [{"index": 0, "message": {"role": "assistant", "content": text}}]}


FAST = RetryPolicy(timeout_s=2.0, max_retries=3, backoff_s=0.01)


def test_success_returns_the_message_content(serve) -> None:  # type: ignore[no-untyped-def]
    url, script = serve([(200, _answer("Heart size is normal."), {}, 0.0)])
    client = ChatClient(url, api_key="k3y", policy=FAST)
    assert client.complete({"model": "m", "messages": []}) == "Heart size is normal."
    assert script.headers[0]["Authorization"] == "Bearer k3y"
    assert len(script.requests) == 1


def test_retries_on_503_and_429_then_succeeds(serve) -> None:  # type: ignore[no-untyped-def]
    url, script = serve(
        [(503, "busy", {}, 0.0), (429, "slow down", {"Retry-After": "0"}, 0.0), (200, _answer("ok"), {}, 0.0)]
    )
    assert ChatClient(url, policy=FAST).complete({"model": "m"}) == "ok"
    assert len(script.requests) == 3


def test_retries_are_bounded_and_the_error_names_url_status_attempts(serve) -> None:  # type: ignore[no-untyped-def]
    url, script = serve([(500, "kaput", {}, 0.0)])
    with pytest.raises(
        ServerError, match=r"/chat/completions answered HTTP 500 after 4 attempt\(s\): kaput"
    ) as info:
        ChatClient(url, policy=FAST).complete({"model": "m"})
    assert len(script.requests) == 4 and info.value.exit_code == 4


def test_client_errors_are_not_retried(serve) -> None:  # type: ignore[no-untyped-def]
    url, script = serve([(404, '{"error": "model not found"}', {}, 0.0)])
    with pytest.raises(ServerError, match=r"HTTP 404 after 1 attempt.*check the base URL and model name"):
        ChatClient(url, policy=FAST).complete({"model": "m"})
    assert len(script.requests) == 1


def test_timeout_is_reported(serve) -> None:  # type: ignore[no-untyped-def]
    url, script = serve([(200, _answer("late"), {}, 1.0)])
    policy = RetryPolicy(timeout_s=0.2, max_retries=1, backoff_s=0.01)
    start = time.perf_counter()
    with pytest.raises(ServerError, match=r"timed out after 0.2 s after 2 attempt"):
        ChatClient(url, policy=policy).complete({"model": "m"})
    assert time.perf_counter() - start < 1.5
    assert len(script.requests) == 2


def test_connection_refused_is_a_clear_error() -> None:
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    policy = RetryPolicy(timeout_s=1.0, max_retries=1, backoff_s=0.01)
    with pytest.raises(
        ServerError, match=rf"127.0.0.1:{port}/v1/chat/completions cannot be reached .*vllm serve"
    ):
        ChatClient(f"http://127.0.0.1:{port}/v1", policy=policy).complete({"model": "m"})


def test_streaming_sends_each_delta(serve) -> None:  # type: ignore[no-untyped-def]
    events = [{"choices": [{"delta": {"role": "assistant"}}]}] + [
        {"choices": [{"delta": {"content": piece}}]} for piece in ("The heart", " is", " normal.")
    ]
    body = "".join(f"data: {json.dumps(e)}\n\n" for e in events) + "data: [DONE]\n\n"
    url, _ = serve([(200, body, {"Content-Type": "text/event-stream"}, 0.0)])
    chunks: list[str] = []
    text = ChatClient(url, policy=FAST).complete({"model": "m", "stream": True}, chunks.append)
    assert chunks == ["The heart", " is", " normal."] and text == "The heart is normal."


def _study() -> Study:
    pixels = np.zeros((40, 20), np.float32)
    pixels[:, 10:] = 100.0
    frontal = make_image(pixels, spacing_mm=None, source="f.png", sha256="e" * 64)
    return Study("c9", "cxr", (frontal,), indication="dyspnoea")


def test_messages_carry_images_as_png_data_urls_in_prompt_order() -> None:
    from PIL import Image as PILImage

    request = prompts.cxr_grounded(_study())
    messages = to_openai_messages(request)
    assert [m["role"] for m in messages] == ["user"]  # MAIRA-2 has no system turn
    parts = messages[0]["content"]
    assert [p["type"] for p in parts] == ["text", "image_url", "text"]
    url = parts[1]["image_url"]["url"]
    assert url.startswith("data:image/png;base64,")
    decoded = PILImage.open(io.BytesIO(base64.b64decode(url.split(",", 1)[1])))
    assert decoded.size == (20, 20)  # the 20-wide, 40-high radiograph centre-cropped as MAIRA-2's processor
    assert np.array_equal(np.asarray(decoded), request.images[0].pixels)


def test_request_body_has_model_decoding_and_stream_flag() -> None:
    gen = OpenAIGenerator("llava-rad", base_url="http://127.0.0.1:1/v1", max_new_tokens=64, stream=False)
    body = gen.body(prompts.cxr_plain(_study()))
    assert body["model"] == "llava-rad" and body["max_tokens"] == 64
    assert body["temperature"] == 0.0 and body["stream"] is False
    assert body["messages"][0]["content"][1]["text"].endswith("given the following indication: dyspnoea")


def test_grounded_cxr_draft_maps_maira2_boxes_to_the_original_image(serve) -> None:  # type: ignore[no-untyped-def]
    answer = "<obj>Left pleural effusion</obj><box><x60><y60><x90><y90></box> Heart size is normal."
    url, script = serve([(200, _answer(answer), {}, 0.0)])
    gen = OpenAIGenerator("maira-2", base_url=url, grounding=True, stream=False, backoff_s=0.01)
    events: list[Any] = []
    draft = gen.generate(_study(), {}, progress=events.append)
    effusion, heart = (
        f for f in draft.findings if f.text in ("Left pleural effusion", "Heart size is normal.")
    )
    (box,) = effusion.phrases[0].grounding.boxes
    # 20 wide x 40 high, centre-cropped to 20x20 (10 rows off the top), upstream's int() truncation:
    # x = int(.605 * 20) / 20 = .6, y = int(.605 * 20 + 10) / 40 = .55, x1 = 18 / 20, y1 = 28 / 40
    assert box == pytest.approx((0.6, 0.55, 0.9, 0.7))
    assert effusion.region == "pleura" and heart.region == "heart"
    assert draft.provenance.generator == "openai" and draft.provenance.device == url + "/chat/completions"
    assert "bounding boxes" in draft.provenance.prompts[0]
    assert [e.text for e in events if e.kind == "text"] == [answer]
    assert script.requests[0]["model"] == "maira-2"


def _reg2rg_handler(script: Script) -> type[BaseHTTPRequestHandler]:
    """Answers each region request with that region's Reg2RG sentence."""
    import re


    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            script.requests.append(body)
            prompt = " ".join(p.get("text", "") for p in body["messages"][-1]["content"])
            index = int(re.search(r"The region (\d+) is", prompt).group(1))
            raw = json.dumps(
                _answer(f"The region {index} is structure: No abnormality.")  # read by prompt position
            ).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")  # a server that ignores "stream"
            self.send_header("Content-Length", str(len(raw)))
            self.end_headers()
            self.wfile.write(raw)

        def log_message(self, *args: Any) -> None:
            pass

    return Handler


def test_ct_region_guided_draft_points_each_region_at_its_mask(ct_phantom) -> None:  # type: ignore[no-untyped-def]
    from inference.records import CT_REGIONS

    script = Script([])
    server = ThreadingHTTPServer(("127.0.0.1", 0), _reg2rg_handler(script))
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    try:
        regions = ("heart", "thyroid", "esophagus")
        study, masks = phantom_ct_study(ct_phantom, regions, step=2, sha256="7" * 64)
        gen = OpenAIGenerator(
            "reg2rg", base_url=f"http://127.0.0.1:{server.server_address[1]}/v1", max_images=2, n_slices=2
        )
        draft = gen.generate(study, masks)
    finally:
        server.shutdown()
        server.server_close()
    assert len(script.requests) == 3
    assert [s.region for s in draft.sections] == [*CT_REGIONS, "other"]
    for region in masks:
        (finding,) = next(s for s in draft.sections if s.region == region).findings
        assert finding.text == "No abnormality." and not finding.flags
        ref = finding.phrases[0].grounding.mask_ref
        np.testing.assert_array_equal(draft.artefacts[ref], masks[region])
        assert finding.phrases[0].grounding.source == "segmenter"
    assert [f.id for f in draft.findings] == ["f1", "f2", "f3"]
