"""Turning what a person typed into plain lower-case words before matching.

People in distress type fast, misspell, stretch letters ("diiiie"), hide words from
filters ("k.i.l.l", "su1c1de", look-alike letters from other alphabets) or use emoji.
The steps below reduce all of that to lower-case ASCII words separated by single
spaces, so that a short list of phrases can match many ways of writing them:

1. ``fold``: remove invisible characters, turn emoji into words, map look-alike letters
   (Cyrillic, Greek, small capitals) to Latin ones, drop accents, lower-case, and drop
   apostrophes (so "can't" and "cant" are the same word).
2. leetspeak: digits and symbols used as letters inside words become letters.
3. every other symbol becomes a space; runs of three or more of the same letter
   shrink to two; common text-speak ("wanna", "u", "2") is rewritten (``Normaliser``).

Phrases are compiled with the same steps (see ``phrases.py``), so both sides agree.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping

import emoji
from unidecode import unidecode

_INVISIBLE = dict.fromkeys(map(ord, "\u00ad\u034f\u180e\u200b\u200c\u200d\u200e\u200f\u2060\ufeff"))

# Letters from other scripts that look like Latin letters. Mapped by shape, not by
# sound, because people use them to disguise words (Cyrillic "er" looks like "p"
# even though it is an "r" sound, and a transliteration would turn it into "r").
# Written as escapes so that no reader mistakes one alphabet for the other.
_LOOK_ALIKES = str.maketrans(
    {
        # Cyrillic
        "\u0430": "a", "\u0432": "b", "\u0435": "e", "\u0451": "e", "\u0437": "3", "\u043a": "k",
        "\u043c": "m", "\u043d": "h", "\u043e": "o", "\u0440": "p", "\u0441": "c", "\u0442": "t",
        "\u0443": "y", "\u0445": "x", "\u0455": "s", "\u0456": "i", "\u0457": "i", "\u0458": "j",
        "\u0501": "d", "\u04bb": "h", "\u04cf": "l", "\u051b": "q", "\u051d": "w", "\u044c": "b",
        "\u0433": "r", "\u043f": "n", "\u0438": "u", "\u0410": "A", "\u0412": "B", "\u0415": "E",
        "\u041a": "K", "\u041c": "M", "\u041d": "H", "\u041e": "O", "\u0420": "P", "\u0421": "C",
        "\u0422": "T", "\u0425": "X", "\u0423": "Y", "\u0406": "I", "\u0408": "J", "\u0405": "S",
        "\u0417": "3",
        # Greek
        "\u03b1": "a", "\u03b2": "b", "\u03b3": "y", "\u03b4": "d", "\u03b5": "e", "\u03b7": "n",
        "\u03b9": "i", "\u03ba": "k", "\u03bb": "l", "\u03bc": "u", "\u03bd": "v", "\u03bf": "o",
        "\u03c1": "p", "\u03c3": "o", "\u03c2": "s", "\u03c4": "t", "\u03c5": "u", "\u03c7": "x",
        "\u03c9": "w", "\u0391": "A", "\u0392": "B", "\u0395": "E", "\u0396": "Z", "\u0397": "H",
        "\u0399": "I", "\u039a": "K", "\u039c": "M", "\u039d": "N", "\u039f": "O", "\u03a1": "P",
        "\u03a4": "T", "\u03a5": "Y", "\u03a7": "X",
        # small capitals and other Latin look-alikes
        "\u1d00": "a", "\u0299": "b", "\u1d04": "c", "\u1d05": "d", "\u1d07": "e", "\u0262": "g",
        "\u029c": "h", "\u026a": "i", "\u1d0a": "j", "\u1d0b": "k", "\u029f": "l", "\u1d0d": "m",
        "\u0274": "n", "\u1d0f": "o", "\u1d18": "p", "\u0280": "r", "\ua731": "s", "\u1d1b": "t",
        "\u1d1c": "u", "\u1d20": "v", "\u1d21": "w", "\u028f": "y", "\u1d22": "z", "\u0131": "i",
    }
)  # fmt: skip

# Emoji that stand for a way of harming oneself become the plain word, so that the
# phrase lists can mention them; every other emoji becomes its English name.
_EMOJI_WORDS = {
    "kitchen_knife": "knife", "dagger": "knife", "razor": "razor", "pill": "pill",
    "syringe": "syringe", "knot": "rope", "drop_of_blood": "blood", "coffin": "coffin",
    "headstone": "grave", "water_pistol": "gun", "pistol": "gun", "bridge_at_night": "bridge",
    "railway_track": "railway track", "train": "train", "steam_locomotive": "train",
    "high-speed_train": "train", "bullet_train": "train", "railway_car": "train",
    "light_rail": "train", "metro": "train", "office_building": "building",
}  # fmt: skip

_APOSTROPHES = re.compile(r"['`\u00b4]")
_NOT_WORD = re.compile(r"[^a-z0-9]+")
_LONG_RUN = re.compile(r"([a-z])\1{2,}")
_RUNS = re.compile(r"([a-z])\1+")
_SPELT_OUT = re.compile(r"(?<![a-z0-9])(?:([a-z0-9])\1* ){2,}([a-z0-9])\2*(?![a-z0-9])")
_QUANTITY = re.compile(r"^x?([0-9]+)(?:x|s)?$")
_HAS_LETTER = re.compile(r"[a-z]")
_PUNCTUATION = ",.;:?\"'()[]"
_LONGEST_RUN = 80  # letters; a longer spelt-out run is left as it is
_UNKNOWN_LETTER = 5  # cost of a letter that belongs to no known word
_MEND_FROM = 5  # letters: a split word is joined again only when it is this long
_LEET = str.maketrans({"0": "o", "3": "e", "4": "a", "5": "s", "7": "t", "@": "a", "$": "s"})


def _emoji_word(chars: str, data: Mapping[str, object]) -> str:
    name = str(data.get("en", "")).strip(":")
    return " " + _EMOJI_WORDS.get(name, name.replace("_", " ")) + " "


def fold(text: str) -> str:
    """Lower-case ASCII with emoji as words, look-alikes mapped and accents dropped."""
    if text.isascii():  # nothing to map: no emoji, look-alikes or accents in ASCII
        return _APOSTROPHES.sub("", text.lower())
    text = unicodedata.normalize("NFKC", text).translate(_INVISIBLE)
    text = emoji.replace_emoji(text, replace=_emoji_word)
    text = text.translate(_LOOK_ALIKES)
    text = "".join(c for c in unicodedata.normalize("NFD", text) if not unicodedata.combining(c))
    return _APOSTROPHES.sub("", unidecode(text).lower())


def _unleet_token(token: str, *, one: str) -> str:
    quantity = _QUANTITY.match(token)
    if quantity:
        return quantity.group(1)
    if not _HAS_LETTER.search(token):
        return token
    # "11" and "||" inside a word are nearly always "ll" ("ki11"); a single one is "i"
    # in the usual reading and "l" in the alternative one.
    token = re.sub(r"[1|]{2,}", lambda m: "l" * len(m.group(0)), token)
    token = re.sub(r"[1|]", one, token)
    token = re.sub(r"(?<=[a-z0-9])!(?=[a-z])", "i", token)
    return token.translate(_LEET)


def unleet(text: str, *, one: str = "i") -> str:
    """Replace digits and symbols used as letters inside words ("su1c1de").

    Numbers on their own are left alone so that quantities such as "30 paracetamol"
    survive. A single "1" or "|" inside a word reads as ``one``: "i" in the usual
    reading, "l" in the alternative one ("ki1l").
    """
    tokens = text.split()
    spelt = _spelt_out(tokens)
    return " ".join(
        _unleet_char(token, one) if index in spelt else _unleet_token(token, one=one)
        for index, token in enumerate(tokens)
    )


def _unleet_char(chars: str, one: str) -> str:
    return "".join(one if char in "1|" else char.translate(_LEET) for char in chars)


def _spelt_out(tokens: list[str]) -> set[int]:
    """Positions of one-letter tokens ("k", "ll") in runs of three or more with a letter
    among them: a word spelt out letter by letter ("k 1 l l"), where digits are letters."""
    found: set[int] = set()
    run: list[int] = []
    for index, token in enumerate([*tokens, ""]):
        if len(set(token.strip(_PUNCTUATION))) == 1:
            run.append(index)
            continue
        if len(run) >= 3 and any(tokens[i].strip(_PUNCTUATION).isalpha() for i in run):
            found.update(run)
        run = []
    return found


def squeeze(text: str) -> str:
    """Symbols to spaces, runs of three or more equal letters to two, single spaces.

    Two letters stay two, so "noose" never becomes "nose"; "diiiie" becomes "diie",
    which the phrase patterns still read as "die".
    """
    text = _NOT_WORD.sub(" ", text)
    return _LONG_RUN.sub(r"\1\1", text).strip()


def letters_pattern(word: str, *, inner_spaces: bool) -> str:
    """Regex for one normalised word: letters may repeat ("kiiill" for "kill").

    With ``inner_spaces`` a single space may sit between letters, which catches words
    spelt out ("k i l l") or split by symbols ("sui-cide") once symbols are spaces.
    """
    pieces: list[str] = []
    for run in re.finditer(r"([a-z])\1*|[0-9]", word):
        char = run.group(0)[0]
        if char.isdigit():
            pieces.append(char + (" ?" if inner_spaces else ""))
            continue
        # one letter matches one or more; a double letter matches two or more
        first = (
            f"{char} ?{char}"
            if inner_spaces and len(run.group(0)) > 1
            else char * len(run.group(0)[:2])
        )
        pieces.append(first + (f"[{char} ]*" if inner_spaces else "+"))
    pattern = "".join(pieces)
    if len(word) >= 3 and word[-1].isalpha() and word[-1] != "s":
        pattern += "s?"
    return pattern


def single_letters(text: str) -> str:
    """``text`` with every run of one letter made single ("kiill" -> "kil")."""
    return _RUNS.sub(r"\1", text)


def bounded(pattern: str) -> re.Pattern[str]:
    """Compile ``pattern`` so that it only matches whole words."""
    return re.compile(rf"(?<![a-z0-9])(?:{pattern})(?![a-z0-9])")


class Normaliser:
    """The text pipeline for one locale, with that locale's text-speak rewrites.

    ``vocabulary`` (the words the locale's phrases use) lets a word spelt out letter
    by letter be read back as words: "c a n t k e e p m y s e l f s a f e" becomes
    "cant keep myself safe" before the rewrites apply.
    """

    def __init__(
        self, rewrites: Iterable[tuple[str, str]] = (), vocabulary: Iterable[str] = ()
    ) -> None:
        compiled: list[tuple[int, re.Pattern[str], str, str]] = []
        for source, target in rewrites:
            words = squeeze(unleet(fold(source))).split()
            if not words:
                continue
            # Short sources ("u", "r", "2") match exactly: "rr" is not "r".
            pattern = " ".join(
                letters_pattern(w, inner_spaces=False) if len(w) > 2 else re.escape(w)
                for w in words
            )
            key = " ".join(words)
            compiled.append((len(source), bounded(pattern), squeeze(fold(target)), key))
        compiled.sort(key=lambda item: -item[0])
        # Each rewrite with the first two letters of its source (doubled letters made
        # single): a text without them cannot match, so the pattern is not tried.
        self._rewrites = [
            (single_letters(pattern_source)[:2], pattern, target)
            for _, pattern, target, pattern_source in compiled
        ]
        # Keyed with doubled letters made single, so "k i i l l" still finds "kill".
        self._vocabulary = {single_letters(word): word for word in sorted(vocabulary)}
        self._words = frozenset(self._vocabulary.values())
        self._longest = max((len(word) for word in self._vocabulary), default=0)

    def rewrite(self, text: str) -> str:
        """Apply the rewrites, leaving words spelt out letter by letter alone."""
        pieces: list[str] = []
        start = 0
        for run in _SPELT_OUT.finditer(text):
            pieces += [self._rewrite(text[start : run.start()]), run.group(0)]
            start = run.end()
        pieces.append(self._rewrite(text[start:]))
        return "".join(pieces)

    def _rewrite(self, text: str) -> str:
        for key, pattern, target in self._rewrites:
            if key in text:
                text = pattern.sub(target, text)
        return text

    def segment(self, letters: str) -> str:
        """Split run-together letters into vocabulary words, fewest pieces first.

        Letters that fit no word stay single; very long runs are left as they are.
        """
        pieces = self._pieces(letters, unknown_letters=True)
        return " ".join(pieces) if pieces is not None else letters

    def split_known(self, word: str) -> list[str] | None:
        """``word`` as two or more vocabulary words run together ("iwanttodie"), or None.

        Fewest pieces win; every piece must be a known word.
        """
        if not word.isalpha():
            return None
        pieces = self._pieces(word, unknown_letters=False)
        return pieces if pieces is not None and len(pieces) > 1 else None

    def _pieces(self, letters: str, *, unknown_letters: bool) -> list[str] | None:
        """The cheapest split of ``letters`` into vocabulary words: each word costs 1 and,
        with ``unknown_letters``, a letter that fits no word costs ``_UNKNOWN_LETTER``."""
        if len(letters) > _LONGEST_RUN or not self._vocabulary:
            return None
        # Letters are looked up with doubled letters made single, piece by piece: made
        # single first, "cantgoonanymore" would lose the second "o" of "go on".
        best: list[tuple[int, list[str]] | None] = [(0, [])] + [None] * len(letters)
        for end in range(1, len(letters) + 1):
            for start in range(max(0, end - self._longest - 2), end):
                known = best[start]
                piece = letters[start:end]
                word = self._vocabulary.get(single_letters(piece))
                if known is None or (word is None and (len(piece) > 1 or not unknown_letters)):
                    continue
                cost = known[0] + (1 if word is not None else _UNKNOWN_LETTER)
                current = best[end]
                if current is None or cost < current[0]:
                    best[end] = (cost, [*known[1], word or piece])
        found = best[-1]
        return found[1] if found is not None else None

    def canonical(self, text: str) -> str:
        """The usual reading of ``text``: what keyword rules are matched against."""
        return self.rewrite(squeeze(unleet(fold(text))))

    def variants(self, text: str) -> tuple[str, ...]:
        """Every reading of ``text`` worth matching, without repeats.

        Leetspeak is read twice (a lone "1" as "i" and as "l"), and words spelt out
        letter by letter are read both as spaced letters and as the words they spell.
        """
        folded = fold(text)
        readings: list[str] = []
        for one in ("i", "l"):
            squeezed = squeeze(unleet(folded, one=one))
            joined = _SPELT_OUT.sub(
                lambda run: self.segment(run.group(0).replace(" ", "")), squeezed
            )
            mended = self.mend(joined)
            candidates = [self.rewrite(squeezed), self._rewrite(joined), self._rewrite(mended)]
            if joined != squeezed:
                # Fewest pieces can read "o v e r d o s e x" as "over do sex"; longest
                # words first reads it as "overdose x". Both are tried.
                greedy = _SPELT_OUT.sub(
                    lambda run: self.longest_first(run.group(0).replace(" ", "")), squeezed
                )
                candidates.append(self._rewrite(greedy))
            for reading in candidates:
                if reading not in readings:
                    readings.append(reading)
        return tuple(readings)

    def longest_first(self, letters: str) -> str:
        """Run-together letters split by taking the longest known word at each point."""
        pieces: list[str] = []
        index = 0
        while index < len(letters):
            for end in range(min(len(letters), index + self._longest + 2), index, -1):
                word = self._vocabulary.get(single_letters(letters[index:end]))
                if word is not None or end == index + 1:
                    pieces.append(word or letters[index:end])
                    index = end
                    break
        return " ".join(pieces)

    def mend(self, text: str) -> str:
        """Words split by a space or symbol joined again ("sui-cide", "over dose").

        Two neighbouring pieces are joined when together they make a known word of five
        letters or more and at least one of them is not a known word on its own.
        """
        words = text.split()
        out: list[str] = []
        index = 0
        while index < len(words):
            first = words[index]
            if index + 1 < len(words):
                second = words[index + 1]
                whole = self._vocabulary.get(single_letters(first + second))
                known = self._words
                if (
                    whole is not None
                    and len(whole) >= _MEND_FROM
                    and not (first in known and second in known)
                ):
                    out.append(first + second)
                    index += 2
                    continue
            out.append(first)
            index += 1
        return " ".join(out)
