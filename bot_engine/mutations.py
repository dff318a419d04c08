"""Initial mutations: the first sound of a word changes after certain words.

Welsh changes the start of a word by what comes before it: "bywyd" (life) is "fy
mywyd" (my life), "ei fywyd" (his life), "ei bywyd" (her life); "tabledi" can be
"dabledi", "nhabledi" or "thabledi". A phrase list that spells only the dictionary
form misses most of what people actually write, so a trigger file whose settings say
``mutations = "cy"`` has every listed word matched in all of its forms:

========  =====  =====  ========
radical   soft   nasal  aspirate
========  =====  =====  ========
p         b      mh     ph
t         d      nh     th
c         g      ngh    ch
b         f      m
d         dd     n
g         (dropped)  ng
m         f
ll        l
rh        r
========  =====  =====  ========

and a word that starts with a vowel may take an "h" ("ei henw", her name). The forms
are generated from the word as written, so a list may give any one form of a word.
"""

from __future__ import annotations

# radical -> every mutated form of that initial (soft, nasal, aspirate)
_WELSH: dict[str, tuple[str, ...]] = {
    "p": ("b", "mh", "ph"),
    "t": ("d", "nh", "th"),
    "c": ("g", "ngh", "ch"),
    "b": ("f", "m"),
    "d": ("dd", "n"),
    "g": ("", "ng"),
    "m": ("f",),
    "ll": ("l",),
    "rh": ("r",),
}
_VOWELS = "aeiouwy"
_MIN_LETTERS = 3  # after dropping "g" a word must keep this many letters


_DIGRAPHS = ("ch", "ph", "th", "dd", "ff", "ng")  # letters of their own that never mutate


def welsh_forms(word: str) -> tuple[str, ...]:
    """``word`` and its mutated forms, radical first, without repeats.

    A word that starts with one of the digraphs ch, ph, th, dd, ff or ng (letters of
    their own in Welsh, or a form already mutated) is left as it is.
    """
    if word.startswith(_DIGRAPHS):
        return (word,)
    forms = [word]
    # Longest initials first: "ll" before "l", "rh" before "r".
    for radical in sorted(_WELSH, key=len, reverse=True):
        if word.startswith(radical):
            rest = word[len(radical) :]
            forms += [initial + rest for initial in _WELSH[radical]]
            break
    if word[:1] in _VOWELS:
        forms.append("h" + word)
    return tuple(dict.fromkeys(form for form in forms if len(form) >= _MIN_LETTERS or form == word))


MUTATIONS = {"cy": welsh_forms}
"""Mutation rules by language, as named in a trigger file's ``mutations`` setting."""
