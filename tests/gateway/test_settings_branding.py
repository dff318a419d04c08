"""The charity's name, accent colour, logo and time locale: refused at start when wrong."""

from __future__ import annotations

import pytest

from gateway import branding
from gateway.settings import SettingsError, load_settings


def test_defaults_are_a_plain_demo_with_an_accessible_accent() -> None:
    settings = load_settings({})
    assert settings.service_name == "Demo Helpline"
    assert branding.contrast_with_white(settings.accent_colour) >= 4.5
    assert settings.logo_url == settings.logo_href == ""
    assert settings.time_locale == "en-GB"


def test_name_colour_and_logo_are_read_and_tidied() -> None:
    settings = load_settings(
        {
            "HAVEN_SERVICE_NAME": "  Harbour   Lane Listening ",
            "HAVEN_ACCENT_COLOUR": "#7A1F5C",
            "HAVEN_LOGO_URL": "/static/harbour.svg",
            "HAVEN_PUBLIC_URL": "https://chat.harbour.example",
        }
    )
    assert settings.service_name == "Harbour Lane Listening"
    assert settings.accent_colour == "#7a1f5c"
    assert settings.logo_href == "https://chat.harbour.example/static/harbour.svg"
    https = load_settings({"HAVEN_LOGO_URL": "https://cdn.harbour.example/logo.png"})
    assert https.logo_href == "https://cdn.harbour.example/logo.png"


@pytest.mark.parametrize("colour", ["blue", "#12345", "#1f5f8bff", "1f5f8b", "#ggg000", ""])
def test_a_colour_not_written_rrggbb_is_refused(colour: str) -> None:
    with pytest.raises(
        SettingsError, match=r"HAVEN_ACCENT_COLOUR: must be a colour written #rrggbb"
    ):
        load_settings({"HAVEN_ACCENT_COLOUR": colour})


@pytest.mark.parametrize("colour", ["#ffcc00", "#ffffff", "#4a90d9", "#e57373"])
def test_a_colour_white_text_cannot_be_read_on_is_refused_with_a_darker_shade(
    colour: str,
) -> None:
    with pytest.raises(SettingsError, match=r"below the 4.5:1 that WCAG AA asks for") as info:
        load_settings({"HAVEN_ACCENT_COLOUR": colour})
    suggested = str(info.value).rstrip(".").rsplit(" ", 1)[-1]
    assert branding.contrast_with_white(suggested) >= 4.5
    # The suggestion is the same colour, darker, and as light as it can be.
    load_settings({"HAVEN_ACCENT_COLOUR": suggested})
    assert suggested != colour


def test_contrast_figures_match_wcag() -> None:
    assert branding.contrast_with_white("#000000") == pytest.approx(21.0)
    assert branding.contrast_with_white("#ffffff") == pytest.approx(1.0)
    # #767676 is the well-known lightest grey that passes 4.5:1 on white.
    assert branding.contrast_with_white("#767676") == pytest.approx(4.54, abs=0.01)
    assert branding.contrast_with_white("#777777") < 4.5


@pytest.mark.parametrize(
    "url",
    [
        "javascript:alert(1)",
        "http://harbour.example/logo.png",
        "//harbour.example/logo.png",
        "data:image/svg+xml,<svg/>",
        "logo.png",
        'https://harbour.example/a"onerror="x',
        "https://harbour.example/my logo.png",
        "https:///no-host.png",
    ],
)
def test_a_logo_address_that_is_not_https_or_a_gateway_path_is_refused(url: str) -> None:
    with pytest.raises(SettingsError, match="HAVEN_LOGO_URL"):
        load_settings({"HAVEN_LOGO_URL": url})


@pytest.mark.parametrize("name", ["", "   ", "x" * 81])
def test_an_empty_or_overlong_name_is_refused(name: str) -> None:
    with pytest.raises(SettingsError, match="HAVEN_SERVICE_NAME"):
        load_settings({"HAVEN_SERVICE_NAME": name})


@pytest.mark.parametrize("tag", ["", "english", "en_GB", "en-GB;x"])
def test_a_time_locale_that_is_not_a_language_tag_is_refused(tag: str) -> None:
    with pytest.raises(SettingsError, match="HAVEN_TIME_LOCALE"):
        load_settings({"HAVEN_TIME_LOCALE": tag})
