"""Languages in the widget: the server says which it speaks, the widget offers a switch
(the language's own name), and switching starts again in the chosen language, the
old session deleted. Welsh speaks one register (ti) in the widget and the bot, and
the Welsh queue panel gives the Welsh-language line with its hours."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.async_api import Browser, expect
from sqlalchemy import func, select

from gateway.models import ChatSession, Message
from gateway.services import Services
from tests.conftest import LiveServer
from tests.e2e.support import no_serious_axe_violations

pytestmark = [pytest.mark.asyncio, pytest.mark.browser]

TIMEOUT = 10_000


async def test_switching_to_welsh_starts_again_in_welsh_with_the_welsh_line(
    live_server: LiveServer, browser: Browser, artifacts: Path, axe_source: str
) -> None:
    svc: Services = live_server.app.state.runtime.svc
    page = await (await browser.new_context(viewport={"width": 390, "height": 844})).new_page()
    await page.goto(f"{live_server.http}/demo")
    await page.get_by_role("button", name="Chat with us").click()
    log = page.get_by_role("log", name="Conversation")
    await expect(log).to_contain_text("Is that okay with you?", timeout=TIMEOUT)
    languages = page.get_by_role("group", name="Language")
    welsh = languages.get_by_role("button", name="Cymraeg")
    await expect(welsh).to_have_attribute("lang", "cy")
    await page.screenshot(path=str(artifacts / "widget-language-1-english.png"))

    # Nothing said yet: no question, the chat starts again in Welsh.
    await welsh.click()
    log = page.get_by_role("log", name="Sgwrs")
    await expect(log).to_contain_text("Wyt ti'n hapus gyda hynny?", timeout=TIMEOUT)
    await expect(page.locator("haven-chat")).to_have_count(1)
    await expect(log).not_to_contain_text("Is that okay with you?")
    await expect(page.get_by_role("button", name="Gadael yn gyflym")).to_be_visible()
    box = page.get_by_role("textbox", name="Dy neges")
    await expect(box).to_be_focused()
    english = page.get_by_role("group", name="Iaith").get_by_role("button", name="English")
    await expect(english).to_have_attribute("lang", "en")
    await page.screenshot(path=str(artifacts / "widget-language-2-welsh.png"))

    # The English session was deleted, not left behind.
    async with svc.read() as session:
        chats = list(
            (await session.execute(select(ChatSession).order_by(ChatSession.id))).scalars()
        )
        kept = await session.scalar(
            select(func.count()).select_from(Message).where(Message.session_id == chats[0].id)
        )
    assert [(c.locale, c.token_hash is None) for c in chats] == [("en", True), ("cy", False)]
    assert kept == 0

    # Once the person has said something, switching asks first.
    await page.get_by_role("button", name="Ydw, parhau").click()
    await expect(log).to_contain_text("Ti: Ydw, parhau", timeout=TIMEOUT)
    await english.click()
    confirm = page.get_by_role("group", name="Dechrau eto yn English?")
    await expect(confirm).to_contain_text("Bydd yr hyn rwyt ti wedi\u2019i ysgrifennu")
    await page.screenshot(path=str(artifacts / "widget-language-3-confirm.png"))
    await confirm.get_by_role("button", name="Canslo").click()
    await expect(english).to_be_focused()

    # In the queue, in Welsh: the Welsh-language line with its hours, as a link.
    replies = page.get_by_role("group", name="Atebion awgrymedig")
    await replies.get_by_role("button", name="Siarad â pherson").click(timeout=TIMEOUT)
    await page.get_by_role("button", name="Aros am gwnselydd").click(timeout=TIMEOUT)
    await expect(page.get_by_text("Rwyt ti\u2019n rhif 1 yn y ciw.")).to_be_visible(timeout=TIMEOUT)
    await expect(english).to_be_hidden()  # switching would end the wait
    toggle = page.get_by_role("button", name="Ffyrdd eraill o gael help")
    if await toggle.get_attribute("aria-expanded") != "true":
        await toggle.click()
    more = page.locator("#hw-qmore")
    await expect(more).to_contain_text(
        "Llinell Gymraeg y Samariaid: ffonia 0808 164 0123, am ddim, "
        "bob dydd rhwng 7 yr hwyr ac 11 y nos"
    )
    await expect(more.get_by_role("link", name="Ffonio'r Llinell Gymraeg")).to_have_attribute(
        "href", "tel:08081640123"
    )
    await expect(more.get_by_role("button", name="Gadael y ciw")).to_be_visible()
    await page.screenshot(path=str(artifacts / "widget-language-4-welsh-queue.png"))
    await no_serious_axe_violations(page, axe_source)
