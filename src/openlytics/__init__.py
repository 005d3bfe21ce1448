"""openlytics: a self-hosted analytics server that speaks five vendors' APIs on one engine."""

__version__ = "0.1.0"
