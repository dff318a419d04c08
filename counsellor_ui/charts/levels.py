"""Service level against target: the share of waits within each class's target."""

from __future__ import annotations

import math
from collections.abc import Sequence

from markupsafe import Markup

from counsellor_ui.charts.base import (
    BLUE,
    MUTED,
    NO_WAITS,
    ORANGE,
    TARGET,
    WIDTH,
    ServiceLevelRow,
    chart_figure,
    chart_id,
    data_table,
    empty_figure,
    fit_text,
    format_percent,
    plural,
    svg_line,
    svg_rect,
    svg_text,
    text_width,
)


def service_levels(
    rows: Sequence[ServiceLevelRow],
    *,
    caption: str = "Service level: waits claimed within the target",
    id_prefix: str | None = None,
) -> Markup:
    """A bar per row, the share of waits claimed within its target, with a mark at the
    share aimed for and the percentage written; bars short of the aim are orange."""
    cid = chart_id(id_prefix)
    headers = ("Waits", "Within target", "All waits", "Share within target", "Aim", "Aim met")
    if not rows or all(r.total <= 0 for r in rows):
        return empty_figure(cid, "service", caption, NO_WAITS, headers)

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
        parts.append(svg_text(WIDTH - right, y + 16, value, anchor="end"))
        room = plot_w - text_width(value) - 16
        parts.append(svg_text(left, y + 16, fit_text(r.label, room), weight="600"))
        bar_y = y + 26
        parts.append(
            svg_rect(left, bar_y, plot_w, 22, "#ffffff", f' class="track" stroke="{MUTED}"')
        )
        if r.total > 0:
            colour = BLUE if _aim_met(r) else ORANGE
            width = plot_w * min(1.0, r.met / r.total)
            parts.append(svg_rect(left, bar_y, width, 22, colour, ' class="bar"'))
        aim_x = left + plot_w * min(1.0, max(0.0, r.target_share))
        parts.append(
            svg_line(aim_x, bar_y - 5, aim_x, bar_y + 27, TARGET, stroke_width="3", class_="aim")
        )
    axis_y = top + len(rows) * row_h + 4
    for share in (0, 25, 50, 75, 100):
        x = left + plot_w * share / 100
        anchor = "start" if share == 0 else "end" if share == 100 else "middle"
        parts.append(svg_text(x, axis_y + 14, f"{share}%", anchor=anchor, fill=MUTED))
    parts.append(svg_line(left, axis_y + 34, left + 22, axis_y + 34, TARGET, stroke_width="3"))
    parts.append(svg_text(left + 30, axis_y + 40, "the share aimed for (a mark across each bar)"))
    height = axis_y + 52

    measured = [r for r in rows if r.total > 0]
    met = [r for r in measured if _aim_met(r)]
    missed = sum(r.total - r.met for r in measured)
    words = [
        f"Aim met for {len(met)} of {len(measured)}; {plural(missed, 'wait')} missed the target"
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
    table = data_table(caption, headers, table_rows)
    return chart_figure(cid, "service", caption, desc, height, "".join(parts), table)


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
