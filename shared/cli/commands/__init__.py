"""One module per command group; each adds its parsers with `register(subparsers, common)`."""
