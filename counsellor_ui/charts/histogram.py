"""The wait distribution: claimed waits per bin, bars past the target in another colour."""

from __future__ import annotations

import math
from collections.abc import Sequence

from markupsafe import Markup

from counsellor_ui.charts.base import (
    BLUE,
    FONT,
    GRID,
    MUTED,
    NO_WAITS,
    ORANGE,
    TARGET,
    WIDTH,
    HistogramBin,
    bin_label,
    chart_figure,
    chart_id,
    count_scale,
    data_table,
    empty_figure,
    fit_text,
    format_duration,
    format_percent,
    plural,
    svg_line,
    svg_rect,
    svg_text,
    text_width,
)


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
    cid = chart_id(id_prefix)
    headers = ("Wait", "Waits", "Share")
    total = sum(b.count for b in bins)
    if total <= 0:
        return empty_figure(cid, "histogram", caption, NO_WAITS, headers)

    labels = [bin_label(b) for b in bins]
    row_h, bar_h, top = 30, 20, 28
    left = min(WIDTH * 0.4, max(text_width(label) for label in labels) + 16)
    right = 96  # room for "1234 (100%)"
    plot_w = WIDTH - left - right
    height = top + row_h * len(bins) + 50
    most = max(b.count for b in bins)
    past_at = {i for i, b in enumerate(bins) if target_s is not None and b.low_s >= target_s}

    parts: list[str] = []
    # Axis of counts along the bottom.
    axis_top, step = count_scale(most, 4)
    axis_y = top + row_h * len(bins)
    for tick in range(0, axis_top + 1, step):
        x = left + plot_w * tick / axis_top
        parts.append(svg_line(x, top - 4, x, axis_y, GRID))
        parts.append(svg_text(x, axis_y + 20, str(tick), anchor="middle", fill=MUTED))
    parts.append(svg_text(left + plot_w / 2, axis_y + 42, "Number of waits", anchor="middle"))
    count_ends: list[float] = []  # where each row's written count ends
    for i, (b, label) in enumerate(zip(bins, labels, strict=True)):
        y = top + i * row_h
        is_past = i in past_at
        parts.append(
            svg_text(left - 8, y + row_h / 2 + 5, fit_text(label, left - 12), anchor="end")
        )
        width = plot_w * b.count / axis_top
        parts.append(
            svg_rect(
                left,
                y + (row_h - bar_h) / 2,
                width,
                bar_h,
                ORANGE if is_past else BLUE,
                ' class="bar"',
            )
        )
        shown = f"{b.count} ({format_percent(b.count, total)})"
        parts.append(svg_text(left + width + 6, y + row_h / 2 + 5, shown))
        count_ends.append(left + width + 6 + text_width(shown))
    parts.append(svg_line(left, top - 4, left, axis_y, MUTED))

    finding = [f"{plural(total, 'wait')}."]
    busiest = max(range(len(bins)), key=lambda i: bins[i].count)
    finding.append(f"The most common wait was {labels[busiest]} ({bins[busiest].count}).")
    if target_s is not None:
        y_target = top + row_h * _target_position(bins, target_s)
        parts.append(
            svg_line(
                left - 4, y_target, WIDTH - 8, y_target, TARGET, stroke_width="2", class_="target"
            )
        )
        label = f"Target {format_duration(target_s)}"
        # Above the line, unless the count written in the row above reaches under it.
        row_above = math.ceil(_target_position(bins, target_s)) - 1
        clear = WIDTH - 8 - text_width(label) - 4
        above = row_above < 0 or row_above >= len(bins) or count_ends[row_above] < clear
        y_label = y_target - 6 if above else y_target + FONT + 2
        parts.append(svg_text(WIDTH - 8, y_label, label, anchor="end", weight="600", halo=True))
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
    table = data_table(caption, headers, rows)
    return chart_figure(cid, "histogram", caption, " ".join(finding), height, "".join(parts), table)


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
