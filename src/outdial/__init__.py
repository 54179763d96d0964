"""outdial: an open-source platform for outbound voice calls."""

__version__ = "0.1.0"
