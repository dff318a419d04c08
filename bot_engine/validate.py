"""Cross-checks over a whole script set, one problem line per mistake.

Errors stop the bot from starting: an unknown target node, a duplicate id (found while
reading), a node nothing leads to, a bad regular expression or keyword, an unknown
variable, a dead end (a node with no way on), a ``then`` loop. A missing translation
is a *warning*: the English text is shown instead, so a partial translation works.
"""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Iterable

from bot_engine.compiled import TemplateError, substitute, variables_in
from bot_engine.contacts import digits_of
from bot_engine.phrases import PhraseError, compile_phrases
from bot_engine.problems import ProblemLog
from bot_engine.script import (
    BUILTIN_VARIABLES,
    CRISIS_COUNSELLOR_SPECIALS,
    ENDING_SPECIALS,
    PRE_CONSENT_SPECIALS,
    Node,
    Rule,
    Script,
)


def validate(script: Script, log: ProblemLog) -> None:
    """Report every cross-reference problem of ``script`` into ``log``."""
    _check_specials(script, log)
    for word, target in script.commands.items():
        _target(script, log, script.file, "(commands)", word, target)
    _check_rules(script, log, script.file, "(shared_rules)", script.shared_rules)
    for node in script.nodes.values():
        _check_node(script, log, node)
    _check_reachable(script, log)
    for translation in script.translations.values():
        _check_translation(script, log, translation.locale)
    _check_variables(script, log)
    _check_contacts(script, log)


def _target(script: Script, log: ProblemLog, file: str, where: str, key: str, target: str) -> None:
    if target not in script.nodes:
        log.error(file, where, key, f"unknown target node {target!r}")


def _check_specials(script: Script, log: ProblemLog) -> None:
    for key, target in script.specials.items():
        if target not in script.nodes:
            log.error(script.file, "(script)", key, f"unknown target node {target!r}")
        elif key in PRE_CONSENT_SPECIALS and not script.nodes[target].before_consent:
            log.error(
                script.file, "(script)", key,
                f"node {target!r} must set before_consent = true (it can be shown before consent)",
            )  # fmt: skip
        elif key in PRE_CONSENT_SPECIALS:
            _check_pre_consent_chain(script, log, key, script.nodes[target])
        elif key in ENDING_SPECIALS and script.nodes[target].end != "keep":
            log.error(
                script.file, "(script)", key,
                f"node {target!r} is a notice shown when a chat ends: set end = \"keep\"",
            )  # fmt: skip
    routed = [n.id for n in script.nodes.values() if n.route == "crisis_counsellor"]
    missing = [key for key in CRISIS_COUNSELLOR_SPECIALS if key not in script.specials]
    if routed and missing:
        log.error(
            script.file, "(script)", missing[0],
            f"is required: node {routed[0]!r} routes a crisis reply by the service's state "
            f"({', '.join(CRISIS_COUNSELLOR_SPECIALS)})",
        )  # fmt: skip


def _check_pre_consent_chain(script: Script, log: ProblemLog, key: str, node: Node) -> None:
    """Nodes that follow a pre-consent special through ``then`` are shown before consent
    too; one that is not marked so would turn, say, a crisis reply into the consent
    question."""
    seen = {node.id}
    step = node.then
    while step is not None and step in script.nodes and step not in seen:
        seen.add(step)
        after = script.nodes[step]
        if not (after.before_consent or after.consent or after.route):
            log.error(
                script.file, step, "before_consent",
                f"must be true: this node follows {key} ({node.id!r}) through 'then', "
                "so it can be shown before consent",
            )  # fmt: skip
            return
        step = after.then


def _check_rules(
    script: Script, log: ProblemLog, file: str, where: str, rules: Iterable[Rule]
) -> None:
    for rule in rules:
        _target(script, log, file, where, f"{rule.where}.next", rule.next)
        if rule.regex is not None:
            try:
                re.compile(rule.regex)
            except re.error as error:
                log.error(file, where, f"{rule.where}.regex", f"bad regular expression: {error}")
        for index, keyword in enumerate(rule.keywords):
            try:
                compile_phrases([keyword])
            except PhraseError as error:
                log.error(file, where, f"{rule.where}.keywords[{index}]", f"bad keyword: {error}")


