"""Turning the parsed TOML of a script set into a ``Script``, noting every mistake.

The reader never stops at the first problem: a charity staff member gets one line per
mistake and can fix them all in one go. Cross-checks between nodes (unknown targets,
unreachable nodes, missing translations, variables) happen in ``validate.py``.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import cast

from bot_engine.detection import Detector, build_trigger_sets, packaged_trigger_sources
from bot_engine.files import BASE_LOCALE, DEFAULT_SCRIPT_DIR, ScriptFiles, read_script_dir
from bot_engine.problems import Fields, ProblemLog
from bot_engine.script import (
    OPTIONAL_SPECIAL_NODES,
    ROUTES,
    SPECIAL_NODES,
    Choice,
    Contact,
    Node,
    Resource,
    Resources,
    Route,
    Rule,
    Script,
    Translation,
)
from bot_engine.triggers import TriggerSource
from bot_engine.types import Priority
from bot_engine.validate import validate

_ID = re.compile(r"^[a-z0-9_]+$")
_NODE_KEYS = (
    "id", "replies", "choices", "rules", "then", "fallback", "free_text", "before_consent",
    "consent", "mood", "escalate", "end", "route", "shared_rules",
)  # fmt: skip
_TRANSLATED_NODE_KEYS = ("id", "replies", "labels", "rules")


def _rules(log: ProblemLog, file: str, where: str, items: list[object], prefix: str) -> list[Rule]:
    rules: list[Rule] = []
    for index, item in enumerate(items):
        key = f"{prefix}[{index}]"
        fields = Fields(log, file, where, item, ("keywords", "regex", "next"), f"{key}.")
        keywords = fields.texts("keywords")
        regex = fields.text("regex")
        target = fields.text("next", required=True)
        if not keywords and regex is None and fields.data:
            log.error(file, where, key, "a rule needs keywords or a regex")
        elif target is not None:
            rules.append(Rule(target, tuple(keywords), regex, key))
    return rules


def _commands(log: ProblemLog, file: str, data: dict[str, object]) -> dict[str, str]:
    commands: dict[str, str] = {}
    for word, target in data.items():
        if not _ID.match(word):
            log.error(file, "(commands)", word, "command words use a-z, 0-9 and _ only")
        elif not isinstance(target, str):
            log.error(file, "(commands)", word, "must name a node")
        else:
            commands[word] = target
    return commands


def _node(log: ProblemLog, file: str, index: int, item: object) -> Node | None:
    where = f"node[{index}]"
    if isinstance(item, dict) and isinstance(item.get("id"), str):
        where = item["id"]
    fields = Fields(log, file, where, item, _NODE_KEYS)
    node_id = fields.text("id", required=True)
    if node_id is not None and not _ID.match(node_id):
        log.error(file, where, "id", "node ids use a-z, 0-9 and _ only")
    choices: list[Choice] = []
    for number, raw in enumerate(fields.tables("choices")):
        if raw == {}:
            log.error(file, where, f"choices[{number}]", "empty choice")
            continue
        choice = Fields(log, file, where, raw, ("label", "value", "next"), f"choices[{number}].")
        label, value = choice.text("label", required=True), choice.text("value", required=True)
        target = choice.text("next", required=True)
        if label and value and target:
            choices.append(Choice(label, value, target))
    escalate = fields.choice("escalate", ("requested", "crisis"))
    end = fields.choice("end", ("keep", "erase"))
    route = fields.choice("route", ROUTES)
    shared = fields.data.get("shared_rules", True)
    if not isinstance(shared, bool):
        log.error(file, where, "shared_rules", "must be true or false")
        shared = True
    node = Node(
        id=node_id or "",
        replies=tuple(fields.texts("replies")),
        choices=tuple(choices),
        rules=tuple(_rules(log, file, where, fields.tables("rules"), "rules")),
        then=fields.text("then"),
        fallback=fields.text("fallback"),
        free_text=fields.flag("free_text"),
        before_consent=fields.flag("before_consent"),
        consent=fields.flag("consent"),
        mood=fields.text("mood"),
        escalate=Priority(escalate) if escalate else None,
        end="erase" if end == "erase" else "keep" if end == "keep" else None,
        route=cast("Route | None", route),  # one of ROUTES, checked just above
        shared_rules=shared,
    )
    return node if node_id is not None else None


def _nodes(log: ProblemLog, file: str, items: list[object]) -> dict[str, Node]:
    nodes: dict[str, Node] = {}
    for index, item in enumerate(items):
        node = _node(log, file, index, item)
        if node is None:
            continue
        if node.id in nodes:
            log.error(file, node.id, "id", "duplicate node id: another node already uses it")
            continue
        nodes[node.id] = node
    return nodes


def parse_translation(log: ProblemLog, locale: str, file: str, data: object) -> Translation:
    top = Fields(log, file, "-", data, ("script", "commands", "shared_rules", "node"))
    Fields(log, file, "(script)", top.mapping("script"), ("name",)).text("name")
    replies: dict[str, tuple[str, ...]] = {}
    labels: dict[str, dict[str, str]] = {}
    rules: dict[str, tuple[Rule, ...]] = {}
    for index, item in enumerate(top.tables("node")):
        where = (
            item["id"]
            if isinstance(item, dict) and isinstance(item.get("id"), str)
            else (f"node[{index}]")
        )
        fields = Fields(log, file, where, item, _TRANSLATED_NODE_KEYS)
        node_id = fields.text("id", required=True)
        if node_id is None:
            continue
        if node_id in replies or node_id in labels or node_id in rules:
            log.error(file, node_id, "id", "duplicate node id: this node is translated twice")
            continue
        if fields.has("replies"):
            replies[node_id] = tuple(fields.texts("replies", required=True))
        node_labels: dict[str, str] = {}
        for value, label in fields.mapping("labels").items():
            if isinstance(label, str) and label.strip():
                node_labels[value] = label.strip()
            else:
                log.error(file, node_id, f"labels.{value}", "must be non-empty text")
        labels[node_id] = node_labels
        rules[node_id] = tuple(_rules(log, file, node_id, fields.tables("rules"), "rules"))
    return Translation(
        locale=locale,
        file=file,
        replies=replies,
        labels=labels,
        rules=rules,
        shared_rules=tuple(_rules(log, file, "(shared_rules)", top.tables("shared_rules"), "rule")),
        commands=_commands(log, file, top.mapping("commands")),
    )


def parse_resources(log: ProblemLog, file: str, data: object) -> Resources:
    top = Fields(log, file, "-", data, ("variables", "directory", "contact"))
    variables: dict[str, str] = {}
    for name, value in top.mapping("variables").items():
        if not re.match(r"^[a-z_][a-z0-9_]*$", name):
            log.error(file, "(variables)", name, "variable names use a-z, 0-9 and _ only")
        elif not isinstance(value, str | int):
            log.error(file, "(variables)", name, "must be text")
        else:
            variables[name] = str(value)
    directory: list[Resource] = []
    for index, item in enumerate(top.tables("directory")):
        entry = Fields(log, file, f"directory[{index}]", item, ("name", "contact", "about"))
        title = entry.text("name", required=True)
        contact = entry.text("contact", required=True)
        if title and contact:
            directory.append(Resource(title, contact, entry.text("about") or ""))
    return Resources(file, variables, tuple(directory), _contacts(log, file, top))


def _contacts(log: ProblemLog, file: str, top: Fields) -> tuple[Contact, ...]:
    contacts: list[Contact] = []
    for index, item in enumerate(top.tables("contact")):
        where = f"contact[{index}]"
        entry = Fields(log, file, where, item, ("number", "call", "text", "body"))
        number = entry.text("number", required=True)
        call, text, body = entry.text("call"), entry.text("text"), entry.text("body")
        if entry.data and call is None and text is None:
            log.error(file, where, "call", "give a call label, a text label, or both")
        if body is not None and text is None:
            log.error(file, where, "body", "a body is only used with a text label")
        if number is not None:
            contacts.append(Contact(number, call, text, body, where))
    return tuple(contacts)


def parse_script_set(
    files: ScriptFiles, log: ProblemLog, overrides: ScriptFiles | None = None
) -> Script | None:
    """Build the ``Script`` of a directory; ``None`` when English is missing."""
    if BASE_LOCALE not in files.scripts:
        return None
    file, data = files.scripts[BASE_LOCALE]
    top = Fields(log, file, "-", data, ("script", "commands", "shared_rules", "node"))
    head = Fields(
        log, file, "(script)", top.mapping("script"),
        ("name", *SPECIAL_NODES, *OPTIONAL_SPECIAL_NODES),
    )  # fmt: skip
    specials = {key: head.text(key, required=True) for key in SPECIAL_NODES}
    specials |= {key: head.text(key) for key in OPTIONAL_SPECIAL_NODES}
    translations = {
        locale: parse_translation(log, locale, name, body)
        for locale, (name, body) in files.scripts.items()
        if locale != BASE_LOCALE
    }
    resources = {
        locale: parse_resources(log, name, body) for locale, (name, body) in files.resources.items()
    }
    for locale, (name, body) in (overrides.resources if overrides else {}).items():
        extra = parse_resources(log, name, body)
        base = resources.get(locale, Resources(name))
        resources[locale] = Resources(
            base.file,
            base.variables | extra.variables,
            extra.directory or base.directory,
            extra.contacts or base.contacts,
        )
    return Script(
        file=file,
        name=head.text("name") or "bot script",
        specials={key: value for key, value in specials.items() if value},
        nodes=_nodes(log, file, top.tables("node")),
        shared_rules=tuple(_rules(log, file, "(shared_rules)", top.tables("shared_rules"), "rule")),
        commands=_commands(log, file, top.mapping("commands")),
        translations=translations,
        resources=resources,
    )


def read_script_set(
    directory: Path | None, log: ProblemLog, resources: Path | None = None
) -> tuple[Script | None, dict[str, Detector]]:
    """Read, parse and validate a whole script set; every problem goes into ``log``.

    ``directory`` ``None`` means the packaged default scripts. ``resources`` is an
    optional directory of ``resources-<locale>.toml`` files whose variables replace
    the script's own (a deployment's helpline numbers) and whose directory, when
    given, replaces the script's resource directory.
    """
    files = read_script_dir(directory or DEFAULT_SCRIPT_DIR, log)
    overrides = read_script_dir(resources, log, resources_only=True) if resources else None
    script = parse_script_set(files, log, overrides)
    extra = {locale: TriggerSource(name, data) for locale, (name, data) in files.triggers.items()}
    locales = set(script.locales) if script is not None else set()
    trigger_sets = build_trigger_sets(packaged_trigger_sources(log), extra, locales, log)
    if script is not None:
        validate(script, log)
    return script, trigger_sets
