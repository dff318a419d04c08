"""What every chart shares: colours, words, SVG pieces, scales, input rows.

The package's docstring (counsellor_ui/charts/__init__.py) says how the charts are made.
"""

from __future__ import annotations

import itertools
import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date

from markupsafe import Markup, escape

# Drawing units: the viewBox is WIDTH wide and the CSS keeps the picture at least 32rem
# (512 px) wide, so FONT-sized text never renders smaller than 12.8 px.
WIDTH = 640
FONT = 16

INK = "#1d232a"  # text: 16:1 on white
MUTED = "#4f5b66"  # axes and tick labels: 7:1 on white
GRID = "#d5dae0"
BLUE = "#1f5f8b"  # the median, bars within target: 6.9:1 on white
ORANGE = "#a04000"  # the 90th percentile, bars past the target: 6.3:1 on white
TARGET = INK
EMPTY_CELL = "#f1f3f5"
# ColorBrewer "Blues", light to dark: one hue, so readable with any colour vision.
HEAT = ("#c6dbef", "#9ecae1", "#6baed6", "#3182bd", "#08519c")

WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
NO_WAITS = "No waits in this period"

_ids = itertools.count(1)


@dataclass(frozen=True)
class HistogramBin:
    """Waits from ``low_s`` up to (not including) ``high_s``; ``None``: no upper bound."""

    low_s: float
    high_s: float | None
    count: int


@dataclass(frozen=True)
class DayWaits:
    """One day's waits: their number, median and 90th percentile (None: no waits)."""

    day: date
    median_s: float | None
    p90_s: float | None
    count: int


@dataclass(frozen=True)
class ServiceLevelRow:
    """Of ``total`` waits, ``met`` were claimed within the target; the aim is ``target_share``."""

    label: str
    met: int
    total: int
    target_share: float


# --- words ------------------------------------------------------------------------


def format_duration(seconds: float) -> str:
    """A wait in words: "45 s", "3 min", "2 min 30 s" (under ten minutes), "1 h 20 min"."""
    whole = max(0, round(seconds))
    if whole < 60:
        return f"{whole} s"
    if whole < 600:
        minutes, rest = divmod(whole, 60)
        return f"{minutes} min" if rest == 0 else f"{minutes} min {rest} s"
    minutes = round(whole / 60)
    if minutes < 60:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h" if minutes == 0 else f"{hours} h {minutes} min"


def format_percent(part: int, whole: int) -> str:
    """A share in whole percent, rounded to the nearest as the statistics page rounds its
    figures, except that some is never "0%" and not quite all is never "100%"."""
    if whole <= 0:
        return "\u2013"
    shown = round(100 * part / whole)
    if shown == 0 and part > 0:
        return "under 1%"
    if shown == 100 and part < whole:
        return "over 99%"
    return f"{shown}%"


def plural(count: int, noun: str) -> str:
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


def day_label(day: date) -> str:
    return f"{WEEKDAYS[day.weekday()][:3]} {day.day} {MONTHS[day.month - 1]}"


def hours_label(start: int, end: int) -> str:
    return f"{start:02d}:00\u2013{end % 24:02d}:00"


def bin_label(b: HistogramBin) -> str:
    if b.high_s is None:
        return f"{format_duration(b.low_s)} or longer"
    if b.low_s <= 0:
        return f"under {format_duration(b.high_s)}"
    return f"{format_duration(b.low_s)} to {format_duration(b.high_s)}"


def fit_text(text: str, width: float, size: float = FONT) -> str:
    """``text`` cut with an ellipsis to fit ``width`` drawing units (the table has it whole)."""
    room = max(1, int(width / (0.6 * size)))
    return text if len(text) <= room else text[: max(0, room - 1)].rstrip() + "\u2026"


def text_width(text: str, size: float = FONT) -> float:
    return len(text) * 0.6 * size


# --- markup pieces ----------------------------------------------------------------


def num(value: float) -> str:
    """A coordinate: at most one decimal, never an exponent."""
    text = f"{value:.1f}"
    return text[:-2] if text.endswith(".0") else text


def chart_id(prefix: str | None) -> str:
    if prefix is None:
        return f"chart-{next(_ids)}"
    clean = re.sub(r"[^A-Za-z0-9_-]", "-", prefix)
    return clean if clean[:1].isalpha() else f"chart-{clean}"


