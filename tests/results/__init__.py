"""Tests of the results store and formats."""
