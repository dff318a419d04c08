"""Command line tools for script authors: ``lint``, ``try`` and ``replay``.

    python -m bot_engine lint [SCRIPT_DIR] [--resources DIR] [--strict]
    python -m bot_engine try [SCRIPT_DIR] [--locale cy] [--counsellors N] [--closed]
    python -m bot_engine replay TRANSCRIPT... [--script SCRIPT_DIR]

Without ``SCRIPT_DIR`` the packaged default scripts are used. ``main`` returns the
exit code, so the gateway's command line can mount it as ``haven bot ...``.
Only ``try`` prints what a person typed, because there the author is the person.
"""

from __future__ import annotations

import argparse
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bot_engine.config import EngineConfig, TypingSpeed
from bot_engine.engine import BotEngine, StepResult
from bot_engine.evaluate import CorpusError, evaluate, read_corpus
from bot_engine.loader import read_script_set
from bot_engine.problems import ProblemLog, ScriptError
from bot_engine.state import ConversationState
from bot_engine.transcript import TranscriptError, load_transcript, replay
from bot_engine.types import (
    AskCounsellor,
    Context,
    End,
    Escalate,
    Event,
    Reply,
    ScheduleCheckin,
    SessionEvent,
    TimerFired,
    UserMessage,
)

TRY_HELP = """\
Type as the person would. Other commands:
  1, 2, 3...       press that button
  /counsellor      press "Talk to a person"
  /checkin         the check-in timer fires now
  /wait MINUTES    move the clock on
  /return          a counsellor hands the person back to the bot
  /counsellors N   say N counsellors are free (/counsellors unknown to reset)
  /open, /closed   open or close the service
  /state           show the bot's state
  /quit            leave"""


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bot_engine", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    lint = commands.add_parser("lint", help="check a script set and list every problem")
    lint.add_argument("path", nargs="?", type=Path, help="script directory (default: packaged)")
    lint.add_argument("--resources", type=Path, help="directory of resources-<locale>.toml")
    lint.add_argument("--strict", action="store_true", help="treat warnings as problems")
    chat = commands.add_parser("try", help="chat with a script in the terminal")
    chat.add_argument("path", nargs="?", type=Path, help="script directory (default: packaged)")
    chat.add_argument("--resources", type=Path, help="directory of resources-<locale>.toml")
    chat.add_argument("--locale", default="en")
    chat.add_argument("--counsellors", type=int, default=None, help="counsellors free")
    chat.add_argument("--closed", action="store_true", help="the service is closed")
    measure = commands.add_parser(
        "eval", help="measure crisis and request detection against labelled corpus files"
    )
    measure.add_argument("files", nargs="+", type=Path, help="corpus .tsv files or directories")
    measure.add_argument("--script", type=Path, help="script directory (default: packaged)")
    measure.add_argument(
        "--min-recall", type=float, default=0.0, help="fail below this crisis recall (0-1)"
    )
    measure.add_argument(
        "--max-false", type=float, default=1.0, help="fail above this false-crisis rate (0-1)"
    )
    measure.add_argument("--quiet", action="store_true", help="figures only, not each miss")
    play = commands.add_parser("replay", help="replay transcript files against a script")
    play.add_argument("transcripts", nargs="+", type=Path)
    play.add_argument("--script", type=Path, help="script directory (default: packaged)")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run one command; returns the process exit code."""
    args = _parser().parse_args(argv)
    if args.command == "lint":
        return lint(args.path, args.resources, strict=args.strict)
    if args.command == "replay":
        return replay_files(args.transcripts, args.script)
    if args.command == "eval":
        return measure(args.files, args.script, args.min_recall, args.max_false, args.quiet)
    context = Context(counsellors_available=args.counsellors, service_open=not args.closed)
    return try_script(args.path, args.resources, args.locale, context)


def lint(path: Path | None, resources: Path | None = None, *, strict: bool = False) -> int:
    """Print every problem, one per line; exit 0 with "ok" when there are none."""
    log = ProblemLog()
    read_script_set(path, log, resources)
    for problem in log.items:
        print(problem)
    failed = bool(log.errors) or (strict and bool(log.warnings))
    if not failed:
        warnings = len(log.warnings)
        print("ok" if not warnings else f"ok ({warnings} warning{'s' if warnings > 1 else ''})")
    return 1 if failed else 0


def _load(path: Path | None, resources: Path | None = None) -> BotEngine | None:
    try:
        return BotEngine.load(
            path, config=EngineConfig(typing=TypingSpeed.instant()), resources=resources
        )
    except ScriptError as error:
        for problem in error.problems:
            print(problem)
        return None


def measure(
    files: list[Path], script: Path | None, min_recall: float, max_false: float, quiet: bool
) -> int:
    """Print the detector's figures on ``files``; 1 when below a floor, 2 on bad input."""
    try:
        examples = read_corpus(files)
    except (OSError, CorpusError) as error:
        print(error, file=sys.stderr)
        return 2
    engine = _load(script)
    if engine is None:
        return 2
    started = time.perf_counter()
    phrases = engine.warm_up()
    print(f"compiled {phrases} phrases in {time.perf_counter() - started:.1f} s")
    report = evaluate(examples, engine.detect)
    print(f"{len(examples)} messages from {len(files)} path(s)")
    print("\n".join(report.lines(show_misses=not quiet)))
    failed = []
    if report.crisis.rate < min_recall:
        failed.append(f"crisis recall {report.crisis.rate:.1%} is below {min_recall:.1%}")
    if report.false_crisis.rate > max_false:
        failed.append(f"false crisis rate {report.false_crisis.rate:.1%} is above {max_false:.1%}")
    for line in failed:
        print(f"FAILED: {line}", file=sys.stderr)
    return 1 if failed else 0


