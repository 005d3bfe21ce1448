"""Tests of the query engines."""
