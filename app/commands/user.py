"""``radreview user add NAME``: create or update a reviewer in the auth file."""

from __future__ import annotations

import argparse
import getpass
import os
import sys

from app.errors import CliError

DEFAULT_AUTH_FILE = "radreview-users.json"


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add the ``user`` subcommand."""
    parser = subparsers.add_parser("user", help="manage reviewer accounts (auth file)")
    sub = parser.add_subparsers(dest="user_command", required=True, metavar="ACTION")
    add = sub.add_parser("add", help="add a reviewer or reset their password")
    add.add_argument("name", help="login name (letters, digits, . _ @ -)")
    add.add_argument(
        "--auth-file",
        default=DEFAULT_AUTH_FILE,
        help=f"auth file to create or update (default: ./{DEFAULT_AUTH_FILE})",
    )
    add.add_argument(
        "--password-stdin",
        action="store_true",
        help="read the password from stdin (one line) instead of prompting; "
        "RADREVIEW_PASSWORD is used when set",
    )
    parser.set_defaults(func=run)


def _read_password(from_stdin: bool) -> str:
    if os.environ.get("RADREVIEW_PASSWORD"):
        return os.environ["RADREVIEW_PASSWORD"]
    if from_stdin:
        return sys.stdin.readline().rstrip("\n")
    first = getpass.getpass("password: ")
    if getpass.getpass("again: ") != first:
        raise CliError("the two passwords differ; nothing was changed", 2)
    return first


def run(args: argparse.Namespace) -> int:
    """Add or update the reviewer and save the auth file."""
    from app.auth import AuthFileError, load_or_empty

    try:
        auth = load_or_empty(args.auth_file)
        auth = auth.with_user(args.name, _read_password(args.password_stdin))
    except (AuthFileError, ValueError) as exc:
        raise CliError(str(exc), 2) from None
    auth.save()
    print(f"reviewer {args.name!r} saved in {auth.path}")
    return 0
