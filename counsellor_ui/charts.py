"""Pictures for the statistics page: server-rendered SVG, readable without JavaScript.

Pure functions from numbers to markup: no database, no requests. Each returns a
``<figure>`` holding a ``<figcaption>``, an inline ``<svg role="img">`` named by its own
``<title>`` and ``<desc>`` (the desc says the key finding in words, for people who cannot
see the picture), and a ``<details>`` "Show as a table" with the same numbers.

The workspace's Content-Security-Policy forbids inline styles, so the markup uses SVG
presentation attributes (fill, stroke, stroke-dasharray, font-size, text-anchor) and the
classes of the "charts" section of ``static/style.css``. Every text is escaped: labels
come from settings. The markup is also well-formed XML, which the tests rely on.
"""

from __future__ import annotations

import itertools
import math
import re
import statistics
from collections.abc import Iterable, Mapping, Sequence
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


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


def _day_label(day: date) -> str:
    return f"{WEEKDAYS[day.weekday()][:3]} {day.day} {MONTHS[day.month - 1]}"


def _hours(start: int, end: int) -> str:
    return f"{start:02d}:00\u2013{end % 24:02d}:00"


def _bin_label(b: HistogramBin) -> str:
    if b.high_s is None:
        return f"{format_duration(b.low_s)} or longer"
    if b.low_s <= 0:
        return f"under {format_duration(b.high_s)}"
    return f"{format_duration(b.low_s)} to {format_duration(b.high_s)}"


def _fit(text: str, width: float, size: float = FONT) -> str:
    """``text`` cut with an ellipsis to fit ``width`` drawing units (the table has it whole)."""
    room = max(1, int(width / (0.6 * size)))
    return text if len(text) <= room else text[: max(0, room - 1)].rstrip() + "\u2026"


def _text_width(text: str, size: float = FONT) -> float:
    return len(text) * 0.6 * size


# --- markup pieces ----------------------------------------------------------------


def _num(value: float) -> str:
    """A coordinate: at most one decimal, never an exponent."""
    text = f"{value:.1f}"
    return text[:-2] if text.endswith(".0") else text


def _chart_id(prefix: str | None) -> str:
    if prefix is None:
        return f"chart-{next(_ids)}"
    clean = re.sub(r"[^A-Za-z0-9_-]", "-", prefix)
    return clean if clean[:1].isalpha() else f"chart-{clean}"


def _text(
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
        f'<text x="{_num(x)}" y="{_num(y)}" text-anchor="{anchor}" font-size="{size}" '
        f'fill="{fill}"{bold}{outline}>{escape(content)}</text>'
    )


def _line(x1: float, y1: float, x2: float, y2: float, stroke: str, **extra: str) -> str:
    attrs = "".join(
        f' {name.rstrip("_").replace("_", "-")}="{value}"' for name, value in extra.items()
    )
    return (
        f'<line x1="{_num(x1)}" y1="{_num(y1)}" x2="{_num(x2)}" y2="{_num(y2)}" '
        f'stroke="{stroke}"{attrs}/>'
    )


def _rect(x: float, y: float, w: float, h: float, fill: str, extra: str = "") -> str:
    return (
        f'<rect x="{_num(x)}" y="{_num(y)}" width="{_num(max(0.0, w))}" '
        f'height="{_num(max(0.0, h))}" fill="{fill}"{extra}/>'
    )


def _table(
    caption: str,
    headers: Sequence[str],
    rows: Iterable[Sequence[str]],
    *,
    empty: str = NO_WAITS,
    numeric_from: int = 1,
) -> str:
    """A table: the first column names the row; columns from ``numeric_from`` are numbers."""
    num = ' class="num"'
    head = "".join(
        f'<th scope="col"{num if i >= numeric_from else ""}>{escape(h)}</th>'
        for i, h in enumerate(headers)
    )
    body = []
    for row in rows:
        cells = [f'<th scope="row">{escape(row[0])}</th>']
        cells += [
            f"<td{num if i >= numeric_from else ''}>{escape(cell)}</td>"
            for i, cell in enumerate(row[1:], start=1)
        ]
        body.append(f"<tr>{''.join(cells)}</tr>")
    if not body:
        body.append(f'<tr><td colspan="{len(headers)}" class="muted">{escape(empty)}.</td></tr>')
    return (
        f"<table><caption>{escape(caption)}</caption><thead><tr>{head}</tr></thead>"
        f"<tbody>{''.join(body)}</tbody></table>"
    )


