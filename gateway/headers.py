"""Security headers on every HTTP response, set in one place.

``SecurityHeaders`` is an ASGI middleware mounted by the application factory. It
adds what a response does not already carry:

* ``X-Content-Type-Options: nosniff`` everywhere; ``Referrer-Policy: no-referrer``
  on public responses and ``same-origin`` on staff ones (other sites get no
  referrer either way; the workspace's own form posts keep their ``Origin``, which
  the staff origin check reads);
* a ``Content-Security-Policy`` whose ``frame-ancestors`` lets only the charity's
  sites (``HAVEN_ALLOWED_ORIGINS``, else the gateway itself) frame the widget's
  pages (``/demo``), and nobody frame a staff page (``'none'``);
* ``X-Frame-Options`` for browsers that predate ``frame-ancestors`` (``DENY`` on
  staff pages, ``SAMEORIGIN`` when no charity site is listed; a list of sites
  cannot be said in it, so it is left to ``frame-ancestors`` then);
* ``Strict-Transport-Security`` when the gateway is served over TLS.

Staff pages set their own, stricter policy (``counsellor_ui/web.py``); a header a
response already has is never replaced. ``/widget.js`` stays loadable from any
site: a script's own policy headers do not apply to the page that embeds it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from urllib.parse import urlsplit

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gateway.settings import Settings

# An origin as HAVEN_ALLOWED_ORIGINS holds it: scheme, host and optional port, nothing
# that could end a CSP directive.
_ORIGIN = re.compile(r"^https?://[A-Za-z0-9.\-\[\]:]+$")

PUBLIC_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:{logo}; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
    "frame-ancestors {ancestors}"
)
# Staff responses that are not pages (redirects, scripts, errors) get this; the pages
# themselves carry the workspace's own policy.
STAFF_POLICY = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"


def logo_source(logo_url: str) -> str:
    """`` https://host`` to add to img-src when the charity's logo is on another site."""
    parts = urlsplit(logo_url)
    return f" {parts.scheme}://{parts.netloc}" if parts.scheme == "https" and parts.netloc else ""


def frame_ancestors(allowed_origins: Iterable[str]) -> str:
    """The charity's sites that may frame the widget's pages, else only the gateway."""
    origins = sorted(o for o in allowed_origins if _ORIGIN.match(o))
    return " ".join(origins) if origins else "'self'"


# Under "no-referrer" a browser sends "Origin: null" with a page's own form posts.
STAFF_REFERRER_POLICY = "same-origin"


def _common(settings: Settings, referrer_policy: str) -> list[tuple[str, str]]:
    headers = [("x-content-type-options", "nosniff"), ("referrer-policy", referrer_policy)]
    if settings.tls:
        headers.append(("strict-transport-security", f"max-age={settings.hsts_max_age_s}"))
    return headers


def public_headers(settings: Settings) -> list[tuple[str, str]]:
    """The headers every response outside the staff workspace gets."""
    policy = PUBLIC_POLICY.format(
        logo=logo_source(settings.logo_href),
        ancestors=frame_ancestors(settings.allowed_origins),
    )
    headers = [*_common(settings, "no-referrer"), ("content-security-policy", policy)]
    if not settings.allowed_origins:
        headers.append(("x-frame-options", "SAMEORIGIN"))
    return headers


def staff_headers(settings: Settings) -> list[tuple[str, str]]:
    """The headers every staff response gets that does not set its own."""
    return [
        *_common(settings, STAFF_REFERRER_POLICY),
        ("content-security-policy", STAFF_POLICY),
        ("x-frame-options", "DENY"),
    ]


class SecurityHeaders:
    """Adds ``public_headers`` or ``staff_headers`` (under ``staff_prefix``) to responses."""

    def __init__(self, app: ASGIApp, *, settings: Settings, staff_prefix: str) -> None:
        self.app = app
        self.staff_prefix = staff_prefix.rstrip("/")
        self.public = public_headers(settings)
        self.staff = staff_headers(settings)

    def headers_for(self, path: str) -> list[tuple[str, str]]:
        staff = path == self.staff_prefix or path.startswith(self.staff_prefix + "/")
        return self.staff if staff else self.public

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        wanted = self.headers_for(scope["path"])

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in wanted:
                    headers.setdefault(name, value)
            await send(message)

        await self.app(scope, receive, send_with_headers)
