"""The queue's order rule, including ageing, as properties."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.queue_order import QueueEntry, order_queue
from gateway.types import Priority

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
AGEING = 900.0


def entry(sid: int, priority: Priority, minutes_ago: float, front: bool = False) -> QueueEntry:
    return QueueEntry(sid, priority, NOW - timedelta(minutes=minutes_ago), front)


def test_crisis_first_then_requested_then_other_oldest_first() -> None:
    entries = [
        entry(1, Priority.OTHER, 5),
        entry(2, Priority.REQUESTED, 1),
        entry(3, Priority.CRISIS, 0.5),
        entry(4, Priority.REQUESTED, 3),
        entry(5, Priority.CRISIS, 2),
    ]
    assert [e.session_id for e in order_queue(entries, NOW, AGEING)] == [5, 3, 4, 2, 1]


def test_other_ages_into_requested_but_never_past_crisis() -> None:
    old_other = entry(1, Priority.OTHER, 20)  # aged one level after 15 min
    new_requested = entry(2, Priority.REQUESTED, 1)
    new_crisis = entry(3, Priority.CRISIS, 0)
    ordered = order_queue([new_requested, old_other, new_crisis], NOW, AGEING)
    assert [e.session_id for e in ordered] == [3, 1, 2]


def test_released_sessions_go_to_the_front() -> None:
    ordered = order_queue(
        [entry(1, Priority.CRISIS, 10), entry(2, Priority.REQUESTED, 1, front=True)], NOW, AGEING
    )
    assert ordered[0].session_id == 2


entries_st = st.lists(
    st.builds(
        QueueEntry,
        session_id=st.integers(1, 10_000),
        priority=st.sampled_from(list(Priority)),
        queued_at=st.integers(0, 7200).map(lambda s: NOW - timedelta(seconds=s)),
        front=st.booleans(),
    ),
    max_size=30,
    unique_by=lambda e: e.session_id,
)


@settings(max_examples=200)
@given(entries_st)
def test_order_is_a_permutation_and_crisis_is_never_behind_a_non_crisis(
    entries: list[QueueEntry],
) -> None:
    ordered = order_queue(entries, NOW, AGEING)
    assert sorted(e.session_id for e in ordered) == sorted(e.session_id for e in entries)
    rest = [e for e in ordered if not e.front]
    seen_non_crisis = False
    for e in rest:
        if e.priority != Priority.CRISIS:
            seen_non_crisis = True
        else:
            assert not seen_non_crisis


@settings(max_examples=200)
@given(entries_st)
def test_within_a_priority_the_longest_waiting_goes_first(entries: list[QueueEntry]) -> None:
    ordered = [e for e in order_queue(entries, NOW, AGEING) if not e.front]
    crisis = [e.queued_at for e in ordered if e.priority == Priority.CRISIS]
    assert crisis == sorted(crisis)


def risky(sid: int, rank: int, minutes_ago: float, front: bool = False) -> QueueEntry:
    return QueueEntry(sid, Priority.CRISIS, NOW - timedelta(minutes=minutes_ago), front, rank)


def test_crisis_sessions_by_level_then_by_wait() -> None:
    entries = [
        risky(1, 1, 30),  # concern, waiting longest
        risky(2, 2, 5),  # high
        risky(3, 3, 0.1),  # imminent, just arrived
        risky(4, 2, 10),  # high, waiting longer
        entry(5, Priority.REQUESTED, 60),
    ]
    assert [e.session_id for e in order_queue(entries, NOW, AGEING)] == [3, 4, 2, 1, 5]


def test_nothing_overtakes_imminent_not_even_a_released_session() -> None:
    entries = [risky(1, 2, 30, front=True), risky(2, 3, 0), entry(3, Priority.REQUESTED, 1, True)]
    assert [e.session_id for e in order_queue(entries, NOW, AGEING)] == [2, 1, 3]


@given(
    st.lists(
        st.tuples(st.integers(0, 3), st.floats(0, 600), st.booleans()), min_size=1, max_size=12
    )
)
@settings(max_examples=200, deadline=None)
def test_every_imminent_session_comes_before_everything_else(
    rows: list[tuple[int, float, bool]],
) -> None:
    entries = [
        risky(i, rank, minutes, front) if rank else entry(i, Priority.REQUESTED, minutes, front)
        for i, (rank, minutes, front) in enumerate(rows)
    ]
    ranks = [e.risk_rank for e in order_queue(entries, NOW, AGEING)]
    imminent = ranks.count(3)
    assert ranks[:imminent] == [3] * imminent
