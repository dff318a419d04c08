"""The statistics page's pictures: well-formed, named, escaped, and true to their numbers.

Each figure is parsed as XML (the markup is well-formed by design), so the tests read
the drawing as a browser would: the bars, lines and markers by their classes and
coordinates, and the table alternative cell by cell.
"""

from __future__ import annotations

import random
import xml.etree.ElementTree as ET
from collections.abc import Callable
from datetime import date, timedelta

import pytest
from markupsafe import Markup

from counsellor_ui.charts import (
    EMPTY_CELL,
    HEAT,
    NO_WAITS,
    ORANGE,
    DayWaits,
    HistogramBin,
    ServiceLevelRow,
    daily_waits,
    demand_heatmap,
    format_duration,
    format_percent,
    service_levels,
    wait_histogram,
)

SVG = "{http://www.w3.org/2000/svg}"
MONDAY = date(2026, 11, 23)
EDGES = (0, 30, 60, 120, 300, 600, 1200, 1800, 3600)
SCRIPT = "<script>alert(1)</script>"


def figure(markup: Markup) -> ET.Element:
    """The figure, checked for what every chart must have, parsed."""
    text = str(markup)
    assert "style=" not in text
    assert "<style" not in text
    root = ET.fromstring(text)
    assert root.tag == "figure"
    assert (root.findtext("figcaption") or "").strip()
    svg = root.find(f"{SVG}svg")
    assert svg is not None
    assert svg.get("role") == "img"
    assert svg.get("viewBox", "").startswith("0 0 ")
    assert svg.get("width") == "100%"
    title_id, desc_id = svg.get("aria-labelledby", "").split()
    title = svg.find(f"{SVG}title")
    desc = svg.find(f"{SVG}desc")
    assert title is not None
    assert desc is not None
    assert title.get("id") == title_id
    assert desc.get("id") == desc_id
    assert (title.text or "").strip()
    assert (desc.text or "").strip()
    for text_node in svg.iter(f"{SVG}text"):
        assert float(text_node.get("font-size", "0")) >= 15
    details = root.find("details")
    assert details is not None
    assert details.findtext("summary") == "Show as a table"
    assert details.find("table") is not None
    return root


def svg_of(root: ET.Element) -> ET.Element:
    svg = root.find(f"{SVG}svg")
    assert svg is not None
    return svg


def desc_of(root: ET.Element) -> str:
    return svg_of(root).findtext(f"{SVG}desc") or ""


def table_rows(root: ET.Element) -> list[list[str]]:
    """The body rows of the table alternative, as text."""
    body = root.find("details/table/tbody")
    assert body is not None
    return [["".join(cell.itertext()) for cell in row] for row in body.iter("tr")]


def drawn(root: ET.Element, tag: str, cls: str) -> list[ET.Element]:
    return [e for e in svg_of(root).iter(f"{SVG}{tag}") if e.get("class") == cls]


def f(element: ET.Element, attribute: str) -> float:
    return float(element.get(attribute, "nan"))


# --- words ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("seconds", "words"),
    [
        (0, "0 s"),
        (45, "45 s"),
        (59.6, "1 min"),
        (150, "2 min 30 s"),
        (180, "3 min"),
        (599.6, "10 min"),
        (754, "13 min"),
        (3599.7, "1 h"),
        (4800, "1 h 20 min"),
        (7200, "2 h"),
    ],
)
def test_durations_read_as_words(seconds: float, words: str) -> None:
    assert format_duration(seconds) == words


@pytest.mark.parametrize(
    ("part", "whole", "shown"),
    [
        (899, 1000, "90%"),
        (14, 22, "64%"),
        (29, 100, "29%"),
        (1, 1000, "under 1%"),
        (995, 1000, "over 99%"),
        (0, 5, "0%"),
        (7, 7, "100%"),
    ],
)
def test_shares_round_but_never_to_none_or_all(part: int, whole: int, shown: str) -> None:
    assert format_percent(part, whole) == shown


def test_a_share_of_nothing_is_a_dash() -> None:
    assert format_percent(0, 0) == "\u2013"


