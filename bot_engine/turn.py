"""One turn of the bot: moving through nodes and collecting what to send.

A ``Turn`` starts from the current state, enters one or more nodes (following
``then``, routing a request for a person by the service's context, and redirecting
to the consent question when a node needs consent first), and ends with the new
state and the outputs in the order the gateway should act on them:

1. ``Escalate`` first, so that a person in crisis enters the queue without waiting
   for the bot's typing delays;
2. the ``Reply`` messages, the last carrying the quick replies (a crisis reply's
   messages have no typing delay: safety information must not wait);
3. ``End`` or ``ScheduleCheckin`` last.

What a crisis reply says depends on the danger and on the service (docs/safeguarding.md,
"Replies"): ``crisis_node`` picks its first node by the level and topic of the match,
and a ``route = "crisis_counsellor"`` node in it continues with the words about a
counsellor that fit the service right now (``crisis_counsellor_node``).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from bot_engine.compiled import LocaleScript
from bot_engine.config import EngineConfig
from bot_engine.script import Node, Script
from bot_engine.state import ConversationState
from bot_engine.types import (
    Context,
    End,
    Escalate,
    Output,
    Priority,
    QuickReply,
    Reply,
    RiskLevel,
    RiskTopic,
    ScheduleCheckin,
    TriggerMatch,
    Via,
)


class Turn:
    """Collects the effects of one step; used once, then discarded."""

    def __init__(
        self,
        script: Script,
        view: LocaleScript,
        state: ConversationState,
        context: Context,
        config: EngineConfig,
    ) -> None:
        self.script, self.view, self.context, self.config = script, view, context, config
        self.state = state
        self.escalation: Escalate | None = None
        self.replies: list[Reply] = []
        self.ending: End | None = None
        self.visited: list[str] = []
        # Replies said while this is set go out without a typing pause (a crisis).
        self.instant = False
        # Whether who is on duty or free was looked at (``StepResult.asked_staffing``).
        self.asked_staffing = False

    # ------------------------------------------------------------ moving

    def current_node(self) -> Node:
        """The node the person is at; a node removed from an edited script falls back."""
        node = self.script.nodes.get(self.state.node)
        if node is not None:
            return node
        key = "fallback" if self.state.consented else "start"
        return self.script.nodes[self.script.special(key)]

    def _gate(self, node: Node) -> Node:
        if node.before_consent or node.consent or node.route or self.state.consented:
            return node
        return self.script.nodes[self.script.special("consent")]

    def counsellor_node(self) -> str:
        """Where a request for a person leads, told honestly by the service's state.

        Before the person has agreed that the chat is kept, the script's
        ``counsellor_consent`` node (if it has one) asks first, in one short step.
        Asking again right after hearing that nobody is free means "I'll wait".
        """
        self.asked_staffing = True
        ask_first = self.script.first_special("counsellor_consent")
        if ask_first is not None and not self.state.consented:
            return ask_first
        told = ("counsellor_unavailable", "service_closed")
        if self.state.node in {self.script.special(key) for key in told}:
            key = "queue_anyway"
        elif not self.context.service_open:
            key = "service_closed"
        elif self.context.counsellor_free:
            key = "counsellor_available"
        else:
            key = "counsellor_unavailable"
        return self.script.special(key)

    def crisis_counsellor_node(self) -> str:
        """What a crisis reply says about a counsellor, by the service's real state:
        ``crisis_closed`` when closed or nobody is on duty, ``crisis_busy`` when
        everyone on duty is busy, else ``crisis_free``."""
        self.asked_staffing = True
        context = self.context
        if context.nobody_on_duty:
            key = "crisis_closed"
        elif context.free_places is not None and context.free_places <= 0:
            key = "crisis_busy"
        else:
            key = "crisis_free"
        return self.script.specials[key]  # the validator checks a route has all three

    def _route(self, node: Node) -> Node:
        if node.route is None:
            return node
        self.visited.append(node.id)
        if node.route == "crisis_counsellor":
            return self.script.nodes[self.crisis_counsellor_node()]
        return self.script.nodes[self.counsellor_node()]

    def enter(self, node_id: str, via: Via, *, and_then: str | None = None) -> None:
        """Go to ``node_id`` (and on through ``then``), saying each node's replies;
        with ``and_then``, carry on to that node too, as if ``then`` led there."""
        texts, node = self._walk(node_id, via)
        if and_then is not None:
            more, node = self._walk(and_then, via)
            texts += more
        self._say(texts, node)
        self.state = self.state.evolve(node=node.id)
        if node.end is not None:
            self.ending = End(erase=node.end == "erase")

    def _walk(self, node_id: str, via: Via) -> tuple[list[str], Node]:
        texts: list[str] = []
        node = self.script.nodes[node_id]
        for _ in range(len(self.script.nodes) + 1):
            node = self._route(self._gate(node))
            self.visited.append(node.id)
            if node.consent:
                self.state = self.state.evolve(consented=True)
            if node.mood is not None:
                self.state = self.state.evolve(mood=node.mood)
            if node.escalate is not None:
                self.escalate(node.escalate, via)
            texts.extend(self.view.texts[node.id])
            if node.then is None:
                break
            node = self.script.nodes[node.then]
        return texts, node

    def ask_for_counsellor(self, via: Via) -> None:
        """A request for a person from outside the script (a button or a typed phrase)."""
        self.enter(self.counsellor_node(), via)

    def crisis_node(self, level: RiskLevel, topic: RiskTopic) -> str:
        """The first node of the crisis reply for this level and topic.

        Danger from another person and worry about someone else have replies of their
        own at every level (each puts 999 first when it applies); otherwise
        ``imminent`` comes before the topic. A script without the node gives its
        ``crisis`` reply.
        """
        keys: list[str] = []
        if topic in (RiskTopic.ABUSE, RiskTopic.SOMEONE_ELSE):
            keys.append(f"crisis_{topic.value}")
        if level == RiskLevel.IMMINENT:
            keys.append("crisis_imminent")
        if topic == RiskTopic.SELF_HARM:
            keys.append("crisis_self_harm")
        return self.script.first_special(*keys) or self.script.special("crisis")

    def crisis(self, match: TriggerMatch) -> None:
        """Escalate at once with the rule that matched, then give the crisis reply that
        fits the danger, without typing pauses.

        A crisis match without a level or topic (the detector could not tell) is taken
        as ``high`` about suicide. Before consent, the script's
        ``crisis_before_consent`` node follows: the person is told, in the same reply,
        that the conversation is kept so that the counsellor can read it.
        """
        level = match.level.of_crisis
        topic = match.topic or RiskTopic.SUICIDE
        self.escalation = Escalate(Priority.CRISIS, match.rule, match.matched, level, topic)
        kept = None if self.state.consented else self.script.first_special("crisis_before_consent")
        self.instant = True
        try:
            self.enter(self.crisis_node(level, topic), Via("typed", match.matched), and_then=kept)
        finally:
            self.instant = False

    def escalate(self, priority: Priority, via: Via) -> None:
        if self.escalation is not None and self.escalation.priority == Priority.CRISIS:
            return
        crisis = priority == Priority.CRISIS
        prefix = "crisis" if crisis else "request"
        level = RiskLevel.NONE.of_crisis if crisis else RiskLevel.NONE
        self.escalation = Escalate(priority, f"{prefix}:{via.how}", via.matched, level)

    def _say(self, texts: list[str], final: Node) -> None:
        labels = self.view.labels[final.id]
        buttons = tuple(QuickReply(labels[c.value], c.value) for c in final.choices)
        typing = self.config.typing
        for index, text in enumerate(texts):
            last = index == len(texts) - 1
            self.replies.append(
                Reply(
                    text=text,
                    quick_replies=buttons if last else (),
                    typing_delay_s=0.0 if self.instant else typing.delay_for(text),
                    invites_text=final.free_text if last else False,
                )
            )

    # ------------------------------------------------------------ finishing

    def finish(self, now: datetime) -> tuple[ConversationState, tuple[Output, ...]]:
        """The new state and the outputs, in the order the gateway should act on them."""
        outputs: list[Output] = []
        state = self.state
        if self.escalation is not None:
            outputs.append(self.escalation)
            state = state.evolve(phase="escalated")
        outputs.extend(self.replies)
        if self.ending is not None:
            outputs.append(self.ending)
            state = state.evolve(phase="ended")
        elif (
            state.phase == "bot"
            and state.consented
            and (state.checkins_sent < self.config.max_checkins)
        ):
            outputs.append(ScheduleCheckin(now + timedelta(seconds=self.config.checkin_after_s)))
        return state, tuple(outputs)
