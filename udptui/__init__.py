"""udptui: a terminal chat and debugging tool for raw UDP."""

__version__ = "0.1.0"
