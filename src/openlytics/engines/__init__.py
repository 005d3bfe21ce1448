"""Engines: the embedded DuckDB warehouse and external SQL sources, behind small interfaces."""
