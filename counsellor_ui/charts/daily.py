"""Daily median and 90th percentile of the waits across the period, with the target line."""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence

from markupsafe import Markup

from counsellor_ui.charts.base import (
    BLUE,
    EMPTY_CELL,
    GRID,
    MONTHS,
    MUTED,
    NO_WAITS,
    ORANGE,
    TARGET,
    WEEKDAYS,
    WIDTH,
    DayWaits,
    chart_figure,
    chart_id,
    data_table,
    day_label,
    duration_scale,
    empty_figure,
    format_duration,
    num,
    plural,
    svg_line,
    svg_rect,
    svg_text,
    text_width,
)


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
    cid = chart_id(id_prefix)
    headers = ("Day", "Waits", "Median", "90th percentile")
    waited = [d for d in days if _has_waits(d)]
    if not waited:
        return empty_figure(cid, "daily", caption, NO_WAITS, headers)

    values = [v for d in waited for v in (d.median_s, d.p90_s) if v is not None]
    y_top, step = duration_scale(max([*values, target_s or 0.0]) * 1.05)
    ticks = [step * i for i in range(round(y_top / step) + 1)]
    height = 348
    left = max(64.0, max(text_width(format_duration(t)) for t in ticks) + 14)
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
            parts.append(svg_rect(left + slot * i, top, slot, plot_h, EMPTY_CELL, ' class="gap"'))
    for tick in ticks:
        y = y_of(tick)
        parts.append(svg_line(left, y, WIDTH - right, y, GRID, class_="grid"))
        parts.append(svg_text(left - 8, y + 5, format_duration(tick), anchor="end", fill=MUTED))
    parts.append(svg_line(left, bottom, WIDTH - right, bottom, MUTED))
    # Every day if they fit, else every few counted back from the latest, which is always named.
    every = max(1, math.ceil(len(days) / max(1, int(plot_w // 52))))
    for i, d in enumerate(days):
        if (len(days) - 1 - i) % every == 0:
            parts.append(
                svg_text(
                    x_of(i), bottom + 20, WEEKDAYS[d.day.weekday()][:3], anchor="middle", fill=MUTED
                )
            )
            parts.append(
                svg_text(
                    x_of(i),
                    bottom + 40,
                    f"{d.day.day} {MONTHS[d.day.month - 1]}",
                    anchor="middle",
                    fill=MUTED,
                )
            )
    if target_s is not None:
        y = y_of(target_s)
        parts.append(svg_line(left, y, WIDTH - right, y, TARGET, stroke_width="2", class_="target"))

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
            day_label(d.day),
            str(d.count),
            format_duration(d.median_s) if _has_waits(d) and d.median_s is not None else "\u2013",
            format_duration(d.p90_s) if _has_waits(d) and d.p90_s is not None else "\u2013",
        )
        for d in days
    ]
    table = data_table(caption, headers, rows)
    desc = _daily_finding(days, waited, target_s)
    return chart_figure(cid, "daily", caption, desc, height, "".join(parts), table)


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
                f"{'M' if i == 0 else 'L'}{num(x)} {num(y)}" for i, (x, y) in enumerate(run)
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
            f'<circle class="marker-{name}" cx="{num(x)}" cy="{num(y)}" r="{num(radius)}" '
            f'fill="{colour}"/>'
        )
    side = radius * 1.8
    return svg_rect(x - side / 2, y - side / 2, side, side, colour, f' class="marker-{name}"')


def _legend(target_s: float | None, gaps: bool) -> str:
    parts: list[str] = []
    x, y = 8.0, 20.0

    def item(sample: str, label: str) -> None:
        nonlocal x
        parts.append(sample)
        parts.append(svg_text(x + 34, y + 5, label))
        x += 34 + text_width(label) + 18

    item(
        svg_line(x, y, x + 26, y, BLUE, stroke_width="2.5")
        + _marker((x + 13, y), BLUE, "circle", 4.5, "key"),
        "Median",
    )
    item(
        svg_line(x, y, x + 26, y, ORANGE, stroke_width="2.5", stroke_dasharray="8 5")
        + _marker((x + 13, y), ORANGE, "square", 4.5, "key"),
        "90th percentile",
    )
    if target_s is not None:
        item(
            svg_line(x, y, x + 26, y, TARGET, stroke_width="2"),
            f"Target {format_duration(target_s)}",
        )
    if gaps:
        item(svg_rect(x + 4, y - 8, 18, 16, EMPTY_CELL, f' stroke="{GRID}"'), "No waits")
    return "".join(parts)


def _daily_finding(
    days: Sequence[DayWaits], waited: Sequence[DayWaits], target_s: float | None
) -> str:
    first, last = waited[0], waited[-1]
    assert first.median_s is not None
    assert last.median_s is not None
    words: list[str] = []
    if len(waited) == 1:
        words.append(f"Median wait {format_duration(first.median_s)} on {day_label(first.day)}")
    else:
        before, after = format_duration(first.median_s), format_duration(last.median_s)
        if before == after:
            words.append(f"Median wait stayed at {before}")
        else:
            verb = "rose" if last.median_s > first.median_s else "fell"
            words.append(
                f"Median wait {verb} from {before} on {day_label(first.day)} "
                f"to {after} on {day_label(last.day)}"
            )
    if target_s is not None:
        over = sum(1 for d in waited if d.p90_s is not None and d.p90_s > target_s)
        words.append(
            f"the 90th percentile exceeded the {format_duration(target_s)} target "
            f"on {over} of {plural(len(waited), 'day')} with waits"
        )
    quiet = len(days) - len(waited)
    if quiet:
        words.append(f"no waits on {plural(quiet, 'day')}")
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
        sentence += f" The latest day, {day_label(last.day)}, had a median of {latest}, {compared}."
    return sentence
