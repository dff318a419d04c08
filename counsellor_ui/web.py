"""What every page shares: the templates, safe headers, redirects and small form readers."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from markupsafe import Markup, escape
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.templating import Jinja2Templates

from counsellor_ui.auth import PageError
from counsellor_ui.timefmt import (
    clock_time,
    duration,
    local_time,
    service_settings,
    waiting_for,
)
from counsellor_ui.wording import describe_reason, queue_label
from gateway.headers import STAFF_REFERRER_POLICY, logo_source
from gateway.inputs import INT32_MAX, InputError, parse_int, parse_text
from gateway.types import Priority
from gateway.visible_text import reveal_invisible

HERE = Path(__file__).parent


def service_context(request: Request) -> dict[str, Any]:
    """What every page shows of the service: the charity's name, logo, its clock."""
    settings = service_settings(request)
    return {
        "service_name": settings.service_name,
        "service_logo": settings.logo_url,
        "service_timezone": settings.timezone,
        "time_locale": settings.time_locale,
    }


def _shown(value: Any) -> Any:
    """Every value a template writes, hidden characters as visible markers.

    Markup (HTML the app built and escaped, such as a chart) gets the same: a marker
    is plain ASCII with nothing HTML would read, so it stays safe markup.
    """
    if isinstance(value, Markup):
        return Markup(reveal_invisible(value))  # noqa: S704 - markers add no HTML
    if isinstance(value, str):
        return reveal_invisible(value)
    return value


_MARKER = re.compile(r"\[U\+[0-9A-F]{4,6}\]")


def marked(value: Any) -> Markup:
    """Text for an HTML text node, each hidden character's marker drawn as a badge."""
    text = str(escape(reveal_invisible("" if value is None else str(value))))
    badge = r'<span class="hidden-char">\g<0></span>'
    return Markup(_MARKER.sub(badge, text))  # noqa: S704 - escaped; a marker is [U+hex]


templates = Jinja2Templates(directory=HERE / "templates", context_processors=[service_context])
templates.env.finalize = _shown
templates.env.filters["marked"] = marked
templates.env.filters["waiting_for"] = waiting_for
templates.env.filters["clock_time"] = clock_time
templates.env.filters["duration"] = duration
templates.env.filters["local_time"] = local_time
templates.env.globals["Priority"] = Priority
templates.env.globals["describe_reason"] = describe_reason
templates.env.globals["queue_label"] = queue_label

# Scripts and styles come only from this app; nothing may frame the workspace.
# Images may also come from the charity's logo address (HAVEN_LOGO_URL), nowhere else.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:{logo}; "
    "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
)


def content_security_policy(logo_url: str) -> str:
    """The workspace's policy, letting in the logo's origin when it is on another site."""
    return CONTENT_SECURITY_POLICY.format(logo=logo_source(logo_url))


def brand_css(accent: str) -> str:
    """The charity's accent colour for the staff pages (checked #rrggbb, so safe to write).

    ``--accent-dark`` (hover, links, outlined buttons) is a darker shade of it."""
    r, g, b = (int(accent[i : i + 2], 16) for i in (1, 3, 5))
    dark = f"#{round(r * 0.72):02x}{round(g * 0.72):02x}{round(b * 0.72):02x}"
    return f":root {{ --accent: {accent}; --accent-dark: {dark}; }}\n"


def page(request: Request, name: str, status_code: int = 200, **context: Any) -> Response:
    response = templates.TemplateResponse(request, name, context, status_code=status_code)
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["X-Content-Type-Options"] = "nosniff"
    # Other sites get no referrer; the workspace's own form posts then carry its Origin
    # (under no-referrer a browser sends "Origin: null", which auth.OwnOriginOnly
    # could not tell from another site's).
    response.headers["Referrer-Policy"] = STAFF_REFERRER_POLICY
    response.headers["Content-Security-Policy"] = content_security_policy(
        service_settings(request).logo_url
    )
    return response


def redirect(path: str, **notice: str) -> RedirectResponse:
    """303 See Other after a form post, optionally with a notice to show."""
    if notice:
        path = f"{path}?{urlencode(notice)}"
    return RedirectResponse(path, status_code=303)


# Form fields and query parameters: more than any field takes (the longest, a canned
# response or wrap-up notes, is 4,000), so an action's own limit and message come first.
FIELD_MAX_CHARS = 10_000


def _bounded(raw: str, name: str, max_chars: int, multiline: bool) -> str:
    """The value as given, if within bounds and free of control characters (else 400)."""
    try:
        return parse_text(raw, name=name, max_chars=max_chars, multiline=multiline, strip=False)
    except InputError as exc:
        message = exc.message.replace(name, name.replace("_", " "), 1)
        raise PageError(400, f"{message} Go back and try again.") from None


def form_text(
    form: FormData, name: str, *, max_chars: int = FIELD_MAX_CHARS, multiline: bool = True
) -> str:
    """A text field (missing: empty). Line breaks and tabs are allowed unless
    ``multiline`` is off; other control characters, NUL above all, answer 400."""
    value = form.get(name, "")
    return _bounded(value, name, max_chars, multiline) if isinstance(value, str) else ""


def form_int(form: FormData, name: str, *, high: int = INT32_MAX) -> int:
    """A whole number in ASCII digits from 0 to ``high`` (an id: within its column)."""
    try:
        return parse_int(form_text(form, name), name=name, high=high)
    except InputError:
        raise PageError(400, "The form was missing a choice. Go back and try again.") from None


def query_text(request: Request, name: str, *, max_chars: int = 500) -> str:
    """A query parameter shown on the page (a notice): one line, bounded (else 400)."""
    return _bounded(request.query_params.get(name, ""), name, max_chars, multiline=False)


def path_id(request: Request, name: str = "session_id") -> int:
    """An id from the URL (the route takes only digits): beyond its column, no such chat."""
    value = request.path_params[name]
    if not isinstance(value, int) or not 0 <= value <= INT32_MAX:
        raise PageError(404, "There is no such chat.")
    return value


async def brand_stylesheet(request: Request) -> Response:
    """``/counsellor/brand.css``: the accent colour, after style.css on every page."""
    css = brand_css(service_settings(request).accent_colour)
    return Response(
        css,
        media_type="text/css",
        headers={"Cache-Control": "no-cache", "X-Content-Type-Options": "nosniff"},
    )
