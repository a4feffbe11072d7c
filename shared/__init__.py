"""TokenRoute: benchmark intelligence for teams that call LLMs (the application package)."""

__version__ = "0.1.0"
