"""The statistics of a period, computed as docs/statistics.md defines them.

Reads only (but for keeping settled days' cells, gateway/actions/daily_figures.py).
The figures are made from one cell per local day and wait class
(gateway/statistics_figures.py): settled days' cells are kept in the database, today's
and yesterday's are built from the rows, so a year costs about as much as a week.
Percentiles are linear between closest ranks, over every value of the period
(``statistics.quantiles(method="inclusive")``; PostgreSQL's ``percentile_cont``). Days
and hours are local to ``HAVEN_TIMEZONE`` (a day across a change of clocks keeps its
23 or 25 hours).
"""

from __future__ import annotations

from datetime import date
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from gateway.actions.audit import EXPORT, audit
from gateway.actions.daily_figures import cells_of_days
from gateway.actions.waits import WAIT_CLASSES
from gateway.actions.wrapup import RISK_LEVELS
from gateway.local_days import Period, period_of
from gateway.models import Rating, Staff
from gateway.services import Services
from gateway.statistics_figures import (
    BIN_EDGES_S,
    Bin,
    ClassLevel,
    CounsellorRow,
    Day,
    PageSettings,
    RatingFigures,
    SessionFigures,
    Statistics,
    WaitFigures,
    combine,
    percentile,
)

# The figures' types are re-exported: the pages and tests know them from here.
__all__ = [
    "BIN_EDGES_S",
    "Bin",
    "ClassLevel",
    "CounsellorRow",
    "Day",
    "RatingFigures",
    "SessionFigures",
    "Statistics",
    "WaitFigures",
    "percentile",
    "record_export",
    "statistics_for",
]


async def statistics_for(
    svc: Services, *, first: date, last: date, wait_class: str | None = None
) -> Statistics:
    """Every figure of the statistics page for local days ``first``..``last``."""
    settings = svc.settings
    period = period_of(first, last, ZoneInfo(settings.timezone))
    cells = await cells_of_days(svc, first, last)
    async with svc.read() as session:
        ratings = await _ratings(session, period)
        names = {
            int(i): str(n) for i, n in await session.execute(select(Staff.id, Staff.display_name))
        }
    page = PageSettings(
        classes=[wait_class] if wait_class else list(WAIT_CLASSES),
        targets=settings.wait_target_s,
        goal=settings.service_level_goal,
        outcome_order=settings.wrapup_outcomes,
        risk_order=[key for key, _ in reversed(RISK_LEVELS)],
    )
    return combine(period, wait_class, cells, page, names, ratings)


async def _ratings(session: AsyncSession, period: Period) -> RatingFigures:
    r = Rating
    rows = await session.execute(
        select(r.score, func.count())
        .where(r.created_at >= period.start, r.created_at < period.end)
        .group_by(r.score)
        .order_by(r.score)
    )
    by_score = [(int(s), int(n)) for s, n in rows]
    count = sum(n for _, n in by_score)
    mean = sum(s * n for s, n in by_score) / count if count else None
    return RatingFigures(count, mean, by_score)


async def record_export(svc: Services, *, staff_id: int, detail: str) -> None:
    """An export of the statistics, in the audit log: who, when, which period."""
    async with svc.transaction() as tx:
        audit(tx, EXPORT, staff_id=staff_id, detail=detail)
