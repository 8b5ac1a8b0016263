"""One module per ``radreview`` subcommand: ``register(subparsers)`` and ``run(args) -> int``."""
