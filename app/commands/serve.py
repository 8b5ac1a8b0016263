"""``radreview serve``: the review workspace (DESIGN §7).

``--demo`` writes the generated demo studies into the data directory (default ``./data``), registers
them, uses the built-in generator and, on loopback without an auth file, records actions as reviewer
``demo`` so no login is needed.
"""

from __future__ import annotations

import argparse
import getpass
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from app.commands import DEFAULT_DATA_DIR
from app.errors import CliError

if TYPE_CHECKING:
    from app.services import Services

DEMO_REVIEWER = "demo"
DEMO_INDICATIONS = {
    "cxr": "Cough and fever; rule out pneumonia.",
    "ct": "Follow-up of a pulmonary nodule; dyspnoea.",
}


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add the ``serve`` subcommand."""
    p = subparsers.add_parser("serve", help="open the review workspace in the browser")
    p.add_argument(
        "--host",
        default="127.0.0.1",
        help="bind address (default 127.0.0.1; any other address needs --auth-file)",
    )
    p.add_argument("--port", type=int, default=7860, help="port (default 7860)")
    p.add_argument("--root-path", default="", help="URL prefix when behind a reverse proxy, e.g. /radreview")
    p.add_argument("--db", default=None, help="database URL (default sqlite:///DATA_DIR/radreview.db)")
    p.add_argument("--data-dir", default=DEFAULT_DATA_DIR, help="studies and artefacts (default ./data)")
    p.add_argument("--generator", default="builtin", help="report generator (builtin, hf, openai)")
    p.add_argument("--model", default=None, help="model path or id for hf/openai")
    p.add_argument("--quantization", default="none", choices=["none", "8bit", "4bit"])
    p.add_argument("--auth-file", default=None, help="reviewers (create with `radreview user add`)")
    p.add_argument("--demo", action="store_true", help="generate and register the demo studies")
    p.add_argument("--max-upload-mb", type=int, default=1024, help="upload size cap in MiB (default 1024)")
    p.add_argument("--draft-ahead", action="store_true",
                   help="draft new studies in a background thread while reviewers work (the drafting queue)")
    p.add_argument("--draft-batch-size", type=int, default=4, metavar="N",
                   help="studies per batch of the background drafting (default 4)")
    p.set_defaults(func=run)


def register_demo(services: Services) -> list[str]:
    """Write the demo studies into ``data_dir/demo``, register the new ones; returns their case ids."""
    import dataclasses

    from app.callbacks.worklist import register as register_study
    from viewer.demo import make_demo_studies
    from viewer.io import load_study

    existing = {r.case_id for r in services.repo.list_studies()}
    ids = []
    for name, path in make_demo_studies(services.data_dir / "demo").items():
        case_id = f"demo-{name}"
        ids.append(case_id)
        if case_id in existing:
            continue
        study = load_study(path, case_id=case_id)
        indication = DEMO_INDICATIONS[study.kind]
        register_study(services, dataclasses.replace(study, indication=indication), Path(path))
    return ids


def _auth(args: argparse.Namespace) -> Any:
    from app.auth import AuthFile, AuthFileError
    from app.server import is_loopback

    if args.auth_file:
        try:
            return AuthFile.load(args.auth_file)
        except AuthFileError as exc:
            raise CliError(str(exc), 2) from None
    if not is_loopback(args.host):
        raise CliError(
            f"refusing to serve on {args.host} without login: pass --auth-file FILE "
            "(create reviewers with `radreview user add NAME --auth-file FILE`) or bind to "
            "127.0.0.1",
            2,
        )
    return None


def build_services(args: argparse.Namespace, auth: Any) -> tuple[Any, str | None]:
    """Services from the arguments, or ``(None, reason)`` when storage is unusable."""
    from app.server import check_data_dir
    from app.services import GeneratorConfig, Services

    data_dir = Path(args.data_dir).expanduser().resolve()
    problem = check_data_dir(data_dir)
    if problem:
        return None, problem
    url = args.db or f"sqlite:///{data_dir / 'radreview.db'}"
    try:
        from storage.repository import Repository

        repo = Repository.open(url, data_dir)
    except Exception as exc:  # any driver/migration failure becomes the error page
        return None, f"database {url} is not usable: {type(exc).__name__}: {exc}"
    default = None
    if auth is None:
        default = DEMO_REVIEWER if args.demo else (getpass.getuser() or "local")
    generator = GeneratorConfig(
        "builtin" if args.demo and args.generator == "builtin" else args.generator,
        args.model,
        args.quantization,
    )
    services = Services(
        repo=repo,
        data_dir=data_dir,
        generator=generator,
        default_reviewer=default,
        max_upload_mb=args.max_upload_mb,
    )
    for name in ([default] if default else []) + (list(auth.users) if auth else []):
        repo.add_reviewer(name)
    return services, None


def run(args: argparse.Namespace) -> int:
    """Start the server (blocks until interrupted)."""
    import uvicorn

    from app.server import ServerConfig, create_server, prepare_environment

    auth = _auth(args)
    prepare_environment(Path(args.data_dir).expanduser().resolve())
    services, problem = build_services(args, auth)
    if services is not None and args.demo:
        ids = register_demo(services)
        print(f"demo: {len(ids)} studies in {services.data_dir / 'demo'} ({', '.join(ids)})", file=sys.stderr)
    if problem:
        print(f"error: {problem} — serving an error page until fixed", file=sys.stderr)
    config = ServerConfig(args.host, args.port, args.root_path, args.max_upload_mb, auth)
    app = create_server(services, config, problem)
    if services is not None and getattr(args, "draft_ahead", False):
        from app.drafting import start_drafting, stop_on_shutdown

        services.drafting = start_drafting(services, batch_size=args.draft_batch_size)
        stop_on_shutdown(app, services.drafting)
        print(f"drafting ahead of review with {services.generator.label()}", file=sys.stderr)
    who = (
        "login required"
        if auth
        else f"no login; actions recorded as {services.default_reviewer!r}"
        if services
        else "storage unusable"
    )
    print(f"radreview on http://{args.host}:{args.port}{args.root_path or ''}/ ({who})", file=sys.stderr)
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning", root_path=args.root_path or "")
    return 0
