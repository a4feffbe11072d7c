"""The demo benchmark that `make run` runs: a bundled suite and the code that runs it over the API."""
