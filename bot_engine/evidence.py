"""Quoting the person's own words for a match found in normalised text.

Rules match a normalised reading of a message ("i took a whole packet of
paracetamol"); a counsellor should see what the person actually typed ("Took a
WHOLE pakcet of paracetamol!!"). ``own_words`` finds the shortest stretch of the
message whose words, each normalised on its own, cover the matched words.
"""

from __future__ import annotations

import re
from collections.abc import Callable

_TOKEN = re.compile(r"\S+")
_REPEATS = re.compile(r"([a-z])\1+")
_EDGE_PUNCTUATION = " \t\"'()[]{}<>,.;:!?"
_MAX_TEXT = 4000  # characters searched; evidence sits in the first part of a long message
_MAX_QUOTE = 200


def _plain(word: str) -> str:
    return _REPEATS.sub(r"\1", word)


def own_words(text: str, found: str, words_of: Callable[[str], list[str]]) -> str:
    """The part of ``text`` that ``found`` (normalised, parts joined by " + ") came from.

    ``words_of`` gives the normalised words one typed token stands for. When no part
    of the message can be matched up, ``found`` itself is returned.
    """
    tokens = [(m.start(), m.end()) for m in _TOKEN.finditer(text[:_MAX_TEXT])]
    forms = [{_plain(w) for w in words_of(text[a:b])} for a, b in tokens]
    joined = ["".join(sorted(f, key=len)[-1:]) for f in forms]
    spans: list[tuple[int, int]] = []
    for part in found.split(" + "):
        targets = [_plain(w) for w in part.split()]
        span = _best_window(tokens, forms, joined, targets)
        if span is None:
            return found[:_MAX_QUOTE]
        spans.append(span)
    # Parts of a combination are quoted in the order the person wrote them.
    quotes = [text[a:b].strip(_EDGE_PUNCTUATION) for a, b in sorted(set(spans))]
    quote = " … ".join(q for q in quotes if q)
    return (quote or found)[:_MAX_QUOTE]


def _best_window(
    tokens: list[tuple[int, int]],
    forms: list[set[str]],
    joined: list[str],
    targets: list[str],
) -> tuple[int, int] | None:
    """The shortest run of tokens covering every target word, as a character span."""
    if not targets:
        return None
    wanted = set(targets)
    letters = "".join(targets)
    widest = len(targets) * 3 + 3
    best: tuple[int, int] | None = None
    for first in range(len(tokens)):
        if not forms[first] & wanted and not letters.startswith(joined[first][:1] or "\0"):
            continue
        seen: set[str] = set()
        spelt = ""
        for last in range(first, min(len(tokens), first + widest)):
            seen |= forms[last]
            spelt += joined[last]
            if wanted <= seen or letters in spelt:
                if best is None or last - first < best[1] - best[0]:
                    best = (first, last)
                break
    if best is None:
        return None
    return tokens[best[0]][0], tokens[best[1]][1]
