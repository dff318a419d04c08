"""The statistics page and its CSV export, for supervisors and admins only.

Query parameters: ``period`` (today, yesterday, 7d, 30d, custom), ``from`` and
``to`` (YYYY-MM-DD, inclusive local dates, for custom) and ``priority`` (one wait
class, gateway.settings.WAIT_CLASSES). docs/statistics.md defines every figure.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from markupsafe import Markup
from starlette.requests import Request
from starlette.responses import Response

from counsellor_ui import auth, charts
from counsellor_ui.web import page
from counsellor_ui.wording import describe_reason
from gateway.actions.signin import SignedIn
from gateway.actions.statistics import Statistics, record_export, statistics_for
from gateway.actions.wrapup import RISK_LABELS
from gateway.inputs import InputError, parse_date
from gateway.settings import WAIT_CLASSES

PERIODS = {
    "today": "Today",
    "yesterday": "Yesterday",
    "7d": "Last 7 days",
    "30d": "Last 30 days",
    "custom": "Dates I choose",
}
CLASS_LABELS = {
    "imminent": "Imminent risk",
    "high": "High risk (or crisis with no level)",
    "concern": "Concern",
    "requested": "Asked for a person",
    "other": "Other",
}
# A custom range of more than this many days is refused: a year and a bit is plenty.
MAX_DAYS = 400


@dataclass(frozen=True)
class Choice:
    """What the form asked for, and the local dates it means."""

    period: str
    first: date
    last: date
    wait_class: str | None
    error: str = ""

    def query(self) -> str:
        parts = [f"period={self.period}"]
        if self.period == "custom":
            parts += [f"from={self.first.isoformat()}", f"to={self.last.isoformat()}"]
        if self.wait_class:
            parts.append(f"priority={self.wait_class}")
        return "&".join(parts)


def _date(raw: str) -> date | None:
    # YYYY-MM-DD in ASCII digits, in years the statistics can be about (gateway/inputs).
    try:
        return parse_date(raw, name="date")
    except InputError:
        return None


def parse_choice(params: Any, today: date) -> Choice:
    """The period and class asked for; anything unreadable falls back with a reason."""
    period = params.get("period", "7d")
    key = params.get("priority", "") or None
    error = ""
    if key is not None and key not in WAIT_CLASSES:
        key, error = None, "That priority is not one of the choices, so all are shown."
    if period not in PERIODS:
        period, error = "7d", "That period is not one of the choices: the last 7 days are shown."
    if period == "custom":
        first, last = _date(params.get("from", "")), _date(params.get("to", ""))
        if first is None or last is None:
            error = "Give both dates of a custom range (from and to): the last 7 days are shown."
        elif first > last:
            error = "The first date comes after the last: the last 7 days are shown."
        elif (last - first).days >= MAX_DAYS:
            error = f"A range can be at most {MAX_DAYS} days: the last 7 days are shown."
        else:
            return Choice(period, first, last, key, error)
        period = "7d"
    days = {"today": (0, 0), "yesterday": (1, 1), "7d": (6, 0), "30d": (29, 0)}[period]
    return Choice(period, today - timedelta(days[0]), today - timedelta(days[1]), key, error)


async def _load(request: Request) -> tuple[SignedIn, Choice, Statistics]:
    who = await auth.require(request, supervisor=True)
    svc = auth.runtime_of(request).svc
    today = svc.settings.hours.local(svc.clock()).date()
    choice = parse_choice(request.query_params, today)
    stats = await statistics_for(
        svc, first=choice.first, last=choice.last, wait_class=choice.wait_class
    )
    return who, choice, stats


def _figures(stats: Statistics, target_s: float | None) -> dict[str, Markup]:
    levels = [
        charts.ServiceLevelRow(CLASS_LABELS[lv.key], lv.met, lv.counted, stats.goal)
        for lv in stats.levels
    ]
    return {
        "histogram": charts.wait_histogram(
            [charts.HistogramBin(b.low_s, b.high_s, b.count) for b in stats.bins],
            target_s,
            caption="How long people waited before a counsellor claimed the chat",
        ),
        "daily": charts.daily_waits(
            [charts.DayWaits(d.day, d.median_s, d.p90_s, d.waits) for d in stats.days],
            target_s,
            caption="Median and 90th percentile wait, day by day",
        ),
        "heatmap": charts.demand_heatmap(
            stats.heat, caption="People joining the queue by hour and day of the week", noun="wait"
        ),
        "levels": charts.service_levels(levels),
    }


def reasons_in_words(reasons: list[tuple[str, int]]) -> list[tuple[str, int]]:
    """Escalation reasons as the dashboard words them, counted together when the
    words are the same (``request:typed`` and ``request:bot`` both 'asked for a person')."""
    counts: dict[str, int] = {}
    for reason, count in reasons:
        words = describe_reason(reason, None) or "not recorded"
        counts[words] = counts.get(words, 0) + count
    return sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))


async def statistics_page(request: Request) -> Response:
    who, choice, stats = await _load(request)
    settings = auth.runtime_of(request).svc.settings
    targets = settings.wait_target_s
    target_s = targets[choice.wait_class] if choice.wait_class else None
    return page(
        request,
        "statistics.html",
        who=who,
        supervisor=True,
        choice=choice,
        stats=stats,
        periods=PERIODS,
        class_labels=CLASS_LABELS,
        targets=targets,
        figures=_figures(stats, target_s),
        timezone=settings.timezone,
        short_abandon_s=settings.short_abandon_s,
        weekdays=charts.WEEKDAYS,
        risk_labels=RISK_LABELS,
        reasons=reasons_in_words(stats.reasons),
    )


def _share(part: int, whole: int) -> str:
    return f"{part / whole:.3f}" if whole else ""


def _seconds(value: float | None) -> str:
    return "" if value is None else f"{value:.1f}"


def csv_rows(stats: Statistics, targets: dict[str, float]) -> list[list[str]]:
    """The aggregates, a section per table: a title row, a header row, the rows, a blank.

    Counts and times only: never message text, never a rating's comment.
    """
    w, s = stats.waits, stats.sessions
    sections: list[tuple[str, list[str], list[list[Any]]]] = [
        (
            "Period",
            ["first_day", "last_day", "priority"],
            [[stats.period.first, stats.period.last, stats.wait_class or "all"]],
        ),
        (
            "Waits",
            [
                "waits",
                "claimed",
                "gave_up",
                "still_waiting",
                "median_s",
                "p90_s",
                "p95_s",
                "max_s",
                "abandonment_rate",
                "median_time_to_abandon_s",
            ],
            [
                [
                    w.waits,
                    w.claimed,
                    w.gave_up,
                    w.waiting,
                    _seconds(w.median_s),
                    _seconds(w.p90_s),
                    _seconds(w.p95_s),
                    _seconds(w.max_s),
                    _share(w.gave_up, w.claimed + w.gave_up),
                    _seconds(w.abandon_median_s),
                ]
            ],
        ),
        (
            "Service level",
            ["class", "target_s", "met", "missed", "counted", "share_met", "short_abandoned"],
            [
                [
                    lv.key,
                    f"{targets[lv.key]:g}",
                    lv.met,
                    lv.missed,
                    lv.counted,
                    _share(lv.met, lv.counted),
                    lv.short_abandoned,
                ]
                for lv in stats.levels
            ],
        ),
        (
            "Wait distribution",
            ["from_s", "to_s", "claimed"],
            [
                [f"{b.low_s:g}", "" if b.high_s is None else f"{b.high_s:g}", b.count]
                for b in stats.bins
            ],
        ),
        (
            "Waits by day",
            ["day", "claimed", "median_s", "p90_s"],
            [[d.day, d.waits, _seconds(d.median_s), _seconds(d.p90_s)] for d in stats.days],
        ),
        (
            "Queue entries by hour and weekday",
            ["weekday", *(f"{h:02d}" for h in range(24))],
            [
                [charts.WEEKDAYS[d], *(stats.heat.get((d, h), 0) for h in range(24))]
                for d in range(7)
            ],
        ),
        (
            "Sessions",
            ["started", "bot_only", "escalated", "escalation_rate", "median_handling_s"],
            [
                [
                    s.started,
                    s.bot_only,
                    s.escalated,
                    _share(s.escalated, s.started),
                    _seconds(s.handling_median_s),
                ]
            ],
        ),
        ("Escalated by reason", ["reason", "sessions"], [list(r) for r in stats.reasons]),
        (
            "Per counsellor",
            ["counsellor", "chats", "median_handling_s"],
            [[c.name, c.chats, _seconds(c.handling_median_s)] for c in stats.counsellors],
        ),
        ("Wrap-up outcomes", ["outcome", "wrap_ups"], [list(o) for o in stats.outcomes]),
        ("Assessed risk", ["risk_level", "wrap_ups"], [list(a) for a in stats.assessed]),
        ("Ratings", ["score", "answers"], [list(r) for r in stats.ratings.by_score]),
    ]
    out: list[list[str]] = []
    for title, header, rows in sections:
        out += [[title], header, *[[str(v) for v in row] for row in rows], []]
    return out


def _cell(value: str) -> str:
    """A cell a spreadsheet will not read as a formula (names are typed by staff)."""
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


async def statistics_csv(request: Request) -> Response:
    who, choice, stats = await _load(request)
    svc = auth.runtime_of(request).svc
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    for row in csv_rows(stats, svc.settings.wait_target_s):
        writer.writerow([_cell(v) for v in row])
    await record_export(svc, staff_id=who.staff.id, detail=f"statistics {choice.query()}")
    name = f"statistics-{choice.first.isoformat()}-{choice.last.isoformat()}.csv"
    return Response(
        buffer.getvalue(),
        media_type="text/csv; charset=utf-8",
        headers={
            "Content-Disposition": f'attachment; filename="{name}"',
            "Cache-Control": "no-store",
            "X-Content-Type-Options": "nosniff",
        },
    )