def _figure(
    cid: str, kind: str, caption: str, desc: str, height: float, body: str, table: str
) -> Markup:
    # Every text in body and table has been through escape(); ids and kinds are ours.
    return Markup(  # noqa: S704
        f'<figure class="chart chart-{kind}" id="{cid}">'
        f"<figcaption>{escape(caption)}</figcaption>"
        f'<svg xmlns="http://www.w3.org/2000/svg" role="img" width="100%" '
        f'viewBox="0 0 {WIDTH} {_num(height)}" aria-labelledby="{cid}-title {cid}-desc" '
        f'font-family="system-ui, sans-serif" font-size="{FONT}">'
        f'<title id="{cid}-title">{escape(caption)}</title>'
        f'<desc id="{cid}-desc">{escape(desc)}</desc>'
        f"{body}</svg>"
        f'<details class="chart-table"><summary>Show as a table</summary>{table}</details>'
        "</figure>"
    )


def _empty(cid: str, kind: str, caption: str, message: str, headers: Sequence[str]) -> Markup:
    height = 96
    body = _rect(0.5, 0.5, WIDTH - 1, height - 1, "#ffffff", f' stroke="{GRID}"')
    body += _text(WIDTH / 2, height / 2 + FONT / 3, message, anchor="middle", fill=MUTED)
    table = _table(caption, headers, [], empty=message)
    return _figure(cid, kind, caption, f"{message}.", height, body, table)


# --- scales -----------------------------------------------------------------------

DURATION_STEPS = (5, 10, 15, 30, 60, 120, 300, 600, 900, 1200, 1800, 3600, 7200, 10800, 21600)


def _duration_scale(highest: float, ticks: int = 5) -> tuple[float, float]:
    """A top for a duration axis and a round step between its gridlines."""
    for step in DURATION_STEPS:
        if highest <= step * ticks:
            return step * max(1, math.ceil(highest / step)), float(step)
    step = 21600 * math.ceil(highest / (21600 * ticks))
    return step * max(1, math.ceil(highest / step)), float(step)


def _count_scale(highest: int, ticks: int = 5) -> tuple[int, int]:
    """A top for a count axis and a round step (1, 2, 5 times a power of ten)."""
    highest = max(1, highest)
    magnitude = 1
    while True:
        for factor in (1, 2, 5):
            step = factor * magnitude
            if highest <= step * ticks:
                return step * math.ceil(highest / step), step
        magnitude *= 10


# --- the wait distribution ----------------------------------------------------------


