"""A script made ready for one locale: text filled in, rules compiled.

Everything that can be done once is done at load time, so that a step only looks
things up: replies have their variables filled, keyword rules are compiled with the
locale's normaliser, and translated labels and typed words are merged with English.

Reply text may use ``{helpline_samaritans}`` and any other variable defined in
``resources-<locale>.toml`` (English values fill gaps in other locales), plus the
built-in ``{resource_list}``: the resource directory as a short list. The service may
give values too (``EngineConfig.service_name`` fills ``{service_name}``), which win
over the files'. Write ``{{`` or ``}}`` for a literal brace.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass

from bot_engine.contacts import ContactLinks, digits_of, links_of
from bot_engine.detection import Detector
from bot_engine.files import BASE_LOCALE
from bot_engine.normalise import Normaliser
from bot_engine.phrases import compile_phrases
from bot_engine.script import Choice, Node, Resource, Rule, Script

# ---------------------------------------------------------------- variables

_PLACEHOLDER = re.compile(r"\{\{|\}\}|\{([^{}]*)\}|[{}]")
_NAME = re.compile(r"^[a-z_][a-z0-9_]*$")


class TemplateError(ValueError):
    """A brace in the wrong place, or a variable name that cannot exist."""


def variables_in(text: str) -> list[str]:
    """The variable names ``text`` uses; raises TemplateError for a stray brace."""
    names: list[str] = []
    for match in _PLACEHOLDER.finditer(text):
        token = match.group(0)
        if token in ("{{", "}}"):
            continue
        name = match.group(1)
        if name is None:
            raise TemplateError("a lone { or } (write {{ or }} for a brace)")
        if not _NAME.match(name.strip()):
            raise TemplateError(f"{{{name}}} is not a variable name")
        names.append(name.strip())
    return names


def substitute(text: str, variables: Mapping[str, str]) -> str:
    """``text`` with every known ``{name}`` replaced; unknown names stay visible."""

    def replace(match: re.Match[str]) -> str:
        token = match.group(0)
        if token in ("{{", "}}"):
            return token[0]
        name = (match.group(1) or "").strip()
        return variables.get(name, token)

    return _PLACEHOLDER.sub(replace, text)


def directory_text(entries: tuple[Resource, ...], variables: Mapping[str, str]) -> str:
    """The resource directory as one line per entry."""
    lines = []
    for entry in entries:
        line = f"• {entry.name}: {substitute(entry.contact, variables)}"
        if entry.about:
            line += f". {substitute(entry.about, variables)}"
        lines.append(line)
    return "\n".join(lines)


def locale_variables(
    script: Script, locale: str, given: Mapping[str, str] | None = None
) -> dict[str, str]:
    """Every variable available to ``locale``: ``given`` by the service (its name),
    then the locale's own, then English, then built-ins."""
    base = script.resources.get(BASE_LOCALE)
    own = script.resources.get(locale)
    variables: dict[str, str] = {}
    if base is not None:
        variables |= base.variables
    if own is not None:
        variables |= own.variables
    variables |= given or {}
    variables["resource_list"] = directory_text(locale_directory(script, locale), variables)
    return variables


def locale_directory(script: Script, locale: str) -> tuple[Resource, ...]:
    """The resource directory of ``locale``, or the English one when it has none."""
    own = script.resources.get(locale)
    if own is not None and own.directory:
        return own.directory
    base = script.resources.get(BASE_LOCALE)
    return base.directory if base is not None else ()


def locale_contacts(script: Script, locale: str, variables: Mapping[str, str]) -> ContactLinks:
    """The tap-to-call and tap-to-text links of ``locale``: its own contacts, then the
    English ones for numbers it does not declare (their labels stay in English)."""

    def fill(text: str) -> str:
        return substitute(text, variables)

    found = []
    for name in (locale, BASE_LOCALE):
        resources = script.resources.get(name)
        for contact in resources.contacts if resources is not None else ():
            found.append((digits_of(fill(contact.number)), links_of(contact, fill)))
    return ContactLinks(found)


# ---------------------------------------------------------------- rules