# --- empty periods ---------------------------------------------------------------

EMPTY: dict[str, Callable[[], Markup]] = {
    "histogram without bins": lambda: wait_histogram([], 600),
    "histogram of zeros": lambda: wait_histogram(
        [HistogramBin(0, 60, 0), HistogramBin(60, None, 0)], None
    ),
    "no days": lambda: daily_waits([], 600),
    "days without waits": lambda: daily_waits([DayWaits(MONDAY, None, None, 0)] * 3, None),
    "no demand": lambda: demand_heatmap({}),
    "demand of zeros": lambda: demand_heatmap({(0, 9): 0}),
    "no rows": lambda: service_levels([]),
    "rows without waits": lambda: service_levels([ServiceLevelRow("Crisis", 0, 0, 0.9)]),
}


@pytest.mark.parametrize("name", EMPTY)
def test_an_empty_period_says_so(name: str) -> None:
    root = figure(EMPTY[name]())
    message = "No chats in this period" if "demand" in name else NO_WAITS
    assert [t.text for t in svg_of(root).iter(f"{SVG}text")] == [message]
    assert desc_of(root) == f"{message}."
    # The table keeps its headings, with one row saying there is nothing.
    headings = root.findall("details/table/thead/tr/th")
    assert len(headings) >= 2
    (note,) = root.findall("details/table/tbody/tr/td")
    assert note.get("colspan") == str(len(headings))
    assert note.text == f"{message}."


# --- the wait distribution -----------------------------------------------------


def bins_of(counts: list[int]) -> list[HistogramBin]:
    return [
        HistogramBin(low, high, count)
        for low, high, count in zip(EDGES, (*EDGES[1:], None), counts, strict=True)
    ]


def test_histogram_has_a_bar_per_bin_and_the_same_numbers_in_its_table() -> None:
    counts = [90, 66, 102, 162, 78, 11, 2, 2, 0]
    root = figure(wait_histogram(bins_of(counts), 600))
    bars = drawn(root, "rect", "bar")
    assert len(bars) == len(counts)
    widths = [f(bar, "width") for bar in bars]
    # Bar lengths are in proportion to the counts.
    for width, count in zip(widths, counts, strict=True):
        assert width == pytest.approx(widths[3] * count / 162, abs=0.1)
    assert table_rows(root) == [
        ["under 30 s", "90", "18%"],
        ["30 s to 1 min", "66", "13%"],
        ["1 min to 2 min", "102", "20%"],
        ["2 min to 5 min", "162", "32%"],
        ["5 min to 10 min", "78", "15%"],
        ["10 min to 20 min", "11", "2%"],
        ["20 min to 30 min", "2", "under 1%"],
        ["30 min to 1 h", "2", "under 1%"],
        ["1 h or longer", "0", "0%"],
    ]
    # Bins wholly past the target are drawn in the second colour, the rest in the first.
    assert [bar.get("fill") == ORANGE for bar in bars] == [False] * 5 + [True] * 4
    assert desc_of(root) == (
        "513 waits. The most common wait was 2 min to 5 min (162). "
        "15 (3%) waited 10 min or longer, the target. "
        "The longest waits were 30 min to 1 h (2)."
    )


def test_histogram_target_line_falls_between_the_right_bars() -> None:
    bins = bins_of([5, 5, 5, 5, 5, 5, 5, 5, 5])
    on_an_edge = figure(wait_histogram(bins, 600))
    (line,) = drawn(on_an_edge, "line", "target")
    bars = drawn(on_an_edge, "rect", "bar")
    # 600 s is where "5 min to 10 min" ends and "10 min to 20 min" begins.
    assert f(bars[4], "y") + f(bars[4], "height") < f(line, "y1") == f(line, "y2") < f(bars[5], "y")

    # Halfway through a bin (450 s in 300-600 s) the line crosses the middle of its bar.
    inside = figure(wait_histogram(bins, 450))
    (line,) = drawn(inside, "line", "target")
    bar = drawn(inside, "rect", "bar")[4]
    assert f(line, "y1") == pytest.approx(f(bar, "y") + f(bar, "height") / 2, abs=0.1)
    assert "At least 20 (44%) waited longer than the 7 min 30 s target." in desc_of(inside)


