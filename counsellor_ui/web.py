"""What every page shares: the templates, safe headers, redirects and small form readers."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import urlencode

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
from gateway.types import Priority

HERE = Path(__file__).parent


def service_context(request: Request) -> dict[str, Any]:
    """What every page shows of the service: the charity's name, its clock."""
    settings = service_settings(request)
    return {
        "service_name": settings.service_name,
        "service_timezone": settings.timezone,
        "time_locale": settings.time_locale,
    }


templates = Jinja2Templates(directory=HERE / "templates", context_processors=[service_context])
templates.env.filters["waiting_for"] = waiting_for
templates.env.filters["clock_time"] = clock_time
templates.env.filters["duration"] = duration
templates.env.filters["local_time"] = local_time
templates.env.globals["Priority"] = Priority
templates.env.globals["describe_reason"] = describe_reason
templates.env.globals["queue_label"] = queue_label

# Scripts and styles come only from this app; nothing may frame the workspace.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
)


def page(request: Request, name: str, status_code: int = 200, **context: Any) -> Response:
    response = templates.TemplateResponse(request, name, context, status_code=status_code)
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
    return response


def redirect(path: str, **notice: str) -> RedirectResponse:
    """303 See Other after a form post, optionally with a notice to show."""
    if notice:
        path = f"{path}?{urlencode(notice)}"
    return RedirectResponse(path, status_code=303)


def form_text(form: FormData, name: str) -> str:
    value = form.get(name, "")
    return value if isinstance(value, str) else ""


def form_int(form: FormData, name: str) -> int:
    raw = form_text(form, name).strip()
    if not raw.isdigit():
        raise PageError(400, "The form was missing a choice. Go back and try again.")
    return int(raw)