@dataclass(frozen=True, slots=True)
class Matcher:
    """One compiled rule: typed words and/or a regular expression, and where it leads."""

    next: str
    keywords: re.Pattern[str] | None
    regex: re.Pattern[str] | None

    def match(self, canonical: str, lowered: str) -> str | None:
        """What matched, or ``None``.

        Keywords are tried on the normalised text, a regex on the message in lower case.
        """
        if self.keywords is not None:
            found = self.keywords.search(canonical)
            if found:
                return found.group(0).strip()
        if self.regex is not None:
            found = self.regex.search(lowered)
            if found:
                return found.group(0)
        return None


@functools.lru_cache(maxsize=4096)
def _keywords(words: tuple[str, ...], normaliser: Normaliser) -> re.Pattern[str]:
    # Reloading the same script compiles the same keywords again; keep them.
    return compile_phrases(words, normaliser=normaliser)


def lowered(text: str) -> str:
    """The message as a regex rule sees it: Unicode-normalised and lower case."""
    return unicodedata.normalize("NFKC", text).lower().strip()


class LocaleScript:
    """One locale's view of a script, ready for the engine to step through."""

    def __init__(
        self,
        script: Script,
        locale: str,
        triggers: Detector,
        given: Mapping[str, str] | None = None,
    ) -> None:
        self.locale = locale
        self.triggers = triggers
        translation = script.translations.get(locale)
        variables = locale_variables(script, locale, given)
        self.texts: dict[str, tuple[str, ...]] = {}
        self.labels: dict[str, dict[str, str]] = {}
        self.rules: dict[str, tuple[Matcher, ...]] = {}
        self._by_label: dict[str, dict[str, Choice]] = {}
        for node in script.nodes.values():
            replies = node.replies
            labels = {c.value: c.label for c in node.choices}
            extra_rules: tuple[Rule, ...] = ()
            if translation is not None:
                replies = translation.replies.get(node.id, replies)
                labels |= translation.labels.get(node.id, {})
                extra_rules = translation.rules.get(node.id, ())
            self.texts[node.id] = tuple(substitute(text, variables) for text in replies)
            self.labels[node.id] = {v: substitute(t, variables) for v, t in labels.items()}
            self.rules[node.id] = self._compile(extra_rules + node.rules)
            self._by_label[node.id] = self._label_index(node)
        shared = script.shared_rules
        commands = dict(script.commands)
        if translation is not None:
            shared = translation.shared_rules + shared
            commands |= translation.commands
        self.shared = self._compile(shared)
        self.commands = commands
        self.directory = tuple(
            Resource(
                substitute(entry.name, variables),
                substitute(entry.contact, variables),
                substitute(entry.about, variables),
            )
            for entry in locale_directory(script, locale)
        )
        self.helplines = tuple(f"{entry.name}: {entry.contact}" for entry in self.directory)
        self.links = locale_contacts(script, locale, variables)

    def _compile(self, rules: tuple[Rule, ...]) -> tuple[Matcher, ...]:
        matchers = []
        for rule in rules:
            keywords = None
            if rule.keywords:
                keywords = _keywords(rule.keywords, self.triggers.normaliser)
            regex = re.compile(rule.regex) if rule.regex is not None else None
            matchers.append(Matcher(rule.next, keywords, regex))
        return tuple(matchers)

    def _label_index(self, node: Node) -> dict[str, Choice]:
        index: dict[str, Choice] = {}
        for choice in node.choices:
            for label in {choice.label, self.labels[node.id].get(choice.value, choice.label)}:
                index.setdefault(self.canonical(label), choice)
        return index

    def canonical(self, text: str) -> str:
        return self.triggers.normaliser.canonical(text)

    def is_label(self, node_id: str, choice: Choice, text: str) -> bool:
        """Whether ``text`` is just the button text of ``choice``."""
        return self.choice_for_label(node_id, text) == choice

    def choice_for_label(self, node_id: str, text: str) -> Choice | None:
        """The choice whose button text the person typed out in full, if any."""
        return self._by_label.get(node_id, {}).get(self.canonical(text))
