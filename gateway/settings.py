"""One settings object, read once from ``HAVEN_*`` environment variables.

Every variable is listed with its default and meaning in ``.env.example``.
Constants that tune behaviour carry a comment saying why the default was chosen.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from limits import parse_many

from gateway import branding
from gateway.opening_hours import OpeningHours, OpeningHoursError, parse_opening_hours

PREFIX = "HAVEN_"
_LOCALE_TAG = re.compile(r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*$")
DEVELOPMENT = "development"
PRODUCTION = "production"
_PLACEHOLDER_SECRETS = frozenset({"", "change-me", "changeme", "secret", "dev-insecure-key"})
# HAVEN_ERASE_STAFF_RECORDS values, the default first.
ERASE_POLICIES = ("outcomes", "keep", "all")
# The keys of HAVEN_WAIT_TARGETS, most urgent first: a wait's risk level when it has
# one, otherwise its priority (gateway/actions/waits.py, docs/statistics.md).
WAIT_CLASSES = ("imminent", "high", "concern", "requested", "other")
_DEV_SECRET = "dev-insecure-key"  # noqa: S105 - the known development value, refused in production


class SettingsError(ValueError):
    """Raised when the environment asks for something the service must refuse."""


@dataclass(frozen=True)
class Settings:
    env: str = DEVELOPMENT
    secret_key: str = _DEV_SECRET
    data_dir: Path = Path("data")
    database_url: str = ""  # empty -> SQLite file under data_dir
    broker_url: str = "memory://"
    # Every Redis channel name starts with this: give each deployment sharing a
    # Redis server its own, or one helpline's events would reach another's.
    broker_channel_prefix: str = "haven:"
    host: str = "127.0.0.1"
    port: int = 8000
    public_url: str = ""  # empty -> http://{host}:{port}
    # Exact origins allowed to open the widget's socket, /ws/chat, and to frame the
    # widget's pages: the charity's sites. Empty -> the gateway's own origin. Staff
    # surfaces never accept these: only ``own_origins`` (docs/security.md).
    allowed_origins: tuple[str, ...] = ()
    bot_scripts_dir: Path | None = None  # None -> the packaged default scripts
    # A folder of resources-<locale>.toml files overriding helpline numbers and the
    # resource directory for this deployment, without copying the scripts.
    bot_resources_dir: Path | None = None
    # Widget neutral page for Quick exit; a weather page looks ordinary in a history.
    quick_exit_url: str = "https://www.bbc.co.uk/weather"

    # --- The charity (gateway/branding.py): Haven is the product, not the helpline ---
    # The name the bot greets with and the widget and staff pages carry. The default
    # is plainly a demo, so that a deployment that forgot to set it shows it.
    service_name: str = "Demo Helpline"
    # The widget's one accent colour, #rrggbb; white text on it must reach 4.5:1.
    accent_colour: str = "#1f5f8b"
    # Optional logo in the widget's header: an https:// address or a gateway path.
    logo_url: str = ""
    # How staff pages write clock times (BCP 47): en-GB reads 24-hour, "14:05".
    # Times are shown in the service's own time zone (``timezone``), for every reader.
    time_locale: str = "en-GB"

    # --- Widget connection limits (PROTOCOL.md; docs/protocol.md lists them for integrators) ---
    # 16 KiB holds 4,000 characters of text as UTF-8 JSON (up to 4 bytes a character)
    # with room for the other fields. uvicorn's own limit (ws_max_size) is 4x this:
    # between the two the gateway answers "too_large" and the connection goes on;
    # beyond it uvicorn closes with 1009 before the gateway reads the frame.
    max_frame_bytes: int = 16 * 1024
    # A long message is fine; a pasted book is not a chat message.
    max_text_chars: int = 4000
    # PROTOCOL.md: hello within 10 s, long enough for a slow phone on 2G.
    hello_timeout_s: float = 10.0
    # uvicorn pings every 20 s (and drops a peer that does not answer within 20 s),
    # which keeps mobile NATs and proxies from dropping a quiet socket and finds dead
    # links. This often, each process also writes presence for all its open widgets
    # and workspaces in one unit of work, and reads back, in one query, what an event
    # lost between processes would have told its connections (gateway/live/hub.py).
    heartbeat_s: float = 20.0
    # A connection whose session has ended and that has sent nothing for 5 minutes is
    # closed with 1000: nothing more can happen on it. A connection to an open session
    # is never closed for silence (a person may wait in the queue, or read, for an hour);
    # the pings above find the ones that are really gone.
    idle_timeout_s: float = 300.0
    # 20 messages in 10 s is faster than anyone types, slower than a script.
    rate_limit_messages: int = 20
    rate_limit_window_s: float = 10.0
    # Frames of any kind per window: a typing indicator may send several a second,
    # a hundred in 10 s is a loop or a flood. Frames over it count as bad frames.
    rate_limit_frames: int = 100
    # 10 bad frames within a minute close the connection (4429): that stops a broken
    # client spinning without punishing the odd slip over a long conversation.
    max_bad_frames: int = 10
    bad_frame_window_s: float = 60.0
    # Two tabs and a phone is normal; 20 sockets from one address is not a person,
    # though a shared address (a school, a library) may hold several people.
    max_connections_per_address: int = 20
    # New widget connections from one address: twice the cap at once, then this many a
    # minute (0: no pace). A person reconnects a few times an hour; a client opening
    # and closing connections in a loop is held off at the handshake (HTTP 429). The
    # same pace as deploy/nginx.conf's, for a gateway with no proxy in front.
    new_connections_per_address_per_minute: int = 120

    # --- Abuse limits that survive reconnects (gateway/abuse/; docs/security.md, "Abuse") ---
    # Counted per client address (as a keyed hash, never the address) and per session,
    # in memory or in Redis when the broker is Redis. Each is a ``limits`` string such
    # as "10/minute,60/hour"; every amount must be at least 1, so a person's first
    # session, message or resume is never refused. A school or a hostel may put many
    # people behind one address, so they are generous for people and tight for scripts.
    # New sessions: a burst (ten people of one school in a minute) and a sustained rate.
    limit_sessions_per_address: str = "10/minute,60/hour"
    # "Talk to a person" presses: a person presses it once or twice a chat.
    limit_escalations_per_address: str = "10/minute,60/hour"
    # Messages across every connection and session of an address, and of one session
    # across its connections (the per-connection limit above resets on reconnect).
    limit_messages_per_address: str = "120/minute"
    limit_messages_per_session: str = "40/minute"
    # Resumes (hello with a token): a flaky phone reconnects a few times a minute.
    limit_resumes_per_address: str = "60/minute"
    limit_resumes_per_session: str = "20/minute"
    # Transcript lines sent back on resume: a reload of even a very long chat fits;
    # hundreds of resumes from the start of one do not.
    limit_catchup_lines_per_address: str = "20000/minute"
    limit_catchup_lines_per_session: str = "10000/minute"
    # An address making more sessions than this has its later ones grouped as a
    # flood (ordered after everyone else, cleared by a supervisor in one press);
    # the first of them keeps its place.
    flood_sessions: str = "5/2minutes"
    # Proof of work before a new session: "off", "load" (only while the whole service
    # is making more new sessions than challenge_load) or "always".
    challenge: str = "load"
    # A busy evening is a few new chats a minute; 60 a minute is a script.
    challenge_load: str = "60/minute"
    # Leading zero bits of SHA-256: 16 is about 65,000 hashes, a second or two in a
    # phone's browser, and a real cost to a script making sessions by the hundred.
    challenge_difficulty: int = 16

    # --- Bot ---
    # Typing speed of the bot (characters per second) and the bounds of its pause.
    bot_typing_cps: float = 30.0
    bot_typing_min_s: float = 0.6
    bot_typing_max_s: float = 3.0
    # The source bot checked in hourly; at most twice so a quiet person is not nagged.
    checkin_after_s: float = 3600.0
    max_checkins: int = 2

    # --- Counsellors ---
    # Two concurrent chats is the usual ceiling helplines set for volunteers.
    counsellor_max_chats: int = 2
    # A counsellor whose browser dropped has 2 minutes to come back before the
    # person is put back at the front of the queue.
    counsellor_grace_s: float = 120.0
    # A transfer offered to a colleague and not answered in 2 minutes goes back to
    # the sender: long enough to read a handover note, short enough that the
    # sender is not left wondering while the person waits.
    transfer_timeout_s: float = 120.0
    # A queued person whose widget has been gone 10 minutes is counted as abandoned.
    queue_abandon_s: float = 600.0
    # Minutes of waiting that raise a session by one priority level (starvation guard).
    queue_ageing_s: float = 900.0
    # Staff sign-in throttles (gateway/signin_limits.py), each over a 15-minute window:
    # long enough to make guessing slow, short enough that a counsellor who mistyped
    # five times waits a quarter of an hour at worst (or an admin unlocks them).
    login_window_s: float = 900.0
    # Attempts from one address at one account: five is more than a person mistypes.
    login_max_failures: int = 5
    # Attempts from one address at any accounts: an office behind one address signs in
    # a shift at a time; thirty in 15 minutes is a script trying names.
    login_address_attempts: int = 30
    # Failures at one account from anywhere before each attempt at it is slowed (never
    # refused, so nobody elsewhere can lock a counsellor out) ...
    login_account_free_failures: int = 10
    # ... by a wait that doubles from 0.25 s with each further failure, up to this.
    login_account_delay_max_s: float = 8.0
    # Argon2 runs at once (gateway/password_work.py); 0 means half the CPUs. Each
    # takes about 64 MiB and a good fraction of a second of one CPU.
    password_hash_concurrency: int = 0
    # Sign-ins waiting for a run beyond those; more are answered "busy, try again in a
    # moment" at once instead of queueing without end behind a flood.
    password_hash_queue: int = 8
    # Staff sessions last a shift.
    staff_session_s: float = 12 * 3600.0
    # When counsellors are on duty (gateway/opening_hours.py); empty means always.
    # Outside these hours the bot tells a person who asks for someone that the
    # service is closed, and still queues anyone in crisis.
    opening_hours: str = ""
    # The helpline's own time zone: opening hours and "today" in reports use it.
    timezone: str = "Europe/London"
    # Outcome categories of the wrap-up form; a helpline reports on these, so
    # they are its own choice. The defaults follow common helpline returns.
    wrapup_outcomes: tuple[str, ...] = (
        "Listened and supported",
        "Signposted to other services",
        "Safety plan agreed",
        "Emergency services contacted",
        "Person left before the end",
        "Other",
    )
    # What a person's "delete my conversation" does to what staff wrote about it
    # (docs/safeguarding.md, "When the person deletes their conversation"):
    # "outcomes" keeps the wrap-up's outcome, the assessed risk level and the times and
    # deletes free text staff wrote (notes, handover and wrap-up notes may quote the
    # person); "keep" keeps staff notes and wrap-up notes as the safeguarding record;
    # "all" deletes them and the wrap-up too, keeping only the anonymous counts.
    erase_staff_records: str = "outcomes"
    # Days after a chat closes before the retention purge removes its text (messages,
    # notes, wrap-up notes, the bot's state, the quoted trigger, the mood) and keeps only
    # what the statistics count (docs/security.md, "Retention, erasure and redaction").
    # 30 days leaves time for supervision, complaints and a safeguarding review of
    # the last month; 0 keeps nothing after close (removed at the next hourly purge).
    retention_days: int = 30
    # Mask phone numbers, email addresses and UK postcodes in the person's and the
    # counsellor's words once a chat closes (gateway/redaction.py). On by default:
    # nobody needs the person's number after the chat, and a kept transcript without
    # it identifies less.
    redact: bool = True

    # --- Statistics (docs/statistics.md) ---
    # Seconds within which a wait of each class should be claimed: "class=seconds"
    # pairs for every one of WAIT_CLASSES. A minute for anyone at risk (the common
    # target of crisis lines for answering), two for a concern, ten for everyone else.
    wait_targets: str = "imminent=60,high=60,concern=120,requested=600,other=600"
    # The share of waits a helpline aims to claim within target (drawn on the chart).
    service_level_goal: float = 0.8
    # A person who gives up within this many seconds is not counted against the
    # service level: they left before anyone could reasonably have answered.
    short_abandon_s: float = 30.0

    # --- Connections (gateway/connection_timeouts.py, docs/security.md) ---
    # A client must finish sending a request's line and headers within 10 s of its
    # first byte (or of connecting): a slow phone sends a few hundred bytes in well
    # under a second, while a slowloris client trickles them to hold sockets for hours.
    header_timeout_s: float = 10.0
    # An idle keep-alive connection is closed after 5 s (uvicorn's own default): a
    # browser opens a new one at no cost, and an idle socket holds a file descriptor.
    # A proxy in front must drop its idle upstream connections sooner than this.
    keep_alive_timeout_s: float = 5.0
    # Strict-Transport-Security max-age when HAVEN_PUBLIC_URL is https://: a year, the
    # usual value (browsers then refuse plain http to the gateway for that long).
    hsts_max_age_s: int = 365 * 24 * 3600

    # --- Operations ---
    # Bearer token a Prometheus scraper sends to /metrics. Empty: /metrics answers 404.
    metrics_token: str = ""

    @property
    def development(self) -> bool:
        return self.env == DEVELOPMENT

    @property
    def effective_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite+aiosqlite:///{(self.data_dir / 'haven.db').resolve()}"

    @property
    def effective_public_url(self) -> str:
        return (self.public_url or f"http://{self.host}:{self.port}").rstrip("/")

    @property
    def effective_allowed_origins(self) -> frozenset[str]:
        if self.allowed_origins:
            return frozenset(self.allowed_origins)
        return self.own_origins

    @property
    def own_origins(self) -> frozenset[str]:
        """The gateway's own origin(s): the only ones staff pages and sockets accept.

        The origin of HAVEN_PUBLIC_URL, plus the localhost/127.0.0.1 twins in
        development. Never the widget's list (``allowed_origins``): a script on the
        charity's site must not drive a counsellor's socket or forms.
        """
        parts = urlsplit(self.effective_public_url.lower())
        host = parts.netloc.rsplit("@", 1)[-1]
        # A browser leaves the scheme's default port out of Origin.
        default_port = {"http": ":80", "https": ":443"}.get(parts.scheme, "")
        if default_port and host.endswith(default_port):
            host = host[: -len(default_port)]
        origins = {f"{parts.scheme}://{host}"}
        if self.development:
            origins |= {f"http://127.0.0.1:{self.port}", f"http://localhost:{self.port}"}
        return frozenset(origins)

    @property
    def tls(self) -> bool:
        """Served over TLS (HAVEN_PUBLIC_URL is https://): HSTS and ``__Host-`` cookies."""
        return self.effective_public_url.lower().startswith("https://")

    @property
    def logo_href(self) -> str:
        """The logo's full address (empty: none), usable from a charity's own pages."""
        return branding.absolute_logo_url(self.logo_url, self.effective_public_url)

    @property
    def wait_target_s(self) -> dict[str, float]:
        """HAVEN_WAIT_TARGETS as seconds by wait class."""
        return parse_wait_targets(self.wait_targets)

    @property
    def hours(self) -> OpeningHours:
        return parse_opening_hours(self.opening_hours, self.timezone)

    def ensure_data_dir(self) -> None:
        if not self.database_url or self.database_url.startswith("sqlite"):
            self.data_dir.mkdir(parents=True, exist_ok=True)


def parse_wait_targets(raw: str) -> dict[str, float]:
    """``"imminent=60,high=60,..."`` as seconds for every wait class; ValueError if not."""
    targets: dict[str, float] = {}
    for part in raw.split(","):
        if not part.strip():
            continue
        key, sep, value = part.partition("=")
        key = key.strip().lower()
        if not sep or key not in WAIT_CLASSES or key in targets:
            raise ValueError(f"{part.strip()!r}: expected one of {', '.join(WAIT_CLASSES)}=seconds")
        seconds = float(value)
        if not 0 < seconds < 86400:
            raise ValueError(f"{part.strip()!r}: seconds must be above 0 and below a day")
        targets[key] = seconds
    missing = [key for key in WAIT_CLASSES if key not in targets]
    if missing:
        raise ValueError(f"no target for {', '.join(missing)}")
    return targets


# The settings that are ``limits`` strings (gateway/abuse/limits.py).
ABUSE_LIMITS = (
    "limit_sessions_per_address",
    "limit_escalations_per_address",
    "limit_messages_per_address",
    "limit_messages_per_session",
    "limit_resumes_per_address",
    "limit_resumes_per_session",
    "limit_catchup_lines_per_address",
    "limit_catchup_lines_per_session",
    "flood_sessions",
    "challenge_load",
)


def check_limit(name: str, raw: str) -> None:
    """A ``limits`` string whose every amount is at least 1; SettingsError if not."""
    try:
        items = parse_many(raw)
    except ValueError as exc:
        raise SettingsError(f"{name}={raw!r} is not a limit such as '10/minute': {exc}") from exc
    if not items or any(item.amount < 1 for item in items):
        raise SettingsError(f"{name}={raw!r}: every limit must allow at least 1.")


def _convert(name: str, raw: str, default: Any) -> Any:
    if isinstance(default, bool):
        return raw.strip().lower() in {"1", "true", "yes", "on"}
    if isinstance(default, int):
        return int(raw)
    if isinstance(default, float):
        return float(raw)
    if isinstance(default, tuple):
        return tuple(part.strip().rstrip("/") for part in raw.split(",") if part.strip())
    if isinstance(default, Path) or name in ("bot_scripts_dir", "bot_resources_dir"):
        return Path(raw) if raw else None
    return raw


def _checked_branding(settings: Settings) -> Settings:
    """The charity's name, colour, logo and time locale, checked and tidied (branding.py)."""

    def checked(name: str, check: Callable[[str], str]) -> str:
        try:
            return check(getattr(settings, name))
        except branding.BrandingError as exc:
            raise SettingsError(f"{PREFIX}{name.upper()}: {exc}.") from exc

    if not _LOCALE_TAG.match(settings.time_locale):
        raise SettingsError(
            f"{PREFIX}TIME_LOCALE must be a language tag such as en-GB, "
            f"not {settings.time_locale!r}"
        )
    return replace(
        settings,
        service_name=checked("service_name", branding.check_name),
        accent_colour=checked("accent_colour", branding.check_accent),
        logo_url=checked("logo_url", branding.check_logo_url),
    )


def load_settings(environ: Mapping[str, str] | None = None) -> Settings:
    """Build the settings from the environment, refusing unsafe production values."""
    environ = os.environ if environ is None else environ
    values: dict[str, Any] = {}
    for f in fields(Settings):
        key = PREFIX + f.name.upper()
        if key in environ:
            default = Settings.__dataclass_fields__[f.name].default
            if default is None or callable(default):
                default = ""
            try:
                values[f.name] = _convert(f.name, environ[key], default)
            except ValueError as exc:
                raise SettingsError(f"{key}={environ[key]!r} is not valid: {exc}") from exc
    settings = Settings(**values)
    if settings.env not in {DEVELOPMENT, PRODUCTION}:
        raise SettingsError(
            f"{PREFIX}ENV must be 'development' or 'production', not {settings.env!r}"
        )
    if not settings.development and settings.secret_key in _PLACEHOLDER_SECRETS | {_DEV_SECRET}:
        raise SettingsError(
            f"{PREFIX}SECRET_KEY is missing or a placeholder, "
            "which is refused outside development. "
            'Generate one with: python -c "import secrets; print(secrets.token_urlsafe(48))"'
        )
    try:
        settings.hours  # noqa: B018 - read once so a mistake stops the start
    except OpeningHoursError as exc:
        raise SettingsError(f"{PREFIX}OPENING_HOURS or {PREFIX}TIMEZONE: {exc}") from exc
    settings = _checked_branding(settings)
    if settings.erase_staff_records not in ERASE_POLICIES:
        raise SettingsError(
            f"{PREFIX}ERASE_STAFF_RECORDS must be one of {', '.join(ERASE_POLICIES)}, "
            f"not {settings.erase_staff_records!r}"
        )
    if settings.new_connections_per_address_per_minute < 0:
        raise SettingsError(
            f"{PREFIX}NEW_CONNECTIONS_PER_ADDRESS_PER_MINUTE must be 0 (no pace) or more."
        )
    if settings.retention_days < 0:
        raise SettingsError(f"{PREFIX}RETENTION_DAYS must be 0 or more days.")
    if not settings.wrapup_outcomes:
        raise SettingsError(f"{PREFIX}WRAPUP_OUTCOMES must list at least one outcome.")
    try:
        settings.wait_target_s  # noqa: B018 - read once so a mistake stops the start
    except ValueError as exc:
        raise SettingsError(f"{PREFIX}WAIT_TARGETS: {exc}") from exc
    if not 0 < settings.service_level_goal <= 1:
        raise SettingsError(f"{PREFIX}SERVICE_LEVEL_GOAL must be above 0 and at most 1.")
    for name in ABUSE_LIMITS:
        check_limit(f"{PREFIX}{name.upper()}", getattr(settings, name))
    if settings.challenge not in ("off", "load", "always"):
        raise SettingsError(
            f"{PREFIX}CHALLENGE must be off, load or always, not {settings.challenge!r}"
        )
    if not 1 <= settings.challenge_difficulty <= 32:
        raise SettingsError(f"{PREFIX}CHALLENGE_DIFFICULTY must be between 1 and 32 bits.")
    if not settings.development and len(settings.secret_key) < 32:
        raise SettingsError(f"{PREFIX}SECRET_KEY must be at least 32 characters in production.")
    return settings
