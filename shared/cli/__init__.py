"""`tokenroute`: the command-line client of the TokenRoute HTTP API (`python -m shared.cli`)."""
