"""Conversations with the default script, step by step."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot_engine import (
    AskCounsellor,
    BotEngine,
    Context,
    ConversationState,
    End,
    EngineConfig,
    Escalate,
    Output,
    Priority,
    Reply,
    ScheduleCheckin,
    SessionEvent,
    StepResult,
    TimerFired,
    TypingSpeed,
    UserMessage,
)
from tests.bot_engine.support import NOW

MOODS = [
    "happy", "excited", "grateful", "calm", "okay", "tired", "sad", "lonely", "stressed",
    "worried", "anxious", "angry", "frustrated", "overwhelmed", "numb",
]  # fmt: skip


def replies(result: StepResult) -> list[Reply]:
    return [o for o in result.outputs if isinstance(o, Reply)]


def of_type(result: StepResult, kind: type[Output]) -> list[Output]:
    return [o for o in result.outputs if isinstance(o, kind)]


def started(engine: BotEngine, locale: str = "en") -> ConversationState:
    return engine.step(engine.new_state(locale), SessionEvent("started"), NOW).state


def consented(engine: BotEngine, locale: str = "en") -> ConversationState:
    return engine.step(started(engine, locale), UserMessage("Yes, continue", "yes"), NOW).state


def test_greeting_says_what_the_service_is_and_asks_consent(engine: BotEngine) -> None:
    result = engine.step(engine.new_state("en"), SessionEvent("started"), NOW)
    text = " ".join(r.text for r in replies(result)).lower()
    for words in ["bot", "counsellor", "emergency", "medical advice", "delete", "name", "999"]:
        assert words in text
    buttons = replies(result)[-1].quick_replies
    assert [(b.label, b.value) for b in buttons] == [("Yes, continue", "yes"), ("No thanks", "no")]
    assert not result.state.consented
    assert not of_type(result, ScheduleCheckin)


def test_declining_gives_helplines_and_erases(engine: BotEngine) -> None:
    result = engine.step(started(engine), UserMessage("No thanks", "no"), NOW)
    assert "116 123" in " ".join(r.text for r in replies(result))
    assert result.outputs[-1] == End(erase=True)
    assert result.state.phase == "ended"
    after = engine.step(result.state, UserMessage("hello"), NOW)
    assert after.outputs == ()
    assert engine.step(result.state, SessionEvent("returned"), NOW).outputs == ()


@pytest.mark.parametrize("mood", MOODS)
def test_every_mood_gets_two_parts_by_button(engine: BotEngine, mood: str) -> None:
    result = engine.step(consented(engine), UserMessage(mood.title(), mood), NOW)
    parts = replies(result)
    assert len(parts) == 2
    assert parts[-1].quick_replies
    assert result.state.mood == mood
    assert result.state.node == f"mood_{mood}"


@pytest.mark.parametrize(
    ("typed", "mood"),
    [
        ("i'm really happy", "happy"),
        ("so excited!!", "excited"),
        ("feeling thankful", "grateful"),
        ("pretty relaxed", "calm"),
        ("meh", "okay"),
        ("exhausted", "tired"),
        ("feeling low", "sad"),
        ("so alone", "lonely"),
        ("under pressure", "stressed"),
        ("scared about tomorrow", "worried"),
        ("panicking", "anxious"),
        ("furious", "angry"),
        ("stuck and irritated", "frustrated"),
        ("swamped", "overwhelmed"),
        ("empty inside", "numb"),
        ("not okay", "sad"),
    ],
)
def test_moods_by_typed_words(engine: BotEngine, typed: str, mood: str) -> None:
    result = engine.step(consented(engine), UserMessage(typed), NOW)
    assert result.state.mood == mood


def escalation_of(result: StepResult) -> tuple[Priority, str, str]:
    first = result.outputs[0]
    assert isinstance(first, Escalate)
    return first.priority, first.reason, first.matched


def test_crisis_before_consent(engine: BotEngine) -> None:
    result = engine.step(started(engine), UserMessage("i want to kill myself"), NOW)
    assert escalation_of(result) == (Priority.CRISIS, "crisis:suicide", "kill myself")
    text = " ".join(r.text for r in replies(result))
    for words in ["glad", "care", "counsellor", "116 123", "85258", "999", "danger right now"]:
        assert words in text
    # Told in the same reply that the conversation is kept, so the counsellor can read it.
    assert "we keep this conversation" in replies(result)[-1].text
    assert replies(result)[-1].invites_text
    assert result.state.phase == "escalated"
    assert not result.state.consented
    assert not of_type(result, ScheduleCheckin)


def test_crisis_escalates_whatever_the_context(engine: BotEngine) -> None:
    closed = Context(counsellors_available=0, service_open=False)
    result = engine.step(consented(engine), UserMessage("I want to die"), NOW, closed)
    assert escalation_of(result) == (Priority.CRISIS, "crisis:wish_to_die", "want to die")


def test_a_quick_reply_value_cannot_hide_a_crisis(engine: BotEngine) -> None:
    result = engine.step(consented(engine), UserMessage("i took 40 pills", "happy"), NOW)
    assert escalation_of(result)[:2] == (Priority.CRISIS, "crisis:method:overdose")
    assert "40 pills" in escalation_of(result)[2]


def test_request_first_thing_asks_consent_in_one_step_then_queues(engine: BotEngine) -> None:
    asked = engine.step(started(engine), UserMessage("is there a human I can talk to?"), NOW)
    assert not of_type(asked, Escalate)
    assert asked.state.node == "counsellor_consent"
    (question,) = replies(asked)
    assert "we keep this conversation" in question.text
    assert [b.value for b in question.quick_replies] == ["yes", "no"]
    yes = engine.step(asked.state, UserMessage("yes"), NOW)
    assert escalation_of(yes) == (Priority.REQUESTED, "request:typed", "yes")
    assert yes.state.consented and yes.state.node == "counsellor_available"
    no = engine.step(asked.state, UserMessage("No thanks", "no"), NOW)
    assert not of_type(no, Escalate)
    assert no.outputs[-1] == End(erase=True)


@pytest.mark.parametrize(
    ("context", "node"),
    [
        (Context(), "counsellor_available"),
        (Context(counsellors_available=3), "counsellor_available"),
        (Context(counsellors_available=0), "counsellor_unavailable"),
        (Context(counsellors_available=2, service_open=False), "service_closed"),
    ],
)
def test_asking_for_a_person_is_honest(engine: BotEngine, context: Context, node: str) -> None:
    result = engine.step(consented(engine), AskCounsellor(), NOW, context)
    assert result.state.node == node
    escalated = bool(of_type(result, Escalate))
    assert escalated == (node == "counsellor_available")
    if escalated:
        assert result.outputs[0] == Escalate(Priority.REQUESTED, "request:button", "ask_counsellor")
        assert not of_type(result, ScheduleCheckin)
    else:
        last = replies(result)[-1]
        assert [b.value for b in last.quick_replies] == ["wait", "bot", "helplines"]
        assert "116 123" in " ".join(r.text for r in replies(result))
        assert of_type(result, ScheduleCheckin)


def test_waiting_anyway_escalates_and_talking_on_does_not(engine: BotEngine) -> None:
    busy = Context(counsellors_available=0)
    told = engine.step(consented(engine), UserMessage("!counsellor"), NOW, busy).state
    talk = engine.step(told, UserMessage("Keep talking with the bot", "bot"), NOW, busy)
    assert talk.state.node == "mood_menu"
    assert not of_type(talk, Escalate)
    wait = engine.step(told, UserMessage("Wait for a counsellor", "wait"), NOW, busy)
    # What the person pressed, in the words on the button.
    assert wait.outputs[0] == Escalate(
        Priority.REQUESTED, "request:button", "Wait for a counsellor"
    )
    again = engine.step(told, UserMessage("please, a real person"), NOW, busy)
    assert again.state.node == "queue_anyway"
    typed = engine.step(told, UserMessage("ill wait"), NOW, busy)
    assert typed.outputs[0] == Escalate(Priority.REQUESTED, "request:typed", "ill wait")


def test_commands(engine: BotEngine) -> None:
    state = started(engine)
    assert engine.step(state, UserMessage("!help"), NOW).state.node == "help"
    assert engine.step(state, UserMessage("!resources"), NOW).state.node == "resources"
    assert engine.step(state, UserMessage("!mood"), NOW).state.node == "consent_needed"
    assert engine.step(state, UserMessage("!MOOD please"), NOW).state.node == "consent_needed"
    assert engine.step(state, UserMessage("!"), NOW).state.node == "help"
    assert engine.step(state, UserMessage("!counsellor"), NOW).state.node == "counsellor_consent"
    request = engine.step(consented(engine), UserMessage("!counsellor"), NOW)
    assert request.outputs[0] == Escalate(Priority.REQUESTED, "request:command", "!counsellor")
    stop = engine.step(state, UserMessage("!stop"), NOW)
    assert stop.outputs[-1] == End(erase=False)
    assert engine.step(consented(engine), UserMessage("!mood"), NOW).state.node == "mood_menu"


def test_resources_list_the_helplines(engine: BotEngine) -> None:
    result = engine.step(consented(engine), UserMessage("!resources"), NOW)
    text = replies(result)[0].text
    for words in ["Samaritans: call 116 123", "SHOUT to 85258", "999", "Childline"]:
        assert words in text


def test_quick_reply_values_never_skip_consent(engine: BotEngine) -> None:
    state = started(engine)
    for value in ["happy", "breathe", "helped", "menu", "wait", "end"]:
        result = engine.step(state, UserMessage("x", value), NOW)
        assert not result.state.consented
        assert result.state.node in ("consent_needed", "greeting")
        assert not of_type(result, Escalate)
        assert not of_type(result, End)


def test_typed_button_text_works_like_the_button(engine: BotEngine) -> None:
    result = engine.step(started(engine), UserMessage("yes, continue"), NOW)
    assert result.state.consented
    unclear = engine.step(started(engine), UserMessage("hmm maybe"), NOW)
    assert unclear.state.node == "consent_needed"
    assert not unclear.state.consented


def test_fallback_never_a_dead_end(engine: BotEngine) -> None:
    result = engine.step(consented(engine), UserMessage("qwerty zxcv"), NOW)
    assert result.state.node == "fallback"
    last = replies(result)[-1]
    assert last.quick_replies
    assert last.invites_text


def test_checkins(engine: BotEngine) -> None:
    state = consented(engine)
    later = NOW + timedelta(hours=1)
    result = engine.step(state, UserMessage("sad"), NOW)
    assert result.outputs[-1] == ScheduleCheckin(NOW + timedelta(seconds=3600))
    first = engine.step(result.state, TimerFired(), later)
    assert first.state.node == "checkin"
    assert first.state.checkins_sent == 1
    assert first.outputs[-1] == ScheduleCheckin(later + timedelta(hours=1))
    second = engine.step(first.state, TimerFired(), later + timedelta(hours=1))
    assert second.state.checkins_sent == 2
    assert not of_type(second, ScheduleCheckin)
    assert engine.step(second.state, TimerFired(), later).outputs == ()
    talk = engine.step(second.state, UserMessage("tired"), later)
    assert not of_type(talk, ScheduleCheckin)


def test_no_checkin_before_consent_or_after_escalation(engine: BotEngine) -> None:
    assert engine.step(started(engine), TimerFired(), NOW).outputs == ()
    escalated = engine.step(consented(engine), AskCounsellor(), NOW).state
    assert escalated.phase == "escalated"
    assert engine.step(escalated, TimerFired(), NOW).outputs == ()
    assert engine.step(escalated, UserMessage("hello"), NOW).outputs == ()
    assert engine.step(escalated, AskCounsellor(), NOW).outputs == ()


def test_returned_from_a_counsellor(engine: BotEngine) -> None:
    escalated = engine.step(consented(engine), AskCounsellor(), NOW).state
    back = engine.step(escalated, SessionEvent("returned"), NOW)
    assert back.state.phase == "bot"
    assert back.state.node == "mood_menu"
    assert "Welcome back" in replies(back)[0].text
    assert of_type(back, ScheduleCheckin)


def test_a_removed_node_falls_back(engine: BotEngine) -> None:
    gone = consented(engine).evolve(node="a_node_deleted_from_the_script")
    result = engine.step(gone, UserMessage("blah blah"), NOW)
    assert result.state.node == "fallback"
    fresh = started(engine).evolve(node="also_gone")
    assert engine.step(fresh, UserMessage("Yes, continue", "yes"), NOW).state.consented


def test_locales(engine: BotEngine) -> None:
    assert engine.locales == ("en", "cy")
    assert engine.new_state("fr").locale == "en"
    assert engine.new_state("cy-GB").locale == "cy"
    welsh = engine.step(engine.new_state("cy"), SessionEvent("started"), NOW)
    assert "Ydw, parhau" in [b.label for b in replies(welsh)[-1].quick_replies]
    odd = engine.step(ConversationState(locale="zz", node="greeting"), SessionEvent("started"), NOW)
    assert odd.state.locale == "en"


def test_typing_delay_grows_with_length() -> None:
    engine = BotEngine.load(config=EngineConfig(typing=TypingSpeed(10.0, 0.5, 3.0)))
    result = engine.step(engine.new_state("en"), SessionEvent("started"), NOW)
    delays = [r.typing_delay_s for r in replies(result)]
    assert all(0.5 <= d <= 3.0 for d in delays)
    speed = TypingSpeed(10.0, 0.5, 3.0)
    assert speed.delay_for("hi") == 0.5
    assert speed.delay_for("x" * 20) == 2.0
    assert speed.delay_for("x" * 500) == 3.0
    assert TypingSpeed.instant().delay_for("x" * 500) == 0.0
    assert TypingSpeed(chars_per_second=0).delay_for("hello") == 0.0


@pytest.mark.parametrize(
    "kwargs",
    [
        {"chars_per_second": -1.0},
        {"min_s": -1.0},
        {"min_s": 5.0, "max_s": 1.0},
    ],
)
def test_typing_speed_rejects_nonsense(kwargs: dict[str, float]) -> None:
    with pytest.raises(ValueError, match="must"):
        TypingSpeed(**kwargs)


def test_engine_config_rejects_nonsense() -> None:
    with pytest.raises(ValueError, match="positive"):
        EngineConfig(checkin_after_s=0)
    with pytest.raises(ValueError, match="negative"):
        EngineConfig(max_checkins=-1)
