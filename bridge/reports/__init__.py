"""Post-call reports: what happened in a call and whether the floor was shared fairly.

| what | module |
| --- | --- |
| the rows a report is built from (the input types) | ``bridge.reports.rows`` |
| the report itself (pydantic: JSON and the API's schema) | ``bridge.reports.model`` |
| building it from rows (pure) | ``bridge.reports.build`` |
| the talk-time shares chart (SVG) | ``bridge.reports.chart`` |
| the CSV | ``bridge.reports.csvfile`` |
| the plain-text report and how durations read | ``bridge.reports.text`` |

This package is pure: no database, no web, no Asterisk. The store reads the rows
(``bridge.store.reports``), the service puts them together (``bridge.service.reports``).
"""

from bridge.reports.build import build_report, call_list_item
from bridge.reports.chart import talk_chart_svg
from bridge.reports.csvfile import report_csv
from bridge.reports.model import CallListItem, Report

__all__ = [
    "CallListItem",
    "Report",
    "build_report",
    "call_list_item",
    "report_csv",
    "talk_chart_svg",
]
