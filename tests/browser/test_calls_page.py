"""The directory of calls in a browser, without a login: a visitor in Berlin reads each
call's time in their own zone (the page's script converts the UTC time it was given), the
number and the PIN of a room that shows it, and nothing of a room that is not public."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from playwright.async_api import Browser, expect

from tests.browser.conftest import LAPTOP, PHONE, SCREENSHOTS

BERLIN = ZoneInfo("Europe/Berlin")


async def test_a_visitor_sees_the_calls_in_their_own_zone_without_logging_in(
    browser: Browser, base_url: str
) -> None:
    context = await browser.new_context(
        viewport=LAPTOP,  # type: ignore[arg-type]
        base_url=base_url,
        timezone_id="Europe/Berlin",
        locale="en-GB",
    )
    try:
        page = await context.new_page()
        await page.goto("/calls")
        await expect(page.get_by_role("heading", name="Upcoming calls")).to_be_visible()
        first = page.locator("li.call", has_text="Weekly assembly").first
        await expect(first).to_be_visible()
        start = first.locator("time").first
        utc = datetime.fromisoformat(str(await start.get_attribute("datetime")))
        in_berlin = utc.astimezone(BERLIN)
        await expect(start).to_contain_text(f"{in_berlin:%H:%M}")
        in_new_york = utc.astimezone(ZoneInfo("America/New_York"))
        room_time = f"{in_new_york:%a %d %b %Y, %H:%M} (America/New_York)"
        await expect(start).to_have_attribute("title", f"{room_time} in the room's time zone")
        await expect(page.locator("#visitor-zone")).to_have_text(" (Europe/Berlin)")
        await expect(first.locator(".pin")).to_have_text("PIN: 3131")
        text = await page.locator("main").inner_text()
        for private in ("leap days", "2929", "2930", "e2e-scheduled"):
            assert private not in text
        await page.screenshot(path=SCREENSHOTS / "calls-laptop.png")
        await page.set_viewport_size(PHONE)  # type: ignore[arg-type]
        await page.screenshot(path=SCREENSHOTS / "calls-phone.png")
    finally:
        await context.close()
