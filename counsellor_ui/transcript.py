"""The transcript as the conversation view shows it: who spoke, phases marked, trigger found.

Pure functions over stored lines, so the marking is tested without a page.
"""

from __future__ import annotations

from dataclasses import dataclass

from gateway.actions.messages import TranscriptLine
from gateway.types import SenderKind


@dataclass(frozen=True)
class ShownLine:
    seq: int
    sender: str
    who: str
    at_iso: str
    # The text in three parts: before the trigger, the trigger itself, after it.
    # Only a line that contains the phrase that escalated the chat has a middle part.
    before: str
    trigger: str
    after: str
    # A heading shown above this line where the conversation changes hands.
    phase: str | None


def speaker(line: TranscriptLine) -> str:
    if line.sender == SenderKind.USER:
        return "Person"
    if line.sender == SenderKind.BOT:
        return "Bot (automatic)"
    if line.sender == SenderKind.COUNSELLOR:
        return line.counsellor_name or "Counsellor"
    return "System"


def split_trigger(text: str, matched: str | None, locale: str = "en") -> tuple[str, str, str]:
    """``text`` cut around the words that escalated the chat, if this line holds them.

    ``matched`` is the person's own words as the detector quoted them; a combination
    ("roof … jump") is found by its first part.
    """
    for part in (matched or "").split(" \u2026 ")[:1]:
        part = part.strip()
        start = text.lower().find(part.lower()) if part else -1
        if start >= 0:
            end = start + len(part)
            return text[:start], text[start:end], text[end:]
    return text, "", ""


def shown_transcript(
    lines: list[TranscriptLine], matched: str | None, locale: str = "en"
) -> list[ShownLine]:
    """Lines with a heading wherever the bot hands over to people, or gets the chat back."""
    shown: list[ShownLine] = []
    phase = ""
    for line in lines:
        heading = None
        if line.sender == SenderKind.BOT and phase != "bot":
            heading = "With the bot (automatic)" if not phase else "Back with the bot"
            phase = "bot"
        elif line.sender in (SenderKind.COUNSELLOR, SenderKind.SYSTEM) and phase != "people":
            heading = "With a counsellor"
            phase = "people"
        elif not phase:
            phase = "people"
        before, trigger, after = (
            split_trigger(line.text, matched, locale)
            if line.sender == SenderKind.USER
            else (line.text, "", "")
        )
        shown.append(
            ShownLine(
                seq=line.seq,
                sender=line.sender.value,
                who=speaker(line),
                at_iso=line.at_iso,
                before=before,
                trigger=trigger,
                after=after,
                phase=heading,
            )
        )
    return shown