def wait_histogram(
    bins: Sequence[HistogramBin],
    target_s: float | None,
    *,
    caption: str = "How long people waited",
    id_prefix: str | None = None,
) -> Markup:
    """The waits of the period, a bar per bin from the shortest (top) to the longest, with
    the count written at each bar and a line across where the target falls: bars below
    the line waited longer than the target."""
    cid = _chart_id(id_prefix)
    headers = ("Wait", "Waits", "Share")
    total = sum(b.count for b in bins)
    if total <= 0:
        return _empty(cid, "histogram", caption, NO_WAITS, headers)

    labels = [_bin_label(b) for b in bins]
    row_h, bar_h, top = 30, 20, 28
    left = min(WIDTH * 0.4, max(_text_width(label) for label in labels) + 16)
    right = 96  # room for "1234 (100%)"
    plot_w = WIDTH - left - right
    height = top + row_h * len(bins) + 50
    most = max(b.count for b in bins)
    past_at = {i for i, b in enumerate(bins) if target_s is not None and b.low_s >= target_s}

    parts: list[str] = []
    # Axis of counts along the bottom.
    axis_top, step = _count_scale(most, 4)
    axis_y = top + row_h * len(bins)
    for tick in range(0, axis_top + 1, step):
        x = left + plot_w * tick / axis_top
        parts.append(_line(x, top - 4, x, axis_y, GRID))
        parts.append(_text(x, axis_y + 20, str(tick), anchor="middle", fill=MUTED))
    parts.append(_text(left + plot_w / 2, axis_y + 42, "Number of waits", anchor="middle"))
    count_ends: list[float] = []  # where each row's written count ends
    for i, (b, label) in enumerate(zip(bins, labels, strict=True)):
        y = top + i * row_h
        is_past = i in past_at
        parts.append(_text(left - 8, y + row_h / 2 + 5, _fit(label, left - 12), anchor="end"))
        width = plot_w * b.count / axis_top
        parts.append(
            _rect(
                left,
                y + (row_h - bar_h) / 2,
                width,
                bar_h,
                ORANGE if is_past else BLUE,
                ' class="bar"',
            )
        )
        shown = f"{b.count} ({format_percent(b.count, total)})"
        parts.append(_text(left + width + 6, y + row_h / 2 + 5, shown))
        count_ends.append(left + width + 6 + _text_width(shown))
    parts.append(_line(left, top - 4, left, axis_y, MUTED))

    finding = [f"{_plural(total, 'wait')}."]
    busiest = max(range(len(bins)), key=lambda i: bins[i].count)
    finding.append(f"The most common wait was {labels[busiest]} ({bins[busiest].count}).")
    if target_s is not None:
        y_target = top + row_h * _target_position(bins, target_s)
        parts.append(
            _line(
                left - 4, y_target, WIDTH - 8, y_target, TARGET, stroke_width="2", class_="target"
            )
        )
        label = f"Target {format_duration(target_s)}"
        # Above the line, unless the count written in the row above reaches under it.
        row_above = math.ceil(_target_position(bins, target_s)) - 1
        clear = WIDTH - 8 - _text_width(label) - 4
        above = row_above < 0 or row_above >= len(bins) or count_ends[row_above] < clear
        y_label = y_target - 6 if above else y_target + FONT + 2
        parts.append(_text(WIDTH - 8, y_label, label, anchor="end", weight="600", halo=True))
        late = sum(bins[i].count for i in past_at)
        target = format_duration(target_s)
        if any(b.low_s == target_s for b in bins) or target_s <= bins[0].low_s:
            finding.append(
                f"{late} ({format_percent(late, total)}) waited {target} or longer, the target."
            )
        elif late:
            finding.append(
                f"At least {late} ({format_percent(late, total)}) waited longer than "
                f"the {target} target."
            )
        else:
            inside = labels[min(len(bins) - 1, int(_target_position(bins, target_s)))]
            finding.append(f"The {target} target falls within the waits of {inside}.")
    longest = max(i for i, b in enumerate(bins) if b.count)
    finding.append(f"The longest waits were {labels[longest]} ({bins[longest].count}).")

    rows = [
        (label, str(b.count), format_percent(b.count, total))
        for b, label in zip(bins, labels, strict=True)
    ]
    table = _table(caption, headers, rows)
    return _figure(cid, "histogram", caption, " ".join(finding), height, "".join(parts), table)


def _target_position(bins: Sequence[HistogramBin], target_s: float) -> float:
    """Where the target falls, in rows from the top: 3.0 is the top of the fourth bin,
    3.5 halfway through it (in proportion to its span)."""
    for i, b in enumerate(bins):
        if target_s <= b.low_s:
            return float(i)
        if b.high_s is None or target_s < b.high_s:
            span = (b.high_s - b.low_s) if b.high_s is not None else 0.0
            return i + ((target_s - b.low_s) / span if span > 0 else 0.0)
    return float(len(bins))


# --- daily median and 90th percentile ---------------------------------------------


