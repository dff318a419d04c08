"""The small phrase language used in trigger files and keyword rules.

A phrase is words separated by spaces, matched as whole words in normalised text:

- ``kill myself``: these words in this order (letters may repeat, spaces and symbols
  between letters are ignored, and a plural "s" is allowed at the end of longer words);
- ``kill/killing``: either word;
- ``(be alive/be here)``: either group of words (brackets allow several words);
- ``[just]`` or ``[just/really]``: a word (or group of words) that may be left out;
- ``{pills}``: any entry of the word list ``pills`` (defined in a trigger file);
  ``[{adverbs}]`` makes a list optional;
- ``{number}``: any number, ``{big_number}``: a number at least the file's
  ``big_number_from`` setting (10 by default);
- ``...``: up to three other words;
- ``^`` at the start or ``$`` at the end: the message starts or ends there, so
  ``^human$`` is a message that says only "human".

In trigger files a phrase may also join parts with ``&``: every part must appear
somewhere in the message, in any order (``jump & bridge/roof``).

Phrases go through the same normalising steps as the text (``normalise.py``), so
"can't", "cant" and "can not" are written once.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from bot_engine.mutations import MUTATIONS
from bot_engine.normalise import (
    Normaliser,
    bounded,
    fold,
    letters_pattern,
    single_letters,
    squeeze,
)

BUILTIN_LISTS = ("number", "big_number")
_TOKEN = re.compile(r"\.\.\.|\{[^{}\[\]()]*\}|\[[^\[\]()]*\]|\([^\[\]()]*\)|[^\s\[\]{}()]+|\S")
_GAP = "(?:[a-z0-9]+ ){0,3}"
_NAME = re.compile(r"^[a-z0-9_]+$")
_MUTATED_FROM = 3  # letters: shorter words ("fy", "yn") are never mutated


class PhraseError(ValueError):
    """A phrase that cannot be compiled; the message says why in plain words."""


@dataclass(frozen=True, slots=True)
class _Unit:
    """One position in a phrase: alternatives (text or ``{list}``), a gap, or optional."""

    options: tuple[str, ...]
    optional: bool = False
    gap: bool = False

    @property
    def plain_word(self) -> bool:
        only = self.options[0] if len(self.options) == 1 else ""
        return (
            not self.optional
            and not self.gap
            and bool(only)
            and " " not in only
            and (not only.startswith("{"))
        )


def at_least(number: int) -> str:
    """Regex for whole numbers greater than or equal to ``number``."""
    digits = str(max(number, 0))
    width = len(digits)
    parts = [f"[1-9][0-9]{{{width},}}"]
    for index, char in enumerate(digits):
        prefix, rest = digits[:index], width - index - 1
        low = int(char) + (1 if rest else 0)
        if low <= 9:
            parts.append(f"{prefix}[{low}-9]" + (f"[0-9]{{{rest}}}" if rest else ""))
    return "(?:" + "|".join(parts) + ")"


def _tokens(phrase: str) -> list[_Unit]:
    units: list[_Unit] = []
    for piece in _TOKEN.findall(fold(phrase)):
        if piece == "...":
            units.append(_Unit(options=("...",), gap=True))
        elif piece.startswith("{"):
            units.append(_Unit(options=(piece,)))
        elif piece.startswith(("[", "(")) and len(piece) > 1:
            inner = piece[1:-1]
            if not inner.strip():
                raise PhraseError(f"empty {piece} in phrase")
            options = tuple(o.strip() for o in inner.split("/"))
            units.append(_Unit(options=options, optional=piece.startswith("[")))
        elif piece in "[]{}()":
            raise PhraseError(f"unbalanced {piece!r} in phrase")
        else:
            units.append(_Unit(options=tuple(piece.split("/"))))
    for unit in units:
        if any(not option for option in unit.options):
            raise PhraseError("empty alternative (a stray '/') in phrase")
        for option in unit.options:
            if not option.startswith(("{", "...")) and not re.search("[a-z0-9]", option):
                raise PhraseError(f"{option!r} has no letters or digits")
    return units


def _rewrite_runs(units: list[_Unit], normaliser: Normaliser) -> list[_Unit]:
    """Apply the locale's rewrites across runs of plain words ("do not" -> "dont")."""
    result: list[_Unit] = []
    run: list[str] = []

    def flush() -> None:
        if run:
            words = normaliser.rewrite(squeeze(" ".join(run))).split()
            result.extend(_Unit(options=(word,)) for word in words)
            run.clear()

    for unit in units:
        if unit.plain_word:
            run.append(unit.options[0])
        else:
            flush()
            result.append(unit)
    flush()
    return result


@functools.lru_cache(maxsize=8192)
def _literal(text: str, normaliser: Normaliser, mutations: str = "") -> str:
    words = normaliser.rewrite(squeeze(text)).split()
    if not words:
        raise PhraseError(f"{text!r} has no letters or digits")
    return " ?".join(_word(word, mutations) for word in words)


def _word(word: str, mutations: str) -> str:
    # Letters may repeat ("kiiill"); words spelt out or split by symbols are joined
    # again by the normaliser (``variants``), so no space is allowed inside a word.
    mutate = MUTATIONS.get(mutations)
    if mutate is None or len(word) < _MUTATED_FROM or not word.isalpha():
        return letters_pattern(word, inner_spaces=False)
    forms = [letters_pattern(form, inner_spaces=False) for form in mutate(word)]
    return forms[0] if len(forms) == 1 else "(?:" + "|".join(forms) + ")"