def test_histogram_target_label_keeps_clear_of_a_long_count() -> None:
    # The longest bar ends just above the target (1 min): its label goes under the line.
    bins = bins_of([5, 500, 5, 5, 5, 5, 5, 5, 5])
    for target_s, below in ((60, True), (120, False)):
        root = figure(wait_histogram(bins, target_s))
        (line,) = drawn(root, "line", "target")
        (label,) = [
            t for t in svg_of(root).iter(f"{SVG}text") if (t.text or "").startswith("Target")
        ]
        assert (f(label, "y") > f(line, "y1")) is below
        assert label.get("paint-order") == "stroke"


def test_histogram_without_target_draws_no_target_line() -> None:
    root = figure(wait_histogram(bins_of([1, 0, 0, 0, 0, 0, 0, 0, 0]), None))
    assert drawn(root, "line", "target") == []
    assert desc_of(root) == (
        "1 wait. The most common wait was under 30 s (1). The longest waits were under 30 s (1)."
    )


def test_histogram_escapes_its_caption() -> None:
    text = str(wait_histogram(bins_of([3] * 9), 60, caption=f"Crisis {SCRIPT}"))
    assert SCRIPT not in text
    root = figure(Markup(text))
    assert root.findtext("figcaption") == f"Crisis {SCRIPT}"


# --- daily median and 90th percentile ---------------------------------------------


def week(medians: list[float | None], p90s: list[float | None]) -> list[DayWaits]:
    return [
        DayWaits(MONDAY + timedelta(days=i), median, p90, 0 if median is None else 10 + i)
        for i, (median, p90) in enumerate(zip(medians, p90s, strict=True))
    ]


def test_daily_desc_states_the_trend_and_the_days_over_target() -> None:
    days = week([120, 150, 180, 200, 240, 300, 360], [400, 500, 650, 580, 700, 900, 1100])
    root = figure(daily_waits(days, 600))
    assert desc_of(root) == (
        "Median wait rose from 2 min on Mon 23 Nov to 6 min on Sun 29 Nov; "
        "the 90th percentile exceeded the 10 min target on 4 of 7 days with waits. "
        "The latest day, Sun 29 Nov, had a median of 6 min, longer than the usual 3 min 10 s."
    )
    assert table_rows(root) == [
        [
            f"{['Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun'][i]} {23 + i} Nov",
            str(d.count),
            format_duration(d.median_s or 0),
            format_duration(d.p90_s or 0),
        ]
        for i, d in enumerate(days)
    ]


def test_daily_lines_differ_by_shape_and_dash() -> None:
    root = figure(daily_waits(week([60, 90, 120], [200, 300, 400]), None))
    (median,) = drawn(root, "path", "series-median")
    (p90,) = drawn(root, "path", "series-p90")
    assert median.get("stroke-dasharray") is None
    assert p90.get("stroke-dasharray")
    assert len(drawn(root, "circle", "marker-median")) == 3
    assert len(drawn(root, "rect", "marker-p90")) == 3
    assert drawn(root, "line", "target") == []


def test_a_day_without_waits_leaves_a_gap() -> None:
    days = week([120, 150, None, 200, 240], [400, 500, None, 580, 700])
    root = figure(daily_waits(days, 600))
    (gap,) = drawn(root, "rect", "gap")
    gap_from, gap_to = f(gap, "x"), f(gap, "x") + f(gap, "width")
    for series in ("median", "p90"):
        paths = drawn(root, "path", f"series-{series}")
        assert len(paths) == 2  # Mon-Tue, then Thu-Fri: nothing drawn across Wednesday
        for path in paths:
            xs = [
                float(step[1:].split()[0])
                for step in path.get("d", "").split(" ")
                if step[0] in "ML"
            ]
            assert len(xs) == 2
            assert all(x < gap_from or x > gap_to for x in xs)
    markers = drawn(root, "circle", "marker-median")
    assert len(markers) == 4
    assert all(not gap_from <= f(m, "cx") <= gap_to for m in markers)
    assert table_rows(root)[2] == ["Wed 25 Nov", "0", "\u2013", "\u2013"]
    assert "no waits on 1 day" in desc_of(root)


