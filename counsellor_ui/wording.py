"""Plain words for what the service records in codes, as counsellors read them."""

from __future__ import annotations

_HOW = {
    "typed": "asked in their own words",
    "command": "typed a command",
    "button": "pressed a button to ask for a person",
}


def describe_reason(reason: str | None, matched: str | None) -> str:
    """Why a chat is in the queue: "crisis words (suicide): “end my life”" and the like.

    Escalation reasons are ``crisis:<rule>`` or ``request:<how>`` (see the bot
    engine); a button's value is an identifier, so it is never quoted.
    """
    if not reason:
        return ""
    kind, _, how = reason.partition(":")
    if kind == "crisis":
        if how in _HOW or not how:
            text = "crisis"
        else:
            text = "crisis words (" + how.replace(":", ", ").replace("_", " ") + ")"
    else:
        text = _HOW.get(how, "asked for a person")
    if matched and how != "button":
        return f"{text}: \u201c{matched}\u201d"
    return text
