"""CLI subcommands, one module each, plus the helpers they share."""
