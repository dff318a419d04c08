"""The charity's own name, accent colour and logo: checked once, at start.

Haven is the product; the helpline a person reaches is the charity's. Its name greets
people in the bot's first message, heads the widget and the staff pages; its accent
colour fills the widget's header, launcher and main buttons; its logo, when given,
sits in the widget's header.

The accent colour carries white text (the header's title, the launcher's words), so
it must give white text a contrast of at least 4.5:1 (WCAG 2.2 AA for normal text).
A colour that does not is refused at start, with the nearest darker shade of the same
hue that does, rather than darkened silently: the charity should know that its brand
colour is being changed, and choose the shade it is shown in.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

# WCAG 2.2 AA, normal text: white words on the accent must reach this.
MIN_CONTRAST = 4.5
_HEX = re.compile(r"^#[0-9a-fA-F]{6}$")
# Characters no logo address needs, which would only help an injection or a typo.
_UNSAFE_URL_CHARS = re.compile(r"[\s\"'<>\\`]")


class BrandingError(ValueError):
    """A name, colour or logo address the service must refuse."""


def _channel(value: int) -> float:
    v = value / 255
    return v / 12.92 if v <= 0.04045 else ((v + 0.055) / 1.055) ** 2.4


def relative_luminance(colour: str) -> float:
    """WCAG relative luminance of ``#rrggbb`` (0 black .. 1 white)."""
    r, g, b = (int(colour[i : i + 2], 16) for i in (1, 3, 5))
    return 0.2126 * _channel(r) + 0.7152 * _channel(g) + 0.0722 * _channel(b)


def contrast_with_white(colour: str) -> float:
    """The WCAG contrast ratio of white text on ``colour`` (1 to 21)."""
    return 1.05 / (relative_luminance(colour) + 0.05)


def darker_shade(colour: str) -> str:
    """The lightest shade of ``colour`` (same hue, each channel scaled down) on which
    white text reaches ``MIN_CONTRAST``."""
    r, g, b = (int(colour[i : i + 2], 16) for i in (1, 3, 5))
    for step in range(100, -1, -1):
        f = step / 100
        shade = f"#{round(r * f):02x}{round(g * f):02x}{round(b * f):02x}"
        if contrast_with_white(shade) >= MIN_CONTRAST:
            return shade
    return "#000000"  # pragma: no cover - black always passes (21:1)


def check_accent(colour: str) -> str:
    """``colour`` as lower-case ``#rrggbb``; refuses another form or too little contrast."""
    value = colour.strip()
    if not _HEX.match(value):
        raise BrandingError(f"must be a colour written #rrggbb (such as #1f5f8b), not {colour!r}")
    value = value.lower()
    ratio = contrast_with_white(value)
    if ratio < MIN_CONTRAST:
        raise BrandingError(
            f"white text on {value} has a contrast of {ratio:.1f}:1, below the "
            f"{MIN_CONTRAST}:1 that WCAG AA asks for; the nearest darker shade that "
            f"reaches it is {darker_shade(value)}"
        )
    return value


def check_name(name: str) -> str:
    """The charity's name, trimmed: one line of at most 80 characters."""
    value = " ".join(name.split())
    if not value:
        raise BrandingError("must not be empty: it is the name people see")
    if len(value) > 80:
        raise BrandingError("must be at most 80 characters (it heads a phone screen)")
    return value


def check_logo_url(url: str) -> str:
    """An https address or a path on the gateway (``/static/logo.svg``); empty: no logo."""
    value = url.strip()
    if not value:
        return ""
    if _UNSAFE_URL_CHARS.search(value):
        raise BrandingError("must not contain spaces, quotes, angle brackets or backslashes")
    if value.startswith("/") and not value.startswith("//"):
        return value
    parts = urlsplit(value)
    if parts.scheme == "https" and parts.netloc:
        return value
    raise BrandingError(
        f"must be an https:// address or a path on the gateway starting with /, not {url!r}"
    )


def absolute_logo_url(logo_url: str, public_url: str) -> str:
    """The logo's full address, for pages on other sites (a path is on the gateway)."""
    if logo_url.startswith("/"):
        return public_url.rstrip("/") + logo_url
    return logo_url
