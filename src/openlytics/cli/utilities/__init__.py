"""The four utilities of the TONalytica README (gdpr-scrub, find-tables, clone-dashboard, export-queries).

Each module holds the logic, taking an SDK `Client` and returning plain results; `commands.py` wires
them to Typer and Rich. They work against any openlytics server.
"""