def svg_text(
    x: float,
    y: float,
    content: str,
    *,
    anchor: str = "start",
    size: int = FONT,
    fill: str = INK,
    weight: str | None = None,
    halo: bool = False,
) -> str:
    bold = f' font-weight="{weight}"' if weight else ""
    # A white outline under the glyphs keeps a label legible where it crosses a line.
    outline = ' stroke="#ffffff" stroke-width="4" paint-order="stroke"' if halo else ""
    return (
        f'<text x="{num(x)}" y="{num(y)}" text-anchor="{anchor}" font-size="{size}" '
        f'fill="{fill}"{bold}{outline}>{escape(content)}</text>'
    )


def svg_line(x1: float, y1: float, x2: float, y2: float, stroke: str, **extra: str) -> str:
    attrs = "".join(
        f' {name.rstrip("_").replace("_", "-")}="{value}"' for name, value in extra.items()
    )
    return (
        f'<line x1="{num(x1)}" y1="{num(y1)}" x2="{num(x2)}" y2="{num(y2)}" '
        f'stroke="{stroke}"{attrs}/>'
    )


def svg_rect(x: float, y: float, w: float, h: float, fill: str, extra: str = "") -> str:
    return (
        f'<rect x="{num(x)}" y="{num(y)}" width="{num(max(0.0, w))}" '
        f'height="{num(max(0.0, h))}" fill="{fill}"{extra}/>'
    )


def data_table(
    caption: str,
    headers: Sequence[str],
    rows: Iterable[Sequence[str]],
    *,
    empty: str = NO_WAITS,
    numeric_from: int = 1,
) -> str:
    """A table: the first column names the row; columns from ``numeric_from`` are numbers."""
    numeric = ' class="num"'
    head = "".join(
        f'<th scope="col"{numeric if i >= numeric_from else ""}>{escape(h)}</th>'
        for i, h in enumerate(headers)
    )
    body = []
    for row in rows:
        cells = [f'<th scope="row">{escape(row[0])}</th>']
        cells += [
            f"<td{numeric if i >= numeric_from else ''}>{escape(cell)}</td>"
            for i, cell in enumerate(row[1:], start=1)
        ]
        body.append(f"<tr>{''.join(cells)}</tr>")
    if not body:
        body.append(f'<tr><td colspan="{len(headers)}" class="muted">{escape(empty)}.</td></tr>')
    return (
        f"<table><caption>{escape(caption)}</caption><thead><tr>{head}</tr></thead>"
        f"<tbody>{''.join(body)}</tbody></table>"
    )


def chart_figure(
    cid: str, kind: str, caption: str, desc: str, height: float, body: str, table: str
) -> Markup:
    # Every text in body and table has been through escape(); ids and kinds are ours.
    return Markup(  # noqa: S704
        f'<figure class="chart chart-{kind}" id="{cid}">'
        f"<figcaption>{escape(caption)}</figcaption>"
        f'<svg xmlns="http://www.w3.org/2000/svg" role="img" width="100%" '
        f'viewBox="0 0 {WIDTH} {num(height)}" aria-labelledby="{cid}-title {cid}-desc" '
        f'font-family="system-ui, sans-serif" font-size="{FONT}">'
        f'<title id="{cid}-title">{escape(caption)}</title>'
        f'<desc id="{cid}-desc">{escape(desc)}</desc>'
        f"{body}</svg>"
        f'<details class="chart-table"><summary>Show as a table</summary>{table}</details>'
        "</figure>"
    )


def empty_figure(cid: str, kind: str, caption: str, message: str, headers: Sequence[str]) -> Markup:
    height = 96
    body = svg_rect(0.5, 0.5, WIDTH - 1, height - 1, "#ffffff", f' stroke="{GRID}"')
    body += svg_text(WIDTH / 2, height / 2 + FONT / 3, message, anchor="middle", fill=MUTED)
    table = data_table(caption, headers, [], empty=message)
    return chart_figure(cid, kind, caption, f"{message}.", height, body, table)


# --- scales -----------------------------------------------------------------------

DURATION_STEPS = (5, 10, 15, 30, 60, 120, 300, 600, 900, 1200, 1800, 3600, 7200, 10800, 21600)


def duration_scale(highest: float, ticks: int = 5) -> tuple[float, float]:
    """A top for a duration axis and a round step between its gridlines."""
    for step in DURATION_STEPS:
        if highest <= step * ticks:
            return step * max(1, math.ceil(highest / step)), float(step)
    step = 21600 * math.ceil(highest / (21600 * ticks))
    return step * max(1, math.ceil(highest / step)), float(step)


def count_scale(highest: int, ticks: int = 5) -> tuple[int, int]:
    """A top for a count axis and a round step (1, 2, 5 times a power of ten)."""
    highest = max(1, highest)
    magnitude = 1
    while True:
        for factor in (1, 2, 5):
            step = factor * magnitude
            if highest <= step * ticks:
                return step * math.ceil(highest / step), step
        magnitude *= 10