def daily_waits(
    days: Sequence[DayWaits],
    target_s: float | None,
    *,
    caption: str = "Waits day by day",
    id_prefix: str | None = None,
) -> Markup:
    """The median and the 90th percentile of each day's waits as two lines (solid with
    circles; dashed with squares), the target as a line across, and a gap, shaded, on
    each day without waits."""
    cid = _chart_id(id_prefix)
    headers = ("Day", "Waits", "Median", "90th percentile")
    waited = [d for d in days if _has_waits(d)]
    if not waited:
        return _empty(cid, "daily", caption, NO_WAITS, headers)

    values = [v for d in waited for v in (d.median_s, d.p90_s) if v is not None]
    y_top, step = _duration_scale(max([*values, target_s or 0.0]) * 1.05)
    ticks = [step * i for i in range(round(y_top / step) + 1)]
    height = 348
    left = max(64.0, max(_text_width(format_duration(t)) for t in ticks) + 14)
    right, top, bottom = 16.0, 48.0, height - 60.0
    plot_w, plot_h = WIDTH - left - right, bottom - top

    def y_of(seconds: float) -> float:
        return bottom - plot_h * seconds / y_top

    slot = plot_w / len(days)

    def x_of(i: int) -> float:
        return left + slot * (i + 0.5)

    parts: list[str] = []
    for i, d in enumerate(days):
        if not _has_waits(d):
            parts.append(_rect(left + slot * i, top, slot, plot_h, EMPTY_CELL, ' class="gap"'))
    for tick in ticks:
        y = y_of(tick)
        parts.append(_line(left, y, WIDTH - right, y, GRID, class_="grid"))
        parts.append(_text(left - 8, y + 5, format_duration(tick), anchor="end", fill=MUTED))
    parts.append(_line(left, bottom, WIDTH - right, bottom, MUTED))
    # Every day if they fit, else every few counted back from the latest, which is always named.
    every = max(1, math.ceil(len(days) / max(1, int(plot_w // 52))))
    for i, d in enumerate(days):
        if (len(days) - 1 - i) % every == 0:
            parts.append(
                _text(
                    x_of(i), bottom + 20, WEEKDAYS[d.day.weekday()][:3], anchor="middle", fill=MUTED
                )
            )
            parts.append(
                _text(
                    x_of(i),
                    bottom + 40,
                    f"{d.day.day} {MONTHS[d.day.month - 1]}",
                    anchor="middle",
                    fill=MUTED,
                )
            )
    if target_s is not None:
        y = y_of(target_s)
        parts.append(_line(left, y, WIDTH - right, y, TARGET, stroke_width="2", class_="target"))

    small = len(days) > 62
    for attr, colour, dash, shape in (
        ("median_s", BLUE, None, "circle"),
        ("p90_s", ORANGE, "8 5", "square"),
    ):
        points = [
            (x_of(i), y_of(value))
            if _has_waits(d) and (value := getattr(d, attr)) is not None
            else None
            for i, d in enumerate(days)
        ]
        parts.extend(_series(points, colour, dash, shape, small, attr.removesuffix("_s")))

    parts.append(_legend(target_s, any(not _has_waits(d) for d in days)))
    rows = [
        (
            _day_label(d.day),
            str(d.count),
            format_duration(d.median_s) if _has_waits(d) and d.median_s is not None else "\u2013",
            format_duration(d.p90_s) if _has_waits(d) and d.p90_s is not None else "\u2013",
        )
        for d in days
    ]
    table = _table(caption, headers, rows)
    desc = _daily_finding(days, waited, target_s)
    return _figure(cid, "daily", caption, desc, height, "".join(parts), table)


def _has_waits(day: DayWaits) -> bool:
    return day.count > 0 and day.median_s is not None


def _series(
    points: Sequence[tuple[float, float] | None],
    colour: str,
    dash: str | None,
    shape: str,
    small: bool,
    name: str,
) -> list[str]:
    """A line through the points, broken where a point is missing, with a marker on each."""
    runs: list[list[tuple[float, float]]] = [[]]
    for point in points:
        if point is None:
            if runs[-1]:
                runs.append([])
        else:
            runs[-1].append(point)
    dashed = f' stroke-dasharray="{dash}"' if dash else ""
    parts = []
    for run in runs:
        if len(run) > 1:
            d = " ".join(
                f"{'M' if i == 0 else 'L'}{_num(x)} {_num(y)}" for i, (x, y) in enumerate(run)
            )
            parts.append(
                f'<path class="series-{name}" d="{d}" fill="none" stroke="{colour}" '
                f'stroke-width="2.5"{dashed}/>'
            )
    radius = 2.5 if small else 4.5
    for point in points:
        if point is not None:
            parts.append(_marker(point, colour, shape, radius, name))
    return parts


def _marker(point: tuple[float, float], colour: str, shape: str, radius: float, name: str) -> str:
    x, y = point
    if shape == "circle":
        return (
            f'<circle class="marker-{name}" cx="{_num(x)}" cy="{_num(y)}" r="{_num(radius)}" '
            f'fill="{colour}"/>'
        )
    side = radius * 1.8
    return _rect(x - side / 2, y - side / 2, side, side, colour, f' class="marker-{name}"')


def _legend(target_s: float | None, gaps: bool) -> str:
    parts: list[str] = []
    x, y = 8.0, 20.0

    def item(sample: str, label: str) -> None:
        nonlocal x
        parts.append(sample)
        parts.append(_text(x + 34, y + 5, label))
        x += 34 + _text_width(label) + 18

    item(
        _line(x, y, x + 26, y, BLUE, stroke_width="2.5")
        + _marker((x + 13, y), BLUE, "circle", 4.5, "key"),
        "Median",
    )
    item(
        _line(x, y, x + 26, y, ORANGE, stroke_width="2.5", stroke_dasharray="8 5")
        + _marker((x + 13, y), ORANGE, "square", 4.5, "key"),
        "90th percentile",
    )
    if target_s is not None:
        item(
            _line(x, y, x + 26, y, TARGET, stroke_width="2"), f"Target {format_duration(target_s)}"
        )
    if gaps:
        item(_rect(x + 4, y - 8, 18, 16, EMPTY_CELL, f' stroke="{GRID}"'), "No waits")
    return "".join(parts)


def _daily_finding(
    days: Sequence[DayWaits], waited: Sequence[DayWaits], target_s: float | None
) -> str:
    first, last = waited[0], waited[-1]
    assert first.median_s is not None
    assert last.median_s is not None
    words: list[str] = []
    if len(waited) == 1:
        words.append(f"Median wait {format_duration(first.median_s)} on {_day_label(first.day)}")
    else:
        before, after = format_duration(first.median_s), format_duration(last.median_s)
        if before == after:
            words.append(f"Median wait stayed at {before}")
        else:
            verb = "rose" if last.median_s > first.median_s else "fell"
            words.append(
                f"Median wait {verb} from {before} on {_day_label(first.day)} "
                f"to {after} on {_day_label(last.day)}"
            )
    if target_s is not None:
        over = sum(1 for d in waited if d.p90_s is not None and d.p90_s > target_s)
        words.append(
            f"the 90th percentile exceeded the {format_duration(target_s)} target "
            f"on {over} of {_plural(len(waited), 'day')} with waits"
        )
    quiet = len(days) - len(waited)
    if quiet:
        words.append(f"no waits on {_plural(quiet, 'day')}")
    sentence = "; ".join(words) + "."
    if len(waited) >= 3:
        usual = statistics.median(d.median_s for d in waited[:-1] if d.median_s is not None)
        latest, usual_words = format_duration(last.median_s), format_duration(usual)
        if latest == usual_words:
            compared = f"the same as the usual {usual_words}"
        elif last.median_s > usual:
            compared = f"longer than the usual {usual_words}"
        else:
            compared = f"shorter than the usual {usual_words}"
        sentence += (
            f" The latest day, {_day_label(last.day)}, had a median of {latest}, {compared}."
        )
    return sentence


# --- demand by hour and weekday ---------------------------------------------------


def demand_heatmap(
    cells: Mapping[tuple[int, int], int],
    *,
    caption: str = "Demand by hour and day of the week",
    noun: str = "chat",
    id_prefix: str | None = None,
) -> Markup:
    """A square per (weekday, hour), darker for more ``noun``s, in classes shown in a
    legend; the counts themselves are in the table (and in each square's tooltip)."""
    cid = _chart_id(id_prefix)
    headers = ("Day", *(f"{hour:02d}" for hour in range(24)))
    grid = [[max(0, cells.get((day, hour), 0)) for hour in range(24)] for day in range(7)]
    total = sum(map(sum, grid))
    if total <= 0:
        return _empty(cid, "heatmap", caption, f"No {noun}s in this period", headers)

    left, top, cell_h = 48.0, 30.0, 30.0
    cell_w = (WIDTH - left - 4) / 24
    most = max(map(max, grid))
    classes = _classes(most)
    colours = _class_colours(len(classes))

    parts: list[str] = []
    for hour in range(0, 24, 3):
        parts.append(
            _text(
                left + cell_w * (hour + 0.5), top - 10, f"{hour:02d}", anchor="middle", fill=MUTED
            )
        )
    for day in range(7):
        y = top + day * cell_h
        parts.append(_text(left - 8, y + cell_h / 2 + 5, WEEKDAYS[day][:3], anchor="end"))
        for hour in range(24):
            count = grid[day][hour]
            fill = colours[_class_of(count, classes)] if count else EMPTY_CELL
            tip = f"{WEEKDAYS[day]} {_hours(hour, hour + 1)}: {_plural(count, noun)}"
            parts.append(
                f'<rect x="{_num(left + hour * cell_w)}" y="{_num(y)}" width="{_num(cell_w)}" '
                f'height="{_num(cell_h)}" fill="{fill}" stroke="#ffffff" stroke-width="1.5" '
                f'data-count="{count}"><title>{escape(tip)}</title></rect>'
            )
    grid_bottom = top + 7 * cell_h
    parts.append(_text(left, grid_bottom + 22, "Hour of the day", fill=MUTED))
    # Legend: a swatch per class with its range.
    x, y = left, grid_bottom + 40
    parts.append(_text(x, y + 13, f"{noun.capitalize()}s:", fill=INK))
    x += _text_width(f"{noun}s:") + 12
    swatches = [("0", EMPTY_CELL)]
    low = 1
    for high, colour in zip(classes, colours, strict=True):
        swatches.append((str(high) if high == low else f"{low}\u2013{high}", colour))
        low = high + 1
    for label, colour in swatches:
        needed = 28 + _text_width(label)
        if x + needed > WIDTH - 4:  # wrap onto a second line
            x, y = left + _text_width(f"{noun}s:") + 12, y + 28
        parts.append(_rect(x, y, 22, 18, colour, f' stroke="{MUTED}" stroke-width="0.5"'))
        parts.append(_text(x + 28, y + 14, label))
        x += needed + 16
    height = y + 30

    rows = [(WEEKDAYS[day], *(str(count) for count in grid[day])) for day in range(7)]
    table = _table(caption, headers, rows)
    desc = _heatmap_finding(grid, total, noun)
    return _figure(cid, "heatmap", caption, desc, height, "".join(parts), table)


def _classes(most: int) -> list[int]:
    """The upper bounds of up to five classes of equal width from 1 to ``most``."""
    k = min(len(HEAT), most)
    return sorted({math.ceil(most * (i + 1) / k) for i in range(k)})


def _class_colours(k: int) -> list[str]:
    if k == 1:
        return [HEAT[2]]
    return [HEAT[round(i * (len(HEAT) - 1) / (k - 1))] for i in range(k)]


def _class_of(count: int, classes: Sequence[int]) -> int:
    return next(i for i, high in enumerate(classes) if count <= high)


def _heatmap_finding(grid: Sequence[Sequence[int]], total: int, noun: str) -> str:
    day, hour = max(
        ((d, h) for d in range(7) for h in range(24)), key=lambda dh: grid[dh[0]][dh[1]]
    )
    by_day = [sum(row) for row in grid]
    busiest_day = max(range(7), key=lambda d: by_day[d])
    quietest_day = min(range(7), key=lambda d: by_day[d])
    by_hour = [sum(grid[d][h] for d in range(7)) for h in range(24)]
    start = max(range(21), key=lambda h: sum(by_hour[h : h + 4]))
    stretch = sum(by_hour[start : start + 4])
    return (
        f"{_plural(total, noun)}. Busiest hour: {WEEKDAYS[day]} {_hours(hour, hour + 1)} "
        f"with {grid[day][hour]}. Busiest day: {WEEKDAYS[busiest_day]} ({by_day[busiest_day]}); "
        f"quietest: {WEEKDAYS[quietest_day]} ({by_day[quietest_day]}). "
        f"Across the week the busiest four hours are {_hours(start, start + 4)}, "
        f"with {format_percent(stretch, total)} of {noun}s."
    )


# --- service level against target ---------------------------------------------------


def service_levels(
    rows: Sequence[ServiceLevelRow],
    *,
    caption: str = "Service level: waits claimed within the target",
    id_prefix: str | None = None,
) -> Markup:
    """A bar per row, the share of waits claimed within its target, with a mark at the
    share aimed for and the percentage written; bars short of the aim are orange."""
    cid = _chart_id(id_prefix)
    headers = ("Waits", "Within target", "All waits", "Share within target", "Aim", "Aim met")
    if not rows or all(r.total <= 0 for r in rows):
        return _empty(cid, "service", caption, NO_WAITS, headers)

    left, right, top, row_h = 8.0, 16.0, 8.0, 62.0
    plot_w = WIDTH - left - right
    parts: list[str] = []
    for i, r in enumerate(rows):
        y = top + i * row_h
        value = (
            f"{_share_met(r)} of {r.total} \u00b7 aim {_aim(r)}"
            if r.total > 0
            else f"no waits \u00b7 aim {_aim(r)}"
        )
        parts.append(_text(WIDTH - right, y + 16, value, anchor="end"))
        room = plot_w - _text_width(value) - 16
        parts.append(_text(left, y + 16, _fit(r.label, room), weight="600"))
        bar_y = y + 26
        parts.append(_rect(left, bar_y, plot_w, 22, "#ffffff", f' class="track" stroke="{MUTED}"'))
        if r.total > 0:
            colour = BLUE if _aim_met(r) else ORANGE
            width = plot_w * min(1.0, r.met / r.total)
            parts.append(_rect(left, bar_y, width, 22, colour, ' class="bar"'))
        aim_x = left + plot_w * min(1.0, max(0.0, r.target_share))
        parts.append(
            _line(aim_x, bar_y - 5, aim_x, bar_y + 27, TARGET, stroke_width="3", class_="aim")
        )
    axis_y = top + len(rows) * row_h + 4
    for share in (0, 25, 50, 75, 100):
        x = left + plot_w * share / 100
        anchor = "start" if share == 0 else "end" if share == 100 else "middle"
        parts.append(_text(x, axis_y + 14, f"{share}%", anchor=anchor, fill=MUTED))
    parts.append(_line(left, axis_y + 34, left + 22, axis_y + 34, TARGET, stroke_width="3"))
    parts.append(_text(left + 30, axis_y + 40, "the share aimed for (a mark across each bar)"))
    height = axis_y + 52

    measured = [r for r in rows if r.total > 0]
    met = [r for r in measured if _aim_met(r)]
    missed = sum(r.total - r.met for r in measured)
    words = [
        f"Aim met for {len(met)} of {len(measured)}; {_plural(missed, 'wait')} missed the target"
    ]
    for r in measured:
        status = "" if _aim_met(r) else ", short of the aim"
        words.append(
            f"{r.label} {_share_met(r)} of {r.total} within target (aim {_aim(r)}{status})"
        )
    desc = "; ".join(words) + "."
    table_rows = [
        (
            r.label,
            str(r.met),
            str(r.total),
            _share_met(r),
            _aim(r),
            ("yes" if _aim_met(r) else "no") if r.total > 0 else "\u2013",
        )
        for r in rows
    ]
    table = _table(caption, headers, table_rows)
    return _figure(cid, "service", caption, desc, height, "".join(parts), table)


def _aim(row: ServiceLevelRow) -> str:
    percent = row.target_share * 100
    return f"{percent:.0f}%" if abs(percent - round(percent)) < 1e-9 else f"{percent:.1f}%"


def _share_met(row: ServiceLevelRow) -> str:
    """The share within target, to a tenth where whole percent would seem to contradict
    the aim: 899 of 1000 against 90% reads "89.9%", not a "90%" that seems to meet it."""
    shown = format_percent(row.met, row.total)
    if row.total <= 0 or not shown[0].isdigit():
        return shown
    seems_met = int(shown.removesuffix("%")) >= row.target_share * 100 - 1e-9
    if seems_met == _aim_met(row):
        return shown
    return f"{math.floor(1000 * row.met / row.total) / 10:.1f}%"


def _aim_met(row: ServiceLevelRow) -> bool:
    return row.total > 0 and row.met >= row.target_share * row.total - 1e-9
