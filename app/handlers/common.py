"""What every panel's handlers share: the per-user :class:`Session`, reviewer lookup, the ``KEEP``
marker of the view model and the two wrappers :mod:`app.wiring` applies at wiring time
(:func:`bind`, :func:`user_errors`).

No ``from __future__ import annotations`` in this package: Gradio finds ``gr.Request``/``gr.Progress``
parameters through their (unstringified) annotations, also through :func:`bind`.
"""

import functools
import inspect
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import gradio as gr

from app.services import ServiceError, Services


@dataclass(frozen=True)
class Session:
    """Per-user review state kept in ``gr.State`` (small, replaced on every change).

    Attributes:
        case_id: The open case, or ``""``.
        selected: The selected finding id, if any.
        shown_at: When the selected finding was shown (ISO time), for time-per-finding.
    """

    case_id: str = ""
    selected: str | None = None
    shown_at: str | None = None


class _Keep:
    """The value of a view-model field a handler leaves as it is (nothing is sent for it)."""

    _instance: "_Keep | None" = None

    def __new__(cls) -> "_Keep":
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "KEEP"

    def __bool__(self) -> bool:
        return False


KEEP: Any = _Keep()


def bind(fn: Callable[..., Any], *bound: Any, **fixed: Any) -> Callable[..., Any]:
    """``functools.partial`` that Gradio can introspect: a real function (a generator function when
    ``fn`` is one) whose signature and annotations are those left after binding, so ``gr.Request``
    and ``gr.Progress`` parameters are still recognised."""
    part = functools.partial(fn, *bound, **fixed)
    if inspect.isgeneratorfunction(inspect.unwrap(fn)):

        def wrapper(*args: Any, **kwargs: Any) -> Any:
            yield from part(*args, **kwargs)
    else:

        def wrapper(*args: Any, **kwargs: Any) -> Any:
            return part(*args, **kwargs)

    signature = inspect.signature(part)
    wrapper.__signature__ = signature  # type: ignore[attr-defined]
    wrapper.__annotations__ = {
        name: p.annotation
        for name, p in signature.parameters.items()
        if p.annotation is not inspect.Parameter.empty
    }
    wrapper.__name__ = wrapper.__qualname__ = getattr(fn, "__name__", "callback")
    return wrapper


def user_errors(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Show :class:`ServiceError` (and unreadable-study errors) to the reviewer as ``gr.Error``.

    Applied by :mod:`app.wiring` when it wires a handler, so the handlers themselves raise plain
    :class:`ServiceError` (what the tests assert). Review actions never get here with a user error:
    they return a message in the view instead (an error must not blank the panel).
    """
    from viewer.errors import MissingExtraError, StudyLoadError

    errors = (ServiceError, StudyLoadError, MissingExtraError)
    if inspect.isgeneratorfunction(inspect.unwrap(fn)):

        @functools.wraps(fn)
        def stream(*args: Any, **kwargs: Any) -> Any:
            try:
                yield from fn(*args, **kwargs)
            except errors as exc:
                raise gr.Error(str(exc), duration=8) from None

        return stream

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except errors as exc:
            raise gr.Error(str(exc), duration=8) from None

    return wrapper


def reviewer_of(services: Services, request: gr.Request | None) -> str:
    """The logged-in reviewer, or the local default reviewer when login is off."""
    name = getattr(request, "username", None) if request is not None else None
    if name:
        return str(name)
    if services.default_reviewer:
        return services.default_reviewer
    raise ServiceError("you are not logged in; reload the page to log in")


def ping(counter: str) -> str:
    """An empty callback (counter + 1): the floor of ``radreview bench ui`` and of the HTTP load bench."""
    return str(int(counter or 0) + 1)