def test_daily_target_line_and_points_sit_on_the_scale() -> None:
    # The highest value, 1100 s, puts the top of the scale at 20 min, a line every 5 min.
    root = figure(daily_waits(week([300, 420], [900, 1100]), 600))
    grid = drawn(root, "line", "grid")
    ticks = [t.text for t in svg_of(root).iter(f"{SVG}text") if t.get("text-anchor") == "end"]
    assert ticks == ["0 s", "5 min", "10 min", "15 min", "20 min"]
    y_at = {tick: f(line, "y1") for tick, line in zip(ticks, grid, strict=True)}
    (target,) = drawn(root, "line", "target")
    assert f(target, "y1") == f(target, "y2") == y_at["10 min"]
    first_median = drawn(root, "circle", "marker-median")[0]
    assert f(first_median, "cy") == y_at["5 min"]
    # 900 s is halfway between the 10 and 20 minute lines.
    first_p90 = drawn(root, "rect", "marker-p90")[0]
    centre = f(first_p90, "y") + f(first_p90, "height") / 2
    assert centre == pytest.approx((y_at["10 min"] + y_at["20 min"]) / 2, abs=0.1)


def test_one_day_is_a_point_not_a_line() -> None:
    root = figure(daily_waits(week([45], [80]), 60))
    assert drawn(root, "path", "series-median") == []
    assert len(drawn(root, "circle", "marker-median")) == 1
    assert desc_of(root) == (
        "Median wait 45 s on Mon 23 Nov; the 90th percentile exceeded the 1 min target "
        "on 1 of 1 day with waits."
    )


def test_the_latest_day_is_always_named_and_long_ticks_fit() -> None:
    days = [DayWaits(MONDAY + timedelta(days=i), 1800, 5400, 3) for i in range(30)]
    root = figure(daily_waits(days, 3600))
    texts = [t for t in svg_of(root).iter(f"{SVG}text")]
    assert "22 Dec" in [t.text for t in texts]  # the 30th day
    assert "23 Nov" not in [t.text for t in texts]  # days are named every few, back from it
    ticks = [t for t in texts if t.get("text-anchor") == "end"]
    assert [t.text for t in ticks] == ["0 s", "20 min", "40 min", "1 h", "1 h 20 min", "1 h 40 min"]
    # The widest tick label, right-aligned left of the plot, starts inside the picture.
    grid_left = min(f(line, "x1") for line in drawn(root, "line", "grid"))
    assert grid_left - 8 - len("1 h 20 min") * 0.6 * 16 >= 0


def test_a_year_of_days_renders_with_small_markers() -> None:
    rng = random.Random(3)
    days = [
        DayWaits(MONDAY + timedelta(days=i), m, m * 3, 5)
        for i in range(365)
        if (m := rng.uniform(30, 600))
    ]
    root = figure(daily_waits(days, 600))
    markers = drawn(root, "circle", "marker-median")
    assert len(markers) == 365
    assert {m.get("r") for m in markers} == {"2.5"}
    assert len(table_rows(root)) == 365


# --- demand by hour and weekday ---------------------------------------------------


