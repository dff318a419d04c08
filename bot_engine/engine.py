"""``BotEngine``: a loaded script set and the one pure function the gateway calls.

``step(state, event, now, context)`` returns a new state and the outputs. It reads no
clock (``now`` is passed in), does no I/O and uses no randomness, so a conversation
can be replayed exactly from a transcript.

For a message, the order is:

1. global interrupts: a crisis (always escalates, whatever the context and whether
   or not the person has agreed to continue), a clear denial with nothing else of
   concern (the script's ``denied`` reply), a ``!`` command, a request for a person;
2. the current node: the value of a pressed quick reply, a button label typed out,
   then the node's keyword and regex rules, then the script's shared rules;
3. otherwise a gentle fallback that invites the person to write and offers choices.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from bot_engine.compiled import LocaleScript, lowered
from bot_engine.config import DEFAULT_CONFIG, EngineConfig
from bot_engine.contacts import ContactLink
from bot_engine.detection import base_locale
from bot_engine.files import BASE_LOCALE
from bot_engine.loader import read_script_set
from bot_engine.problems import ProblemLog, ScriptError
from bot_engine.script import ENDING_SPECIALS, Resource, Script
from bot_engine.state import ConversationState
from bot_engine.turn import Turn
from bot_engine.types import (
    AskCounsellor,
    Context,
    Event,
    Output,
    SessionEvent,
    TimerFired,
    TriggerMatch,
    UserMessage,
    Via,
)

NO_CONTEXT = Context()


@dataclass(frozen=True, slots=True)
class StepResult:
    """The state to store and the outputs to act on, in order.

    ``visited`` lists the nodes the step passed through (for transcript coverage).
    ``asked_staffing`` says the step looked at who is on duty or free
    (``Context.counsellors_available`` or ``free_places``); when it did not, the same
    step gives the same result whatever those are, so a caller that had to count
    them may skip the count.
    """

    state: ConversationState
    outputs: tuple[Output, ...]
    visited: tuple[str, ...] = ()
    asked_staffing: bool = False


class BotEngine:
    """A validated script set, ready to run conversations."""

    def __init__(
        self,
        script: Script,
        views: dict[str, LocaleScript],
        config: EngineConfig = DEFAULT_CONFIG,
        warnings: tuple[str, ...] = (),
    ) -> None:
        self.script = script
        self.config = config
        self.warnings = warnings
        self._views = views

    @classmethod
    def load(
        cls,
        directory: Path | None = None,
        *,
        config: EngineConfig = DEFAULT_CONFIG,
        resources: Path | None = None,
    ) -> BotEngine:
        """Load and validate a script set (``None``: the packaged default scripts).

        Raises ``ScriptError`` listing every problem when the set has errors: the
        service must never run on half a script. Warnings (missing translations) are
        kept in ``engine.warnings``.
        """
        log = ProblemLog()
        script, trigger_sets = read_script_set(directory, log, resources)
        log.raise_if_errors()
        if script is None:  # pragma: no cover - read_script_set logs an error for this
            raise ScriptError(["en.toml:-:-: missing: the English script is required"])
        given = {"service_name": config.service_name} if config.service_name else {}
        views = {
            locale: LocaleScript(script, locale, trigger_sets[locale], given)
            for locale in script.locales
        }
        return cls(script, views, config, tuple(str(p) for p in log.warnings))

    # ------------------------------------------------------------ queries

    @property
    def locales(self) -> tuple[str, ...]:
        """The locales this script set speaks, English first."""
        return self.script.locales

    @property
    def node_ids(self) -> tuple[str, ...]:
        return tuple(self.script.nodes)

    @property
    def notice_nodes(self) -> tuple[str, ...]:
        """Nodes the gateway shows as notices when a chat ends (``notice``), not steps."""
        return tuple(self.script.specials[k] for k in ENDING_SPECIALS if k in self.script.specials)

    def locale_for(self, locale: str) -> str:
        """The supported locale closest to ``locale`` (``cy-GB`` -> ``cy``), else English."""
        code = base_locale(locale)
        return code if code in self._views else BASE_LOCALE

    def detect(self, text: str, locale: str = BASE_LOCALE) -> TriggerMatch | None:
        """Like ``bot_engine.detect``, including this script set's extra trigger phrases."""
        return self._views[self.locale_for(locale)].triggers.detect(text)

    def warm_up(self) -> int:
        """Compile every trigger phrase now (they compile on first use otherwise).

        Loading a script set is quick because phrases are compiled lazily; a service
        calls this once at start, off the event loop, so that no person's message pays
        for the compiling. Returns the number of phrases compiled.
        """
        return sum(view.triggers.warm() for view in self._views.values())

    def helplines(self, locale: str = BASE_LOCALE) -> tuple[str, ...]:
        """The resource directory as lines ("Samaritans: call 116 123, ..."), for waiting people."""
        return self._views[self.locale_for(locale)].helplines

    def directory(self, locale: str = BASE_LOCALE) -> tuple[Resource, ...]:
        """The resource directory of ``locale`` with its variables filled in: each
        helpline's name, how to reach it and when (``contact``), and who it is for."""
        return self._views[self.locale_for(locale)].directory

    def links(self, text: str, locale: str = BASE_LOCALE) -> tuple[ContactLink, ...]:
        """Tap-to-call and tap-to-text links for every declared number in ``text``.

        Pure and cheap (one regular expression), so a client's message frame can carry
        them whenever it is built, also for history resent on resume.
        """
        return self._views[self.locale_for(locale)].links.find(text)

    def notice(self, name: str, locale: str = BASE_LOCALE) -> str:
        """The words of a notice node (``ended_by_counsellor``, ``person_left``,
        ``timed_out``) in ``locale``, its messages one paragraph each; empty when the
        script has none."""
        node = self.script.specials.get(name)
        if node is None:
            return ""
        return "\n\n".join(self._views[self.locale_for(locale)].texts[node])

    def crisis_step(
        self,
        state: ConversationState,
        match: TriggerMatch,
        now: datetime,
        context: Context = NO_CONTEXT,
    ) -> StepResult:
        """The step for a message the detector found to be the crisis ``match``.

        The same as ``step`` for such a message; for transcripts and tools that try a
        reply for a given level and topic without writing a message that triggers it.
        """
        locale = self.locale_for(state.locale)
        if state.phase != "bot":
            return StepResult(state, ())
        state = state.evolve(locale=locale)
        turn = Turn(self.script, self._views[locale], state, context, self.config)
        turn.crisis(match)
        new_state, outputs = turn.finish(now)
        return StepResult(new_state, outputs, tuple(turn.visited), turn.asked_staffing)

    def new_state(self, locale: str) -> ConversationState:
        """The state of a conversation that has not started (send ``started`` next)."""
        return ConversationState(locale=self.locale_for(locale), node=self.script.special("start"))

    # ------------------------------------------------------------ the step

    def step(
        self,
        state: ConversationState,
        event: Event,
        now: datetime,
        context: Context = NO_CONTEXT,
    ) -> StepResult:
        """Advance one conversation by one event; see the module docstring for the order."""
        locale = self.locale_for(state.locale)
        if locale != state.locale:
            state = state.evolve(locale=locale)
        turn = Turn(self.script, self._views[locale], state, context, self.config)
        if isinstance(event, SessionEvent):
            if event.kind == "started":
                turn.state = state.evolve(phase="bot")
                turn.enter(self.script.special("start"), Via("button", "started"))
            elif state.phase != "ended":
                turn.state = state.evolve(phase="bot")
                turn.enter(self.script.special("returned"), Via("button", "returned"))
            else:
                return StepResult(state, ())
        elif state.phase != "bot":
            return StepResult(state, ())
        elif isinstance(event, TimerFired):
            if not state.consented or state.checkins_sent >= self.config.max_checkins:
                return StepResult(state, ())
            turn.state = state.evolve(checkins_sent=state.checkins_sent + 1)
            turn.enter(self.script.special("checkin"), Via("button", "checkin"))
        elif isinstance(event, AskCounsellor):
            turn.ask_for_counsellor(Via("button", "ask_counsellor"))
        else:
            self._message(turn, event)
        new_state, outputs = turn.finish(now)
        return StepResult(new_state, outputs, tuple(turn.visited), turn.asked_staffing)

    def _message(self, turn: Turn, event: UserMessage) -> None:
        view = turn.view
        assessment = view.triggers.assess(event.text)
        match = assessment.match
        if match is not None and match.kind == "crisis":
            turn.crisis(match)
            return
        denied = self.script.first_special("denied")
        if assessment.denied and match is None and denied is not None:
            # "I'm not suicidal, just stressed": acknowledged warmly, the door kept open,
            # and not queued as a crisis (docs/safeguarding.md, "Denials").
            turn.enter(denied, Via("typed", event.text))
            return
        text = event.text.strip()
        if text.startswith("!"):
            word = (text[1:].split() or [""])[0].lower()
            target = view.commands.get(word) or self.script.special("unknown_command")
            turn.enter(target, Via("command", f"!{word}"))
            return
        node = turn.current_node()
        pressed = next((c for c in node.choices if c.value == event.value), None)
        # A button's own label ("Wait for a counsellor") is not a typed request; any
        # other text sent with a value is checked like typed text.
        if match is not None and not (pressed and view.is_label(node.id, pressed, text)):
            turn.ask_for_counsellor(Via("typed", match.matched))
            return
        if pressed is not None:
            # The button's words as the person saw them ("Wait for a counsellor"), so
            # that a counsellor reads what was pressed, not an identifier.
            label = view.labels[node.id].get(pressed.value, pressed.value)
            turn.enter(pressed.next, Via("button", label))
            return
        typed = view.choice_for_label(node.id, text)
        if typed is not None:
            turn.enter(typed.next, Via("typed", text))
            return
        canonical, raw = view.canonical(text), lowered(text)
        rules = view.rules[node.id] + (view.shared if node.shared_rules else ())
        for rule in rules:
            found = rule.match(canonical, raw)
            if found is not None:
                turn.enter(rule.next, Via("typed", found))
                return
        turn.enter(node.fallback or self.script.special("fallback"), Via("typed", text))