def _option(
    option: str,
    lists: Mapping[str, Sequence[str]],
    normaliser: Normaliser,
    big_number_from: int,
    mutations: str = "",
) -> str:
    if not option.startswith("{"):
        return _literal(option, normaliser, mutations)
    name = option[1:-1].strip()
    if name == "number":
        return "[0-9]+"
    if name == "big_number":
        return at_least(big_number_from)
    if name not in lists:
        raise PhraseError(f"unknown word list {{{name}}}")
    entries = sorted(
        (_literal(entry, normaliser, mutations) for entry in lists[name]), key=len, reverse=True
    )
    if not entries:
        raise PhraseError(f"word list {{{name}}} is empty")
    return "(?:" + "|".join(entries) + ")"


def phrase_pattern(
    phrase: str,
    *,
    lists: Mapping[str, Sequence[str]] | None = None,
    normaliser: Normaliser | None = None,
    big_number_from: int = 10,
    mutations: str = "",
) -> str:
    """The regex source for one phrase (without word boundaries); raises PhraseError.

    ``mutations`` names a language whose initial mutations every word may take
    (``"cy"``, see ``mutations.py``).
    """
    normaliser = normaliser or Normaliser()
    text = phrase.strip()
    at_start, at_end = text.startswith("^"), text.endswith("$")
    text = text.removeprefix("^").removesuffix("$")
    units = _rewrite_runs(_tokens(text), normaliser)
    if not any(not unit.optional and not unit.gap for unit in units):
        raise PhraseError("phrase needs at least one word that is not optional")
    pieces: list[str] = []
    for unit in units:
        if unit.gap:
            pieces.append(_GAP)
            continue
        options = [
            _option(o, lists or {}, normaliser, big_number_from, mutations) for o in unit.options
        ]
        body = options[0] if len(options) == 1 else "(?:" + "|".join(options) + ")"
        pieces.append(f"(?:{body} ?)?" if unit.optional else f"(?:{body}) ?")
    return ("\\A" if at_start else "") + "".join(pieces) + ("\\Z" if at_end else "")


def phrase_needs(
    phrase: str,
    *,
    lists: Mapping[str, Sequence[str]] | None = None,
    normaliser: Normaliser | None = None,
    mutations: str = "",
) -> tuple[str, ...]:
    """Pieces of text one of which must be in a reading for ``phrase`` to match it.

    They are compared with the reading with doubled letters made single
    (``single_letters``), so letters stretched in either never hide a piece. The
    most selective required word of the phrase is chosen (the one whose shortest
    spelling is longest); ``()`` means the phrase must always be tried.
    """
    normaliser = normaliser or Normaliser()
    text = phrase.strip().removeprefix("^").removesuffix("$")
    best: tuple[str, ...] = ()
    best_key = (0, 0)
    for unit in _rewrite_runs(_tokens(text), normaliser):
        if unit.optional or unit.gap:
            continue
        pieces: set[str] = set()
        for option in unit.options:
            pieces |= _option_pieces(option, lists or {}, normaliser, mutations)
        if not pieces or "" in pieces:
            continue
        key = (min(len(piece) for piece in pieces), -len(pieces))
        if key > best_key:
            best, best_key = tuple(sorted(pieces)), key
    return best


def _option_pieces(
    option: str, lists: Mapping[str, Sequence[str]], normaliser: Normaliser, mutations: str
) -> set[str]:
    if option.startswith("{"):
        name = option[1:-1].strip()
        if name in BUILTIN_LISTS:
            return set("0123456789")
        entries = lists.get(name, ())
        return {piece for entry in entries for piece in _text_pieces(entry, normaliser, mutations)}
    return _text_pieces(option, normaliser, mutations)


def _text_pieces(text: str, normaliser: Normaliser, mutations: str) -> set[str]:
    words = normaliser.rewrite(squeeze(text)).split()
    if not words:
        return {""}
    word = max(words, key=len)
    mutate = MUTATIONS.get(mutations)
    if mutate is not None and len(word) >= _MUTATED_FROM and word.isalpha():
        # Mutations change only the start of a word: what all forms end with stays.
        forms = [single_letters(form) for form in mutate(word)]
        return {_common_ending(forms)}
    return {single_letters(word)}


def _common_ending(words: Sequence[str]) -> str:
    ending = words[0]
    for word in words[1:]:
        while not word.endswith(ending):
            ending = ending[1:]
    return ending


def compile_phrases(
    phrases: Iterable[str],
    *,
    lists: Mapping[str, Sequence[str]] | None = None,
    normaliser: Normaliser | None = None,
    big_number_from: int = 10,
) -> re.Pattern[str]:
    """One whole-word regex matching any of ``phrases``; raises PhraseError."""
    sources = [
        phrase_pattern(p, lists=lists, normaliser=normaliser, big_number_from=big_number_from)
        for p in phrases
    ]
    return compile_sources(sources)


def compile_sources(sources: Sequence[str]) -> re.Pattern[str]:
    """One whole-word regex from phrase patterns made by ``phrase_pattern``."""
    if not sources:
        raise PhraseError("no phrases given")
    return _compiled("|".join(f"(?:{source})" for source in sources))


def compiled_phrase(source: str) -> re.Pattern[str]:
    """The whole-word regex of one phrase pattern, compiled once per process."""
    return _compiled(source)


@functools.lru_cache(maxsize=16384)
def _compiled(source: str) -> re.Pattern[str]:
    # Compiling the long trigger patterns is the slow part of loading a script set;
    # the same lists are compiled for every locale and every reload, so keep them.
    return bounded(source)


def valid_list_name(name: str) -> bool:
    """Word list names are lower-case letters, digits and underscores."""
    return bool(_NAME.match(name)) and name not in BUILTIN_LISTS
