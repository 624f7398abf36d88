"""What the widget offers beyond a question and its answer, in chromium: safe Markdown, images,
custom payloads, the JavaScript API and its events, a new conversation, timestamps, the unread
badge, configurable strings, theme, launcher position and brand colour, and its size.

The widget talks to a stand-in for Rasa's socket.io channel (browser.FakeRasa).
"""
import base64
import json

import pytest
from playwright.sync_api import Page, expect, sync_playwright

from browser import CONVERSATION, DemoPage, FakeRasa, launch_chromium, rasa_answer
from conftest import free_port

TITLE = "Careers assistant"
expect.set_options(timeout=15_000)
PIXEL = base64.b64decode("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==")


@pytest.fixture(scope="module")
def demo() -> DemoPage:
    server = DemoPage(free_port(), "http://127.0.0.1:9", TITLE)  # FakeRasa answers instead
    yield server
    server.stop()


@pytest.fixture(scope="module")
def browser():
    with sync_playwright() as playwright:
        chromium = launch_chromium(playwright)
        yield chromium
        chromium.close()


@pytest.fixture
def context(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    yield context
    context.close()


def new_page(context, demo: DemoPage, replies=None) -> Page:
    page = context.new_page()
    errors = []
    page.on("pageerror", lambda error: errors.append(error))
    page.fake = FakeRasa(page, {**CONVERSATION, **(replies or {})})
    page.errors = errors
    page.goto(demo.url)
    return page


def open_chat(page: Page) -> None:
    page.get_by_role("button", name=f"Open chat with {TITLE}").click()
    expect(page.locator(".message.bot.welcome .quick-reply")).to_have_count(3)


def ask(page: Page, text: str) -> None:
    answers = page.locator(".message.bot.answer").count()
    page.get_by_label("Your question").fill(text)
    page.keyboard.press("Enter")
    expect(page.locator(".message.bot.answer")).to_have_count(answers + 1)


def last_answer(page: Page):
    return page.locator(".message.bot.answer").last


def shadow_count(page: Page, selector: str) -> int:
    return page.evaluate("selector => document.getElementById('kpo-chat-widget').shadowRoot"
                         ".querySelectorAll(selector).length", selector)


MARKDOWN = ("Both have **two sides**:\n- costs, see [the article](https://example.com/a)\n"
            "- risks: https://example.com/b.\n1. first\n2. second\n"
            "Not [a link](javascript:alert(1)) nor <b onmouseover=\"window.injected=1\">html</b>")


def test_markdown_bold_lists_and_links_render_and_html_stays_text(context, demo):
    page = new_page(context, demo, {"markdown": rasa_answer([MARKDOWN])})
    open_chat(page)
    ask(page, "markdown")
    bubble = last_answer(page).locator(".bubble")
    expect(bubble.locator("strong")).to_have_text("two sides")
    expect(bubble.locator("ul > li")).to_have_text(["costs, see the article",
                                                    "risks: https://example.com/b."])
    expect(bubble.locator("ol > li")).to_have_text(["first", "second"])
    expect(bubble.locator("a")).to_have_count(2)
    expect(bubble.locator("a").first).to_have_attribute("href", "https://example.com/a")
    expect(bubble.locator("a").last).to_have_attribute("href", "https://example.com/b")
    expect(bubble.locator("a").first).to_have_attribute("rel", "noopener noreferrer")
    expect(bubble.locator("p").last).to_have_text(
        'Not a link nor <b onmouseover="window.injected=1">html</b>')
    assert shadow_count(page, ".log b, .log [onmouseover]") == 0
    assert not page.errors


def test_an_image_from_the_assistant_is_shown(context, demo):
    src = f"{demo.origin}/chart.png"
    context.route(src, lambda route: route.fulfill(body=PIXEL, content_type="image/png"))
    image = {"attachment": {"type": "image", "payload": {"src": src}}}
    hostile = {"attachment": {"type": "image", "payload": {"src": "javascript:alert(1)"}}}
    page = new_page(context, demo, {"chart": [{"text": "The chart:"}, image, hostile]})
    open_chat(page)
    ask(page, "chart")
    picture = last_answer(page).locator("img")
    expect(picture).to_have_count(1)
    expect(picture).to_have_attribute("src", src)
    expect(picture).to_have_attribute("alt", f"Image from {TITLE}")
    page.wait_for_function("() => document.getElementById('kpo-chat-widget').shadowRoot"
                           ".querySelector('.log img').naturalWidth > 0")
