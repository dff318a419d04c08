"""Spelling correction towards the trigger vocabulary, guarded by a real dictionary.

People in distress misspell the very words that matter ("sucidle", "sertaline",
"overdoesed"). Before the phrase rules are tried, each typed word that is *not* a word
of English (or of the trigger lists) is compared with the words the trigger lists use,
and replaced by the closest one when it is close enough. Two guards keep ordinary
writing from being "corrected" into crisis words:

- a word found in the English frequency dictionary that ships with ``symspellpy``
  (82,765 words from Google's n-gram counts) is a real word and stays as it is:
  "nose" is never read as "noose", "died" never as "dies";
- only words of four letters or more are corrected, by one edit (two from seven
  letters on, and then only with the same first letter), and a trigger file's ``keep``
  list names words that must stay as typed.

Candidates are found with ``symspellpy`` (symmetric delete lookups) against the
trigger vocabulary only, so a lookup costs tens of microseconds; results are cached.
Measured against the full 82,765-word dictionary, ``symspellpy`` itself would need
about 128 MB and 17 s to load per process and up to 10 ms a lookup, which is why the
big dictionary is used as a guard (a set of words), not as the correction target.
"""

from __future__ import annotations

import functools
import importlib.resources
from collections.abc import Iterable

from symspellpy import SymSpell, Verbosity

_DICTIONARY = "frequency_dictionary_en_82_765.txt"
_MIN_TYPED = 4  # shorter words are never corrected: too many real words sit close
_TWO_EDITS_FROM = 7  # letters; shorter words may be one edit away only
_CACHE_LIMIT = 20_000


@functools.cache
def english_words() -> frozenset[str]:
    """Every word in the English frequency dictionary shipped with ``symspellpy``."""
    source = importlib.resources.files("symspellpy") / _DICTIONARY
    with source.open("r", encoding="utf-8") as lines:
        return frozenset(line.split(" ", 1)[0] for line in lines if line.strip())


class Speller:
    """Corrects unknown words to the closest word of ``vocabulary``.

    ``vocabulary`` is every word the trigger phrases and word lists use; ``keep`` are
    words that must stay as typed even when they are not in the dictionary.
    """

    def __init__(self, vocabulary: Iterable[str], keep: Iterable[str] = ()) -> None:
        words = sorted({w for w in vocabulary if w.isalpha() and len(w) >= _MIN_TYPED})
        self._vocabulary = frozenset(words)
        self._keep = frozenset(keep)
        self._symspell = SymSpell(max_dictionary_edit_distance=2, prefix_length=7)
        for word in words:
            self._symspell.create_dictionary_entry(word, 1)
        self._cache: dict[str, str] = {}

    def keeps(self, word: str) -> bool:
        """Whether the trigger file asked for ``word`` to stay as typed."""
        return word in self._keep

    def closest(self, typed: str) -> str:
        """The vocabulary word ``typed`` is a slip of, or ``typed`` itself."""
        if (
            len(typed) < _MIN_TYPED
            or not typed.isalpha()
            or typed in self._vocabulary
            or typed in self._keep
            or typed in english_words()
        ):
            return typed
        cached = self._cache.get(typed)
        if cached is not None:
            return cached
        best = self._lookup(typed)
        if len(self._cache) >= _CACHE_LIMIT:
            self._cache.clear()
        self._cache[typed] = best
        return best

    def _lookup(self, typed: str) -> str:
        limit = 2 if len(typed) >= _TWO_EDITS_FROM else 1
        found = self._symspell.lookup(typed, Verbosity.CLOSEST, max_edit_distance=limit)
        candidates = [
            s.term
            for s in found
            if s.distance <= limit and (s.distance == 1 or s.term[0] == typed[0])
        ]
        # Two equally close words ("cuting": "cutting" or "citing"): only the vocabulary
        # is searched, so every candidate is a trigger word; prefer the same first letter.
        candidates.sort(key=lambda term: term[0] != typed[0])
        return candidates[0] if candidates else typed

    def correct(self, text: str) -> str:
        """``text`` (normalised words) with each unknown word corrected."""
        return " ".join(self.closest(token) for token in text.split())