def _check_node(script: Script, log: ProblemLog, node: Node) -> None:
    file, where = script.file, node.id
    for key, target in node.targets:
        if not key.startswith("rules"):
            _target(script, log, file, where, key, target)
    _check_rules(script, log, file, where, node.rules)
    values = [choice.value for choice in node.choices]
    for value in sorted({v for v in values if values.count(v) > 1}):
        log.error(file, where, "choices", f"two choices send the same value {value!r}")
    if node.route is not None:
        if node.replies or node.choices or node.rules or node.then:
            log.error(file, where, "route", "a route node only passes the person on: "
                      "remove its replies, choices, rules and then")  # fmt: skip
        return
    if not node.replies:
        log.error(file, where, "replies", "is required (at least one message)")
    if node.then and node.choices:
        log.error(file, where, "choices", "never shown, because 'then' moves straight on")
    if node.end and (node.choices or node.then):
        log.error(file, where, "end", "the chat ends here, so choices and then cannot be used")
    if not (node.choices or node.free_text or node.end or node.then):
        log.error(file, where, "choices", "dead end: add choices, set free_text = true, "
                  "or end the chat here")  # fmt: skip
    seen = {node.id}
    step = node.then
    while step is not None and step in script.nodes:
        if step in seen:
            log.error(file, where, "then", f"'then' goes round in a loop through {step!r}")
            break
        seen.add(step)
        step = script.nodes[step].then


def _check_reachable(script: Script, log: ProblemLog) -> None:
    roots = list(script.specials.values()) + list(script.commands.values())
    roots += [rule.next for rule in script.shared_rules]
    for translation in script.translations.values():
        roots += list(translation.commands.values()) + [r.next for r in translation.shared_rules]
        roots += [r.next for rules in translation.rules.values() for r in rules]
    seen: set[str] = set()
    queue = deque(root for root in roots if root in script.nodes)
    while queue:
        node_id = queue.popleft()
        if node_id in seen:
            continue
        seen.add(node_id)
        queue.extend(t for _, t in script.nodes[node_id].targets if t in script.nodes)
    for node_id in script.nodes:
        if node_id not in seen:
            log.error(script.file, node_id, "id", "unreachable node: nothing leads here")


def _check_translation(script: Script, log: ProblemLog, locale: str) -> None:
    translation = script.translations[locale]
    file = translation.file
    for word, target in translation.commands.items():
        _target(script, log, file, "(commands)", word, target)
    _check_rules(script, log, file, "(shared_rules)", translation.shared_rules)
    named = set(translation.replies) | set(translation.labels) | set(translation.rules)
    for node_id in sorted(named - set(script.nodes)):
        log.error(file, node_id, "id", f"no node with this id in {script.file}")
    for node_id, rules in translation.rules.items():
        _check_rules(script, log, file, node_id, rules)
    for node in script.nodes.values():
        if node.replies and node.id not in translation.replies:
            log.warn(file, node.id, "replies", "missing translation (the English text is shown)")
        labels = translation.labels.get(node.id, {})
        values = {choice.value for choice in node.choices}
        for value in sorted(set(labels) - values):
            log.error(file, node.id, f"labels.{value}", "no choice with this value")
        for value in sorted(values - set(labels)):
            log.warn(file, node.id, f"labels.{value}", "missing translation (English is shown)")


def _check_variables(script: Script, log: ProblemLog) -> None:
    for locale in script.locales:
        known = set(BUILTIN_VARIABLES)
        for name in ("en", locale):
            if name in script.resources:
                known |= set(script.resources[name].variables)
        for file, where, key, text in _texts(script, locale):
            try:
                names = variables_in(text)
            except TemplateError as error:
                log.error(file, where, key, str(error))
                continue
            for name in names:
                if name not in known:
                    log.error(file, where, key, f"unknown variable {{{name}}}")


def _texts(script: Script, locale: str) -> Iterable[tuple[str, str, str, str]]:
    if locale == "en":
        for node in script.nodes.values():
            for index, text in enumerate(node.replies):
                yield script.file, node.id, f"replies[{index}]", text
            for index, choice in enumerate(node.choices):
                yield script.file, node.id, f"choices[{index}].label", choice.label
    else:
        translation = script.translations[locale]
        for node_id, replies in translation.replies.items():
            for index, text in enumerate(replies):
                yield translation.file, node_id, f"replies[{index}]", text
        for node_id, labels in translation.labels.items():
            for value, label in labels.items():
                yield translation.file, node_id, f"labels.{value}", label
    resources = script.resources.get(locale)
    if resources is not None:
        for index, entry in enumerate(resources.directory):
            for key, text in (("contact", entry.contact), ("about", entry.about)):
                yield resources.file, f"directory[{index}]", key, text
        for contact in resources.contacts:
            for key in ("number", "call", "text", "body"):
                value = getattr(contact, key)
                if value is not None:
                    yield resources.file, contact.where, key, value


def _check_contacts(script: Script, log: ProblemLog) -> None:
    """Each tap-to-call or tap-to-text number is a number once its variables are filled."""
    for locale in script.locales:
        resources = script.resources.get(locale)
        if resources is None:
            continue
        variables = script.resources["en"].variables if "en" in script.resources else {}
        variables = variables | resources.variables
        for contact in resources.contacts:
            number = substitute(contact.number, variables)
            if len(digits_of(number)) < 3 or re.search(r"[^\d +()\u00a0-]", number):
                log.error(
                    resources.file, contact.where, "number",
                    f"must be a phone number (digits and spaces), not {number!r}",
                )  # fmt: skip