def test_heatmap_counts_in_cells_table_and_a_light_to_dark_scale() -> None:
    rng = random.Random(11)
    cells = {(day, hour): rng.randint(0, 40) for day in range(7) for hour in range(24)}
    cells[2, 14] = 0
    root = figure(demand_heatmap(cells))
    rects = [r for r in svg_of(root).iter(f"{SVG}rect") if r.get("data-count") is not None]
    assert len(rects) == 7 * 24
    assert [int(r.get("data-count", "-1")) for r in rects] == [
        cells[day, hour] for day in range(7) for hour in range(24)
    ]
    # Each square's tooltip says its count, and darker always means more.
    assert rects[0].findtext(f"{SVG}title") == f"Monday 00:00\u201301:00: {cells[0, 0]} chats"
    shades = (EMPTY_CELL, *HEAT)
    by_count = sorted(rects, key=lambda r: int(r.get("data-count", "0")))
    levels = [shades.index(r.get("fill", "")) for r in by_count]
    assert levels == sorted(levels)
    assert rects[2 * 24 + 14].get("fill") == EMPTY_CELL
    # The table has a row per weekday and a column per hour, with the same counts.
    headings = ["".join(th.itertext()) for th in root.findall("details/table/thead/tr/th")]
    assert headings == ["Day", *(f"{h:02d}" for h in range(24))]
    weekdays = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]
    assert table_rows(root) == [
        [weekdays[day], *(str(cells[day, hour]) for hour in range(24))] for day in range(7)
    ]
    legend = [t.text for t in svg_of(root).iter(f"{SVG}text")][-7:]
    assert legend[0] == "Chats:"
    assert legend[1] == "0"
    assert legend[-1].endswith("\u201340")


def test_heatmap_desc_names_the_busiest_times() -> None:
    cells = {(0, 9): 14, (0, 10): 6, (4, 20): 3, (4, 21): 3, (4, 22): 3, (4, 23): 3}
    root = figure(demand_heatmap(cells))
    assert desc_of(root) == (
        "32 chats. Busiest hour: Monday 09:00\u201310:00 with 14. Busiest day: Monday (20); "
        "quietest: Tuesday (0). Across the week the busiest four hours are "
        "07:00\u201311:00, with 62% of chats."
    )
    legend = [t.text for t in svg_of(root).iter(f"{SVG}text")][-6:]
    assert legend == ["0", "1\u20133", "4\u20136", "7\u20139", "10\u201312", "13\u201314"]


def test_heatmap_legend_of_large_counts_wraps_inside_the_picture() -> None:
    cells = {(day, hour): 400 * day + 17 * hour for day in range(7) for hour in range(24)}
    root = figure(demand_heatmap(cells, noun="escalation"))
    width, height = map(float, svg_of(root).get("viewBox", "").split()[2:])
    swatches = [r for r in svg_of(root).iter(f"{SVG}rect") if r.get("data-count") is None]
    assert len(swatches) == 6
    assert len({f(r, "y") for r in swatches}) == 2
    for text in list(svg_of(root).iter(f"{SVG}text"))[-6:]:
        assert f(text, "x") + len(text.text or "") * 0.6 * 16 <= width
        assert f(text, "y") <= height
    # Five classes up to the largest count, 2791: the last from 2234.
    assert [t.text for t in svg_of(root).iter(f"{SVG}text")][-1] == "2234\u20132791"


def test_heatmap_with_few_counts_has_a_class_per_count() -> None:
    root = figure(demand_heatmap({(5, 10): 1, (5, 11): 3, (6, 11): 2}, noun="escalation"))
    legend = [t.text for t in svg_of(root).iter(f"{SVG}text")][-5:]
    assert legend == ["Escalations:", "0", "1", "2", "3"]
    fills = {r.get("data-count"): r.get("fill") for r in svg_of(root).iter(f"{SVG}rect")}
    assert len({fills["0"], fills["1"], fills["2"], fills["3"]}) == 4
    assert desc_of(root).startswith(
        "6 escalations. Busiest hour: Saturday 11:00\u201312:00 with 3."
    )


# --- service level against target -----------------------------------------------


