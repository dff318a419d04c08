"""Pictures for the statistics page: server-rendered SVG, readable without JavaScript.

Pure functions from numbers to markup: no database, no requests. Each returns a
``<figure>`` holding a ``<figcaption>``, an inline ``<svg role="img">`` named by its own
``<title>`` and ``<desc>`` (the desc says the key finding in words, for people who cannot
see the picture), and a ``<details>`` "Show as a table" with the same numbers.

The workspace's Content-Security-Policy forbids inline styles, so the markup uses SVG
presentation attributes (fill, stroke, stroke-dasharray, font-size, text-anchor) and the
classes of the "charts" section of ``static/style.css``. Every text is escaped: labels
come from settings. The markup is also well-formed XML, which the tests rely on.

One module per chart (``histogram``, ``daily``, ``heatmap``, ``levels``); ``base``
holds what they share.
"""

from counsellor_ui.charts.base import (
    EMPTY_CELL,
    HEAT,
    NO_WAITS,
    ORANGE,
    WEEKDAYS,
    DayWaits,
    HistogramBin,
    ServiceLevelRow,
    format_duration,
    format_percent,
)
from counsellor_ui.charts.daily import daily_waits
from counsellor_ui.charts.heatmap import demand_heatmap
from counsellor_ui.charts.histogram import wait_histogram
from counsellor_ui.charts.levels import service_levels

__all__ = [
    "EMPTY_CELL",
    "HEAT",
    "NO_WAITS",
    "ORANGE",
    "WEEKDAYS",
    "DayWaits",
    "HistogramBin",
    "ServiceLevelRow",
    "daily_waits",
    "demand_heatmap",
    "format_duration",
    "format_percent",
    "service_levels",
    "wait_histogram",
]
