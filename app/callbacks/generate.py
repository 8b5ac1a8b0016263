"""Draft generation with streamed progress: runs the configured generator and stores the draft."""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterator
from typing import Any

from app.services import ServiceError, Services


def generate(services: Services, case_id: str, on_event: Callable[[Any], None] | None = None) -> Any:
    """Draft ``case_id`` with the server's generator and save it; returns the stored draft id.

    Args:
        services: Injected services (their shared :meth:`~app.services.Services.report_generator`).
        case_id: The case to draft.
        on_event: Receives each :class:`inference.protocols.ProgressEvent` (stage or text chunk).

    Raises:
        ServiceError: signed case, or the generator failed (its message).
    """
    from inference.draft import draft_study
    from viewer.errors import MissingExtraError

    record = services.record(case_id)
    if record.status == "signed":
        raise ServiceError(f"case {case_id!r} is signed; its draft cannot be replaced")
    study = services.study(case_id)
    try:
        with services.generation_lock:  # shared with the background drafting worker (serve --draft-ahead)
            draft = draft_study(study, generator=services.report_generator(), progress=on_event)
    except MissingExtraError as exc:
        raise ServiceError(str(exc)) from None
    except RuntimeError as exc:
        if not _out_of_memory(exc):
            raise ServiceError(f"draft generation failed for {case_id}: {exc}") from None
        _free_gpu_memory()
        raise ServiceError(
            f"draft generation for {case_id} ran out of GPU memory ({exc}); nothing was saved. Restart the "
            "server with --quantization 4bit, a smaller --model, or on a GPU with more memory"
        ) from None
    except (ValueError, OSError) as exc:
        raise ServiceError(f"draft generation failed for {case_id}: {exc}") from None
    return services.repo.save_draft(draft)


def _out_of_memory(exc: BaseException) -> bool:
    """Whether ``exc`` is a GPU out-of-memory (``torch.OutOfMemoryError`` or its CUDA message)."""
    return type(exc).__name__ == "OutOfMemoryError" or "out of memory" in str(exc).lower()


def _free_gpu_memory() -> None:
    """Return cached CUDA blocks after an OOM so the next request (or another model) can allocate."""
    import sys

    torch = sys.modules.get("torch")  # never import torch just for this
    if torch is not None and torch.cuda.is_available():
        torch.cuda.empty_cache()


def stream(services: Services, case_id: str) -> Iterator[tuple[str, str]]:
    """Run :func:`generate` in a worker thread and yield ``(stage, text so far)`` as events arrive.

    The last item has stage ``"done"``; an error in the worker is re-raised here.
    """
    events: queue.Queue[Any] = queue.Queue()
    outcome: dict[str, Any] = {}

    def work() -> None:
        try:
            outcome["draft_id"] = generate(services, case_id, events.put)
        except BaseException as exc:  # handed to the caller below
            outcome["error"] = exc
        finally:
            events.put(None)

    threading.Thread(target=work, name=f"draft-{case_id}", daemon=True).start()
    text, stage = "", "starting"
    while (event := events.get()) is not None:
        if event.kind == "text":
            text += event.text
        else:
            stage = event.text if not event.region else f"{event.text} ({event.region})"
        yield stage, text
    if "error" in outcome:
        raise outcome["error"]
    yield "done", text
