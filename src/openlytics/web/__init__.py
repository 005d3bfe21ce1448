"""HTML pages: the public dashboard page."""

from openlytics.web.dashboard_page import dashboard_html

__all__ = ["dashboard_html"]
