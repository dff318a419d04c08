"""Plain words for what the service records in codes, as counsellors read them."""

from __future__ import annotations

from gateway.types import Priority

_HOW = {
    "typed": "asked in their own words",
    "command": "typed a command",
    "button": "pressed a button to ask for a person",
}
# The widget's own button (PROTOCOL.md ``ask_counsellor``), in the words it shows.
ASK_BUTTON = "Talk to a person"


_TOPICS = {
    "suicide": "suicide",
    "self_harm": "self-harm",
    "abuse": "danger from another person",
    "someone_else": "worried about someone else",
}
_LEVELS = {
    "imminent": "crisis: imminent",
    "high": "crisis: high risk",
    "concern": "crisis: concern",
}


def queue_label(priority: Priority, risk_level: str | None) -> str:
    """The badge of a waiting or live chat: "crisis: imminent", "asked for a person"."""
    if priority == Priority.CRISIS and risk_level in _LEVELS:
        return _LEVELS[risk_level]
    return priority.label


def describe_reason(reason: str | None, matched: str | None, topic: str | None = None) -> str:
    """Why a chat is in the queue: "suicide (end it): “end it all tonight”" and the like.

    Escalation reasons are ``crisis:<rule>`` or ``request:<how>`` (see the bot
    engine). ``matched`` is what the person wrote, in their own words, or the
    label of the button they pressed: pressed 'Talk to a person' (curly quotes).
    """
    if not reason:
        return ""
    kind, _, how = reason.partition(":")
    if kind == "crisis":
        rule = "" if how in _HOW or not how else how.replace(":", ", ").replace("_", " ")
        if topic in _TOPICS:
            text = _TOPICS[topic] + (f" ({rule})" if rule else "")
        else:
            text = f"crisis words ({rule})" if rule else "crisis"
    elif how == "button":
        label = ASK_BUTTON if matched in (None, "", "ask_counsellor") else matched
        return f"pressed \u2018{label}\u2019"
    else:
        text = _HOW.get(how, "asked for a person")
    if matched and how != "button":
        return f"{text}: \u201c{matched}\u201d"
    return text
