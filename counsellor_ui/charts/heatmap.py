"""Demand by hour and weekday: queue entries as a heat map."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

from markupsafe import Markup, escape

from counsellor_ui.charts.base import (
    EMPTY_CELL,
    HEAT,
    INK,
    MUTED,
    WEEKDAYS,
    WIDTH,
    chart_figure,
    chart_id,
    data_table,
    empty_figure,
    format_percent,
    hours_label,
    num,
    plural,
    svg_rect,
    svg_text,
    text_width,
)


def demand_heatmap(
    cells: Mapping[tuple[int, int], int],
    *,
    caption: str = "Demand by hour and day of the week",
    noun: str = "chat",
    id_prefix: str | None = None,
) -> Markup:
    """A square per (weekday, hour), darker for more ``noun``s, in classes shown in a
    legend; the counts themselves are in the table (and in each square's tooltip)."""
    cid = chart_id(id_prefix)
    headers = ("Day", *(f"{hour:02d}" for hour in range(24)))
    grid = [[max(0, cells.get((day, hour), 0)) for hour in range(24)] for day in range(7)]
    total = sum(map(sum, grid))
    if total <= 0:
        return empty_figure(cid, "heatmap", caption, f"No {noun}s in this period", headers)

    left, top, cell_h = 48.0, 30.0, 30.0
    cell_w = (WIDTH - left - 4) / 24
    most = max(map(max, grid))
    classes = _classes(most)
    colours = _class_colours(len(classes))

    parts: list[str] = []
    for hour in range(0, 24, 3):
        parts.append(
            svg_text(
                left + cell_w * (hour + 0.5), top - 10, f"{hour:02d}", anchor="middle", fill=MUTED
            )
        )
    for day in range(7):
        y = top + day * cell_h
        parts.append(svg_text(left - 8, y + cell_h / 2 + 5, WEEKDAYS[day][:3], anchor="end"))
        for hour in range(24):
            count = grid[day][hour]
            fill = colours[_class_of(count, classes)] if count else EMPTY_CELL
            tip = f"{WEEKDAYS[day]} {hours_label(hour, hour + 1)}: {plural(count, noun)}"
            parts.append(
                f'<rect x="{num(left + hour * cell_w)}" y="{num(y)}" width="{num(cell_w)}" '
                f'height="{num(cell_h)}" fill="{fill}" stroke="#ffffff" stroke-width="1.5" '
                f'data-count="{count}"><title>{escape(tip)}</title></rect>'
            )
    grid_bottom = top + 7 * cell_h
    parts.append(svg_text(left, grid_bottom + 22, "Hour of the day", fill=MUTED))
    # Legend: a swatch per class with its range.
    x, y = left, grid_bottom + 40
    parts.append(svg_text(x, y + 13, f"{noun.capitalize()}s:", fill=INK))
    x += text_width(f"{noun}s:") + 12
    swatches = [("0", EMPTY_CELL)]
    low = 1
    for high, colour in zip(classes, colours, strict=True):
        swatches.append((str(high) if high == low else f"{low}\u2013{high}", colour))
        low = high + 1
    for label, colour in swatches:
        needed = 28 + text_width(label)
        if x + needed > WIDTH - 4:  # wrap onto a second line
            x, y = left + text_width(f"{noun}s:") + 12, y + 28
        parts.append(svg_rect(x, y, 22, 18, colour, f' stroke="{MUTED}" stroke-width="0.5"'))
        parts.append(svg_text(x + 28, y + 14, label))
        x += needed + 16
    height = y + 30

    rows = [(WEEKDAYS[day], *(str(count) for count in grid[day])) for day in range(7)]
    table = data_table(caption, headers, rows)
    desc = _heatmap_finding(grid, total, noun)
    return chart_figure(cid, "heatmap", caption, desc, height, "".join(parts), table)


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
        f"{plural(total, noun)}. Busiest hour: {WEEKDAYS[day]} {hours_label(hour, hour + 1)} "
        f"with {grid[day][hour]}. Busiest day: {WEEKDAYS[busiest_day]} ({by_day[busiest_day]}); "
        f"quietest: {WEEKDAYS[quietest_day]} ({by_day[quietest_day]}). "
        f"Across the week the busiest four hours are {hours_label(start, start + 4)}, "
        f"with {format_percent(stretch, total)} of {noun}s."
    )