def replay_files(paths: list[Path], script: Path | None) -> int:
    """Replay transcripts; print each failure, or "ok" with the nodes visited."""
    engine = _load(script)
    if engine is None:
        return 1
    failures: list[str] = []
    visited: set[str] = set()
    for path in paths:
        try:
            result = replay(engine, load_transcript(path))
        except (OSError, TranscriptError) as error:
            failures.append(str(error))
            continue
        failures += result.failures
        visited |= result.visited
    for failure in failures:
        print(failure)
    if failures:
        return 1
    nodes = set(engine.node_ids) - set(engine.notice_nodes)  # notices are not steps
    missed = sorted(nodes - visited)
    print(f"ok: {len(paths)} transcript(s), {len(visited & nodes)} of "
          f"{len(nodes)} nodes visited")  # fmt: skip
    if missed:
        print("not visited: " + ", ".join(missed))
    return 0


def _show(outputs: tuple[object, ...], now: datetime) -> None:
    for output in outputs:
        if isinstance(output, Reply):
            print(f"bot: {output.text}")
            for number, button in enumerate(output.quick_replies, start=1):
                print(f"     [{number}] {button.label}")
        elif isinstance(output, Escalate):
            print(f"  ** escalate: {output.priority.value} ({output.reason}) "
                  f"matched {output.matched!r}")  # fmt: skip
        elif isinstance(output, ScheduleCheckin):
            minutes = (output.at - now) / timedelta(minutes=1)
            print(f"  ** check-in scheduled in {minutes:g} min")
        elif isinstance(output, End):
            print(f"  ** end of chat (erase={output.erase})")


def _buttons(outputs: tuple[object, ...]) -> list[tuple[str, str]]:
    replies = [o for o in outputs if isinstance(o, Reply)]
    return [(q.label, q.value) for q in replies[-1].quick_replies] if replies else []


def _command(line: str, context: Context, now: datetime) -> tuple[Event | None, Context, datetime]:
    """Turn a /command into an event, or a change of context or clock."""
    word, _, arg = line.partition(" ")
    arg = arg.strip()
    if word == "/counsellor":
        return AskCounsellor(), context, now
    if word == "/checkin":
        return TimerFired("checkin"), context, now
    if word == "/return":
        return SessionEvent("returned"), context, now
    if word == "/wait":
        minutes = float(arg) if arg.replace(".", "", 1).isdigit() else 60.0
        now += timedelta(minutes=minutes)
        print(f"  (the clock moved on {minutes:g} min)")
    elif word == "/counsellors":
        free = int(arg) if arg.isdigit() else None
        context = Context(counsellors_available=free, service_open=context.service_open)
        print(f"  (counsellors free: {'unknown' if free is None else free})")
    elif word in ("/open", "/closed"):
        context = Context(context.counsellors_available, service_open=word == "/open")
        print(f"  (the service is {word[1:]})")
    else:
        print(TRY_HELP)
    return None, context, now


def try_script(path: Path | None, resources: Path | None, locale: str, context: Context) -> int:
    """An interactive chat with the script; the clock only moves on with /wait."""
    engine = _load(path, resources)
    if engine is None:
        return 1
    print(TRY_HELP)
    now = datetime.now(UTC)
    state: ConversationState = engine.new_state(locale)
    outputs = engine.step(state, SessionEvent("started"), now, context)
    buttons: list[tuple[str, str]] = []
    while True:
        _show(outputs.outputs, now)
        state = outputs.state
        buttons = _buttons(outputs.outputs) or buttons
        if state.phase == "ended":
            return 0
        if state.phase == "escalated":
            print("  (the person is in the queue and the bot stays quiet; /return hands back)")
        try:
            line = input("you> ").strip()
        except EOFError:
            return 0
        event: Event | None
        if line in ("/quit", "/exit"):
            return 0
        if line == "/state":
            print(f"  {state.to_json()}")
            event = None
        elif line.isdigit() and 1 <= int(line) <= len(buttons):
            label, value = buttons[int(line) - 1]
            event = UserMessage(label, value)
        elif line.startswith("/"):
            event, context, now = _command(line, context, now)
        else:
            event = UserMessage(line)
        outputs = engine.step(state, event, now, context) if event else StepResult(state, ())


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
