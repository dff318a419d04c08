"""Crisis replies that fit the danger and the service's real state, with no false
promise; consent before a counsellor is brought in; the notices of endings."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest

from bot_engine import (
    BotEngine,
    Context,
    ConversationState,
    Escalate,
    Priority,
    Reply,
    RiskLevel,
    RiskTopic,
    SessionEvent,
    StepResult,
    TriggerMatch,
    UserMessage,
)
from bot_engine.script import CRISIS_COUNSELLOR_SPECIALS, ENDING_SPECIALS
from tests.bot_engine.support import MINI_EN, MINI_RESOURCES, NOW, problems_of

Write = Callable[..., Path]

OPEN_FREE = Context(counsellors_available=2, free_places=1)
OPEN_BUSY = Context(counsellors_available=2, free_places=0)
NOBODY_ON_DUTY = Context(counsellors_available=0)
CLOSED = Context(counsellors_available=2, service_open=False)
# Words that promise a counsellor soon; never said when none can come.
PROMISES = ("will be with you shortly", "finding a counsellor", "with you shortly")


def match(level: RiskLevel, topic: RiskTopic | None) -> TriggerMatch:
    return TriggerMatch("crisis", Priority.CRISIS, "crisis:test", "the words", level, topic)


def started(engine: BotEngine, locale: str = "en") -> ConversationState:
    return engine.step(engine.new_state(locale), SessionEvent("started"), NOW).state


def consented(engine: BotEngine, locale: str = "en") -> ConversationState:
    return engine.step(started(engine, locale), UserMessage("", "yes"), NOW).state


def texts(result: StepResult) -> list[str]:
    return [o.text for o in result.outputs if isinstance(o, Reply)]


def missing(replies: list[str], *words: str) -> set[str]:
    """The words that none of the replies says."""
    whole = " ".join(replies)
    return {w for w in words if w not in whole}


def crisis(
    engine: BotEngine,
    level: RiskLevel,
    topic: RiskTopic | None,
    context: Context = OPEN_FREE,
    state: ConversationState | None = None,
) -> StepResult:
    state = state if state is not None else consented(engine)
    return engine.crisis_step(state, match(level, topic), NOW, context)


# ------------------------------------------------------------------ by the danger


@pytest.mark.parametrize(
    ("level", "topic", "first_node"),
    [
        (RiskLevel.HIGH, RiskTopic.SUICIDE, "crisis"),
        (RiskLevel.CONCERN, RiskTopic.SUICIDE, "crisis"),
        (RiskLevel.NONE, None, "crisis"),
        (RiskLevel.HIGH, None, "crisis"),
        (RiskLevel.IMMINENT, RiskTopic.SUICIDE, "crisis_imminent"),
        (RiskLevel.IMMINENT, None, "crisis_imminent"),
        (RiskLevel.IMMINENT, RiskTopic.SELF_HARM, "crisis_imminent"),
        (RiskLevel.CONCERN, RiskTopic.SELF_HARM, "crisis_self_harm"),
        (RiskLevel.HIGH, RiskTopic.SELF_HARM, "crisis_self_harm"),
        (RiskLevel.CONCERN, RiskTopic.ABUSE, "crisis_abuse"),
        (RiskLevel.IMMINENT, RiskTopic.ABUSE, "crisis_abuse"),
        (RiskLevel.HIGH, RiskTopic.SOMEONE_ELSE, "crisis_someone_else"),
        (RiskLevel.IMMINENT, RiskTopic.SOMEONE_ELSE, "crisis_someone_else"),
    ],
)
def test_the_reply_starts_with_the_node_for_the_danger(
    engine: BotEngine, level: RiskLevel, topic: RiskTopic | None, first_node: str
) -> None:
    result = crisis(engine, level, topic)
    assert result.visited[0] == first_node
    assert result.visited[-1] == "crisis_free"
    assert result.state.phase == "escalated"


def test_escalate_comes_first_with_the_level_and_topic(engine: BotEngine) -> None:
    result = crisis(engine, RiskLevel.IMMINENT, RiskTopic.ABUSE)
    assert result.outputs[0] == Escalate(
        Priority.CRISIS, "crisis:test", "the words", RiskLevel.IMMINENT, RiskTopic.ABUSE
    )
    assert all(isinstance(o, Reply) for o in result.outputs[1:])


def test_a_crisis_without_level_or_topic_is_taken_as_high_suicide(engine: BotEngine) -> None:
    escalation = crisis(engine, RiskLevel.NONE, None).outputs[0]
    assert isinstance(escalation, Escalate)
    assert (escalation.level, escalation.topic) == (RiskLevel.HIGH, RiskTopic.SUICIDE)


def test_imminent_puts_emergency_services_first(engine: BotEngine) -> None:
    for topic in (RiskTopic.SUICIDE, RiskTopic.SELF_HARM, None):
        for context in (OPEN_FREE, OPEN_BUSY, CLOSED):
            first = texts(crisis(engine, RiskLevel.IMMINENT, topic, context))[0]
            assert first.startswith("Please call 999 now, or go to A&E")
    said = " ".join(texts(crisis(engine, RiskLevel.IMMINENT, RiskTopic.SUICIDE)))
    assert said.index("999") < said.index("116 123")  # then the helplines


def test_danger_from_another_person_gives_safety_routes(engine: BotEngine) -> None:
    said = texts(crisis(engine, RiskLevel.HIGH, RiskTopic.ABUSE))
    assert said[0].startswith("If you're in danger right now, call 999.")
    assert not missing(
        said,
        "press 55",  # the Silent Solution
        "from a mobile",
        "National Domestic Abuse Helpline is free, 24 hours a day, on 0808 2000 247",
        "Live Fear Free is free, 24 hours a day, on 0808 80 10 800",
        "Childline free on 0800 1111",
        "not your fault",
        "Quick exit",
    )
    assert "hurt yourself" not in " ".join(said)


def test_worried_about_someone_else_says_how_to_help(engine: BotEngine) -> None:
    said = texts(crisis(engine, RiskLevel.HIGH, RiskTopic.SOMEONE_ELSE))
    assert (
        said[0] == "If they're in danger right now, or have already hurt themselves, call 999 now."
    )
    assert not missing(
        said,
        "stay with them",
        "Ask them directly whether they're thinking about suicide",
        "put away anything they could use",
        "Papyrus HOPELINE247",
        "call 0800 068 4141 or text 88247",
        "Samaritans are free on 116 123",
    )
    assert "hurt yourself" not in " ".join(said)


def test_self_harm_advice_is_proportionate(engine: BotEngine) -> None:
    said = texts(crisis(engine, RiskLevel.CONCERN, RiskTopic.SELF_HARM))
    whole = " ".join(said)
    minor = whole.index("clean it gently and cover it")
    nhs = whole.index("call NHS 111 and press 2")
    serious = whole.index("call 999 or go to A&E now")
    helplines = whole.index("Samaritans are free on 116 123")
    assert minor < nhs < serious < helplines


# ------------------------------------------------------------------ by the service's state


@pytest.mark.parametrize(
    ("context", "node"),
    [
        (OPEN_FREE, "crisis_free"),
        (Context(), "crisis_free"),
        (Context(counsellors_available=1), "crisis_free"),
        (OPEN_BUSY, "crisis_busy"),
        (Context(counsellors_available=3, free_places=-2), "crisis_busy"),
        (NOBODY_ON_DUTY, "crisis_closed"),
        (Context(counsellors_available=0, free_places=0), "crisis_closed"),
        (CLOSED, "crisis_closed"),
        (Context(service_open=False), "crisis_closed"),
    ],
)
def test_what_is_said_about_a_counsellor_fits_the_state(
    engine: BotEngine, context: Context, node: str
) -> None:
    for level, topic in [
        (RiskLevel.HIGH, RiskTopic.SUICIDE),
        (RiskLevel.IMMINENT, None),
        (RiskLevel.HIGH, RiskTopic.ABUSE),
        (RiskLevel.CONCERN, RiskTopic.SOMEONE_ELSE),
        (RiskLevel.CONCERN, RiskTopic.SELF_HARM),
    ]:
        result = crisis(engine, level, topic, context)
        assert result.state.node == node
        assert result.visited[-1] == node


def test_never_a_promise_when_no_counsellor_can_come(engine: BotEngine) -> None:
    for context in (OPEN_BUSY, NOBODY_ON_DUTY, CLOSED):
        for level in RiskLevel:
            for topic in (None, *RiskTopic):
                whole = " ".join(texts(crisis(engine, level, topic, context))).lower()
                assert not any(p in whole for p in PROMISES), (context, level, topic)
    free = " ".join(texts(crisis(engine, RiskLevel.HIGH, RiskTopic.SUICIDE)))
    assert "A counsellor will be with you shortly" in free


def test_busy_says_so_with_the_place_and_the_numbers(engine: BotEngine) -> None:
    said = texts(crisis(engine, RiskLevel.HIGH, RiskTopic.SUICIDE, OPEN_BUSY))
    busy = said[2]
    assert busy.startswith("All our counsellors are with other people right now")
    assert "your place" in busy
    assert "116 123" in busy and "85258" in busy


def test_closed_says_so_plainly_with_the_numbers_first(engine: BotEngine) -> None:
    for context in (NOBODY_ON_DUTY, CLOSED):
        said = texts(crisis(engine, RiskLevel.HIGH, RiskTopic.SUICIDE, context))
        closed = said[2]
        assert closed.startswith("I need to be honest with you: none of our counsellors is online")
        assert "116 123" in closed and "85258" in closed
        assert "next online" in said[3]


def test_crisis_replies_are_sent_without_typing_delay() -> None:
    engine = BotEngine.load()  # the default typing speed
    state = consented(engine)
    assert all(
        r.typing_delay_s > 0 for r in _replies(engine.step(state, UserMessage("!mood"), NOW))
    )
    for level in RiskLevel:
        for topic in (None, *RiskTopic):
            for context in (OPEN_FREE, OPEN_BUSY, CLOSED):
                replies = _replies(crisis(engine, level, topic, context, state))
                assert replies and all(r.typing_delay_s == 0 for r in replies)
    before = _replies(crisis(engine, RiskLevel.HIGH, None, state=started(engine)))
    assert before and all(r.typing_delay_s == 0 for r in before)


def _replies(result: StepResult) -> list[Reply]:
    return [o for o in result.outputs if isinstance(o, Reply)]


def test_the_detected_path_is_the_same(engine: BotEngine) -> None:
    state = consented(engine)
    typed = engine.step(state, UserMessage("I want to die"), NOW, OPEN_BUSY)
    escalation = typed.outputs[0]
    assert isinstance(escalation, Escalate) and escalation.priority == Priority.CRISIS
    assert typed.state.node == "crisis_busy"


# ------------------------------------------------------------------ consent


def test_before_consent_the_same_reply_says_the_chat_is_kept(engine: BotEngine) -> None:
    for locale, words in [("en", "we keep this conversation"), ("cy", "rydyn ni'n cadw'r sgwrs")]:
        before = crisis(engine, RiskLevel.HIGH, None, state=started(engine, locale))
        assert isinstance(before.outputs[0], Escalate)
        said = texts(before)
        assert words in said[-1]
        assert "counsellor" in said[-1] or "gwnselydd" in said[-1]
        assert before.state.node == "crisis_kept" and not before.state.consented
        after = crisis(engine, RiskLevel.HIGH, None, state=consented(engine, locale))
        assert not any(words in t for t in texts(after))


def test_a_request_before_consent_asks_once_then_queues(engine: BotEngine) -> None:
    for how in (UserMessage("I want to talk to a person"), UserMessage("!counsellor")):
        asked = engine.step(started(engine), how, NOW, OPEN_FREE)
        assert not any(isinstance(o, Escalate) for o in asked.outputs)
        assert asked.state.node == "counsellor_consent"
        assert len(texts(asked)) == 1
        yes = engine.step(asked.state, UserMessage("Yes, find a counsellor", "yes"), NOW, OPEN_FREE)
        assert isinstance(yes.outputs[0], Escalate)
        assert yes.state.consented and yes.state.phase == "escalated"
    # Nobody free: still honest after consent, and the person may wait anyway.
    asked = engine.step(started(engine), UserMessage("!counsellor"), NOW, NOBODY_ON_DUTY)
    told = engine.step(asked.state, UserMessage("ok"), NOW, NOBODY_ON_DUTY)
    assert told.state.node == "counsellor_unavailable" and told.state.consented
    assert not any(isinstance(o, Escalate) for o in told.outputs)


def test_declining_at_the_request_ends_and_keeps_nothing(engine: BotEngine) -> None:
    asked = engine.step(started(engine), UserMessage("!counsellor"), NOW)
    no = engine.step(asked.state, UserMessage("no"), NOW)
    assert no.state.node == "declined" and no.state.phase == "ended"
    said = " ".join(texts(no))
    assert "won't keep anything" in said and "116 123" in said
    assert "delete" not in said.lower()


def test_busy_counsellors_are_not_promised_to_a_request(engine: BotEngine) -> None:
    result = engine.step(consented(engine), UserMessage("!counsellor"), NOW, OPEN_BUSY)
    assert result.state.node == "counsellor_unavailable"
    assert not any(p in " ".join(texts(result)).lower() for p in PROMISES)


# ------------------------------------------------------------------ Welsh


def test_every_crisis_reply_is_in_welsh(engine: BotEngine) -> None:
    english = {t for level in RiskLevel for t in texts(crisis(engine, level, None))}
    for level in RiskLevel:
        for topic in (None, *RiskTopic):
            for context in (OPEN_FREE, OPEN_BUSY, CLOSED):
                state = consented(engine, "cy")
                said = texts(crisis(engine, level, topic, context, state))
                assert said and not set(said) & english


def test_the_welsh_line_always_comes_with_its_hours(engine: BotEngine) -> None:
    view = engine._views["cy"]  # every Welsh text, after its variables are filled
    every = [t for node in view.texts.values() for t in node]
    every += list(view.helplines) + [engine.notice(n, "cy") for n in ENDING_SPECIALS]
    given = [t for t in every if "0808 164 0123" in t]
    assert len(given) >= 10
    for text in given:
        assert "bob dydd rhwng 7 yr hwyr ac 11 y nos" in text, text


def test_the_welsh_script_keeps_one_register(engine: BotEngine) -> None:
    # The script speaks to one person as "ti"; formal or plural "chi" forms would mix
    # registers ("chi'ch dau", the two of you, is plural and right).
    formal = re.compile(
        r"\b(ffoniwch|ewch|tecstiwch|cysylltwch|rydych chi|ydych chi|gallwch|eich hun)\b", re.I
    )
    view = engine._views["cy"]
    for node_id, node_texts in view.texts.items():
        for text in node_texts:
            assert not formal.search(text), (node_id, text)


# ------------------------------------------------------------------ endings


@pytest.mark.parametrize("name", ENDING_SPECIALS)
@pytest.mark.parametrize(
    ("locale", "words"),
    [("en", ["116 123", "85258", "999"]), ("cy", ["116 123", "0808 164 0123", "999"])],
)
def test_every_ending_repeats_the_helplines(
    engine: BotEngine, name: str, locale: str, words: list[str]
) -> None:
    notice = engine.notice(name, locale)
    for number in words:
        assert number in notice
    if locale == "cy":
        assert notice != engine.notice(name, "en")


def test_bot_endings_repeat_the_helplines(engine: BotEngine) -> None:
    for locale in ("en", "cy"):
        for words in ("!stop", "no"):
            said = " ".join(texts(engine.step(started(engine, locale), UserMessage(words), NOW)))
            assert "116 123" in said and "999" in said
        ended = engine.step(consented(engine, locale), UserMessage("bye"), NOW).state
        bye = engine.step(ended, UserMessage("End the chat", "end"), NOW)
        assert bye.state.phase == "ended" and "116 123" in " ".join(texts(bye))


# ------------------------------------------------------------------ other scripts


def test_a_script_with_only_a_crisis_node_still_works(mini_engine: BotEngine) -> None:
    for level in RiskLevel:
        for topic in (None, *RiskTopic):
            for context in (OPEN_FREE, OPEN_BUSY, CLOSED):
                result = crisis(mini_engine, level, topic, context, started(mini_engine))
                assert result.visited == ("crisis",)
                assert texts(result) == ["I'm glad you told me. Call 116 123."]
    assert mini_engine.notice("person_left") == ""
    request = mini_engine.step(started(mini_engine), UserMessage("!counsellor"), NOW)
    assert isinstance(request.outputs[0], Escalate)  # no consent step in this script


_ROUTED = MINI_EN.replace(
    'id = "crisis"\nbefore_consent = true\nfree_text = true',
    'id = "crisis"\nbefore_consent = true\nthen = "crisis_route"',
) + (
    '\n[[node]]\nid = "crisis_route"\nroute = "crisis_counsellor"\n'
    + "".join(
        f'\n[[node]]\nid = "{k}"\nbefore_consent = true\nfree_text = true\nreplies = ["{k}"]\n'
        for k in CRISIS_COUNSELLOR_SPECIALS
    )
)
_SPECIALS = "".join(f'{k} = "{k}"\n' for k in CRISIS_COUNSELLOR_SPECIALS)


def test_a_routed_crisis_needs_all_three_states(write_script: Write) -> None:
    head = '[script]\nstart = "hello"\n'
    whole = _ROUTED.replace(head, head + _SPECIALS)
    good = write_script({"en.toml": whole, "resources-en.toml": MINI_RESOURCES}, name="good")
    assert problems_of(good) == []
    engine = BotEngine.load(good)
    said = texts(crisis(engine, RiskLevel.HIGH, None, OPEN_BUSY, started(engine)))
    assert said == ["I'm glad you told me. Call 116 123.", "crisis_busy"]
    partial = whole.replace('crisis_busy = "crisis_busy"\n', "")
    bad = write_script({"en.toml": partial, "resources-en.toml": MINI_RESOURCES}, name="bad")
    assert (
        "en.toml:(script):crisis_busy: is required: node 'crisis_route' routes a crisis reply "
        "by the service's state (crisis_free, crisis_busy, crisis_closed)"
    ) in problems_of(bad)


def test_a_node_after_a_pre_consent_special_must_be_shown_before_consent(
    write_script: Write,
) -> None:
    text = (
        MINI_EN.replace(
            'id = "crisis"\nbefore_consent = true\nfree_text = true',
            'id = "crisis"\nbefore_consent = true\nthen = "more"',
        )
        + '\n[[node]]\nid = "more"\nfree_text = true\nreplies = ["More."]\n'
    )
    directory = write_script({"en.toml": text, "resources-en.toml": MINI_RESOURCES})
    assert problems_of(directory) == [
        "en.toml:more:before_consent: must be true: this node follows crisis ('crisis') "
        "through 'then', so it can be shown before consent"
    ]


def test_an_ending_notice_must_end(write_script: Write) -> None:
    text = MINI_EN.replace(
        '[script]\nstart = "hello"\n', '[script]\nstart = "hello"\nperson_left = "sad"\n'
    )
    directory = write_script({"en.toml": text, "resources-en.toml": MINI_RESOURCES})
    assert problems_of(directory) == [
        "en.toml:(script):person_left: node 'sad' is a notice shown when a chat ends: "
        'set end = "keep"'
    ]
