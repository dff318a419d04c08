"""What the browser tests share: the accessibility check."""

from __future__ import annotations

from typing import Any

from playwright.async_api import Page


async def no_serious_axe_violations(page: Page, axe_source: str) -> None:
    """axe-core finds nothing serious or critical on the page as it is now."""
    await page.add_script_tag(content=axe_source)
    result: dict[str, Any] = await page.evaluate("axe.run(document)")
    serious = [
        (v["id"], [n["target"] for n in v["nodes"]][:3])
        for v in result["violations"]
        if v["impact"] in ("serious", "critical")
    ]
    assert serious == []