def test_service_levels_bars_aims_and_table() -> None:
    rows = [
        ServiceLevelRow("Crisis (1 min)", 41, 44, 0.9),
        ServiceLevelRow("Other (10 min)", 120, 160, 0.8),
        ServiceLevelRow(f"Callback {SCRIPT}", 0, 0, 0.95),
    ]
    text = str(service_levels(rows))
    assert SCRIPT not in text
    assert "Callback &lt;script&gt;" in text
    root = figure(Markup(text))
    tracks = drawn(root, "rect", "track")
    aims = drawn(root, "line", "aim")
    bars = drawn(root, "rect", "bar")
    assert len(tracks) == len(aims) == 3
    assert len(bars) == 2  # no bar where there were no waits
    for track, aim, share in zip(tracks, aims, (0.9, 0.8, 0.95), strict=True):
        assert f(aim, "x1") == pytest.approx(f(track, "x") + f(track, "width") * share, abs=0.1)
    for track, bar, (met, total) in zip(tracks[:2], bars, ((41, 44), (120, 160)), strict=True):
        assert f(bar, "width") == pytest.approx(f(track, "width") * met / total, abs=0.1)
    assert [bar.get("fill") == ORANGE for bar in bars] == [False, True]
    written = [t.text for t in svg_of(root).iter(f"{SVG}text")]
    assert "93% of 44 \u00b7 aim 90%" in written
    assert "75% of 160 \u00b7 aim 80%" in written
    assert "no waits \u00b7 aim 95%" in written
    assert table_rows(root) == [
        ["Crisis (1 min)", "41", "44", "93%", "90%", "yes"],
        ["Other (10 min)", "120", "160", "75%", "80%", "no"],
        [f"Callback {SCRIPT}", "0", "0", "\u2013", "95%", "\u2013"],
    ]
    assert desc_of(root) == (
        "Aim met for 1 of 2; 43 waits missed the target; "
        "Crisis (1 min) 93% of 44 within target (aim 90%); "
        "Other (10 min) 75% of 160 within target (aim 80%, short of the aim)."
    )


def test_service_level_exactly_on_the_aim_meets_it() -> None:
    root = figure(service_levels([ServiceLevelRow("Requested", 9, 10, 0.9)]))
    assert table_rows(root) == [["Requested", "9", "10", "90%", "90%", "yes"]]


def test_a_share_just_short_of_the_aim_never_reads_as_the_aim() -> None:
    rows = [ServiceLevelRow("Requested", 899, 1000, 0.9), ServiceLevelRow("Other", 894, 1000, 0.9)]
    root = figure(service_levels(rows))
    # 89.9% would round to the aim, so it is written to a tenth; 89.4% rounds below it.
    assert table_rows(root) == [
        ["Requested", "899", "1000", "89.9%", "90%", "no"],
        ["Other", "894", "1000", "89%", "90%", "no"],
    ]
    written = [t.text for t in svg_of(root).iter(f"{SVG}text")]
    assert "89.9% of 1000 \u00b7 aim 90%" in written


def test_a_long_label_is_cut_in_the_picture_and_whole_in_the_table() -> None:
    label = "Requested a person after the bot's breathing exercise " * 3
    root = figure(service_levels([ServiceLevelRow(label, 5, 10, 0.9)]))
    shown = [t.text or "" for t in svg_of(root).iter(f"{SVG}text") if t.get("font-weight")]
    assert shown[0].endswith("\u2026")
    assert len(shown[0]) < len(label)
    assert table_rows(root)[0][0] == label


# --- ids -----------------------------------------------------------------------


def test_every_chart_on_a_page_has_its_own_ids() -> None:
    page = [
        wait_histogram(bins_of([1] * 9), 600),
        wait_histogram(bins_of([1] * 9), 600),
        daily_waits(week([60], [90]), None),
        demand_heatmap({(0, 0): 1}),
        service_levels([ServiceLevelRow("Crisis", 1, 1, 0.9)]),
        daily_waits([], None),
    ]
    ids = [e.get("id") for chart in page for e in ET.fromstring(str(chart)).iter() if e.get("id")]
    assert len(ids) == len(set(ids)) == 3 * len(page)


def test_a_prefix_names_the_ids() -> None:
    root = figure(daily_waits(week([60], [90]), None, id_prefix="crisis waits"))
    assert root.get("id") == "crisis-waits"
    assert svg_of(root).get("aria-labelledby") == "crisis-waits-title crisis-waits-desc"
