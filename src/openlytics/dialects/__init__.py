"""Vendor dialects, one package per vendor, each mounted under its own prefix.

Until a dialect is implemented its prefix answers 501 in JSON, so clients fail clearly.
"""

from __future__ import annotations

DIALECT_PREFIXES: dict[str, str] = {
    "tonalytica": "/tonalytica",
    "clicdata": "/clicdata",
    "alooma": "/alooma",
    "serenytics": "/serenytics",
    "thoughtspot": "/thoughtspot",
}
