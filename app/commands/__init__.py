"""One module per ``radreview`` subcommand: ``register(subparsers)`` and ``run(args) -> int``."""

DEFAULT_DATA_DIR = "data"
"""Default ``--data-dir`` of every command that reads or writes the data directory."""
