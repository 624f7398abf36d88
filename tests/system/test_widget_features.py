"""What the widget offers beyond a question and its answer, in chromium: safe Markdown, images,
custom payloads, the JavaScript API and its events, a new conversation, timestamps, the unread
badge, configurable strings, theme, launcher position and brand colour, and its size.

The widget talks to a stand-in for Rasa's socket.io channel (browser.FakeRasa).
"""
import base64
import gzip
import json

import pytest
from playwright.sync_api import Page, expect

from harness.browser import (
    CONVERSATION,
    TITLE,
    DemoPage,
    FakeRasa,
    ask,
    last_answer,
    open_chat,
    rasa_answer,
)
from harness.launcher import PROJECT, free_port

expect.set_options(timeout=15_000)
PIXEL = base64.b64decode("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDw"
                         "ADhgGAWjR9awAAAABJRU5ErkJggg==")


@pytest.fixture(scope="module")
def demo() -> DemoPage:
    server = DemoPage(free_port(), "http://127.0.0.1:9", TITLE)  # FakeRasa answers instead
    yield server
    server.stop()


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


def embedding_page(context, demo: DemoPage, options: str = None, replies=None,
                   attributes: str = "") -> Page:
    """A page of the site's own that starts the widget with KpoChat.init(options) (JavaScript),
    or by itself with the script tag's data-* `attributes` when options is None."""
    url = f"{demo.origin}/embedded.html"
    start = "" if options is None else (
        f'<script>KpoChat.init(Object.assign({{serverUrl: "http://127.0.0.1:9", '
        f'title: "{TITLE}"}}, {options}));</script>')
    autoinit = 'data-autoinit="false"' if options is not None else \
        f'data-server-url="http://127.0.0.1:9" data-title="{TITLE}"'
    html = ('<!doctype html><html lang="en"><head><title>Embedded</title></head><body>'
            f'<main><h1>A site</h1></main><script src="/widget.js" {autoinit} {attributes}>'
            f'</script>{start}</body></html>')
    context.route(url, lambda route: route.fulfill(body=html, content_type="text/html"))
    page = context.new_page()
    page.fake = FakeRasa(page, {**CONVERSATION, **(replies or {})})
    page.goto(url)
    return page


LISTEN = """() => { window.events = [];
    for (const name of ['open', 'close', 'message', 'feedback'])
        KpoChat.on(name, detail => events.push([name, detail])); }"""


def test_the_javascript_api_drives_the_chat_and_reports_its_events(context, demo):
    page = new_page(context, demo)
    page.evaluate(LISTEN)
    dialog = page.get_by_role("dialog", name=TITLE)
    page.evaluate("KpoChat.open()")
    expect(dialog).to_be_visible()
    expect(page.locator(".message.bot.welcome")).to_have_count(1)
    page.evaluate("KpoChat.send('what is kpo')")
    expect(last_answer(page).locator(".source")).to_contain_text("Source")
    last_answer(page).get_by_role("button", name="Not helpful").click()
    page.evaluate("KpoChat.toggle()")
    expect(dialog).to_be_hidden()
    page.evaluate("KpoChat.toggle().close()")
    expect(dialog).to_be_hidden()
    events = page.evaluate("events")
    assert [name for name, _ in events] == ["open", "message", "message", "message", "feedback",
                                           "close", "open", "close"]
    welcome, question, answer = (detail for name, detail in events if name == "message")
    assert welcome["role"] == "bot" and "outsourcing assistant" in welcome["text"]
    assert question == {"role": "user", "text": "what is kpo", "payload": "what is kpo"}
    assert answer["role"] == "bot" and answer["question"] == "what is kpo"
    assert "Knowledge Process Outsourcing" in answer["text"] and len(answer["buttons"]) == 2
    feedback = events[4][1]
    assert feedback["rating"] == "down" and feedback["question"] == "what is kpo"
    with pytest.raises(Exception, match="no event"):
        page.evaluate("KpoChat.on('nonsense', () => {})")


def test_a_new_conversation_starts_afresh_with_a_new_session(context, demo):
    page = new_page(context, demo)
    open_chat(page)
    ask(page, "what is kpo")
    other_tab = context.new_page()
    FakeRasa(other_tab, CONVERSATION)
    other_tab.goto(demo.url)
    expect(other_tab.locator(".message.bot.answer")).to_have_count(1)
    page.get_by_role("button", name="New conversation").click()
    expect(page.locator(".message.user")).to_have_count(0)
    expect(page.locator(".message.bot.welcome")).to_have_count(1)  # greeted afresh
    expect(page.get_by_label("Your question")).to_be_focused()
    assert page.fake.sessions[-1] is None  # not the old session's id: the server issues one
    expect(other_tab.locator(".message.bot.answer")).to_have_count(0)
    expect(other_tab.locator(".message.bot.welcome")).to_have_count(1)
    page.evaluate("KpoChat.send('what is kpo')")
    expect(last_answer(page)).to_contain_text("Knowledge Process Outsourcing")
    page.evaluate("KpoChat.clear()")
    expect(page.locator(".message.bot.answer")).to_have_count(0)


def test_custom_payloads_reach_the_site_which_may_render_them(context, demo):
    card = {"type": "card", "title": "KPO jobs", "url": "https://example.com/jobs"}
    replies = {"jobs": [{"text": "Here are some:"}, card]}
    page = new_page(context, demo, replies)
    page.evaluate(LISTEN)
    open_chat(page)
    ask(page, "jobs")
    expect(last_answer(page)).to_contain_text("Here are some:")
    page.wait_for_function("() => events.some(([name, detail]) => name === 'message' && "
                           "(detail.custom || []).length)")
    custom = page.evaluate("events.filter(([name, d]) => name === 'message' && "
                           "(d.custom || []).length)[0][1].custom")
    assert custom == [card]
    page.evaluate("localStorage.clear()")
    # A site that renders them: KpoChat.init({renderCustom}).
    rendered = embedding_page(context, demo, "{renderCustom: payload => { const link = "
                              "document.createElement('a'); link.className = 'card'; "
                              "link.href = payload.url; link.textContent = payload.title; "
                              "return link; }}", replies)
    open_chat(rendered)
    ask(rendered, "jobs")
    expect(last_answer(rendered).locator("a.card")).to_have_text("KPO jobs")


def test_messages_carry_their_time(context, demo):
    page = new_page(context, demo)
    open_chat(page)
    ask(page, "what is kpo")
    now = page.evaluate("new Date().toLocaleTimeString([], {hour: '2-digit', minute: '2-digit'})")
    for message in (page.locator(".message.user").last, last_answer(page)):
        stamp = message.locator("time")
        expect(stamp).to_have_text(now)
        assert stamp.get_attribute("datetime").endswith("Z")


def test_answers_that_come_while_the_chat_is_closed_are_counted_on_the_launcher(context, demo):
    page = new_page(context, demo)
    open_chat(page)
    page.evaluate("KpoChat.close().send('what is kpo')")
    launcher = page.locator(".launcher")
    expect(launcher.locator(".badge")).to_have_text("1")
    expect(launcher).to_have_attribute("aria-label", f"Open chat with {TITLE} (1 unread)")
    page.evaluate("KpoChat.send('something else')")
    expect(launcher.locator(".badge")).to_have_text("2")
    page.reload()
    expect(launcher.locator(".badge")).to_have_text("2")
    launcher.click()
    expect(launcher.locator(".badge")).to_be_hidden()
    page.evaluate("KpoChat.close()")
    expect(launcher).to_have_attribute("aria-label", f"Open chat with {TITLE}")


# Relative luminance contrast of two computed colours, in the page.
CONTRAST = """([a, b]) => {
    const rgb = value => value.match(/[\\d.]+/g).slice(0, 3).map(Number);
    const lum = c => rgb(c).map(v => v / 255)
        .map(v => v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4)
        .reduce((sum, v, i) => sum + v * [0.2126, 0.7152, 0.0722][i], 0);
    const [x, y] = [lum(a), lum(b)].sort((p, q) => q - p);
    return (x + 0.05) / (y + 0.05);
}"""


def style(page: Page, selector: str, name: str) -> str:
    return page.evaluate("([selector, name]) => getComputedStyle(document.getElementById("
                         "'kpo-chat-widget').shadowRoot.querySelector(selector))"
                         ".getPropertyValue(name)", [selector, name])


FRENCH = {"openChat": "Discuter avec {title}", "closeChat": "Fermer", "question": "Votre question",
          "placeholder": "Posez votre question…", "helpful": "Cette réponse vous a-t-elle aidé ?",
          "online": "En ligne", "you": "Vous", "count": "{count} / {max} caractères"}


def test_every_string_can_be_changed_for_another_language(context, demo):
    page = embedding_page(context, demo, f"{{lang: 'fr', strings: {json.dumps(FRENCH)}}}")
    page.get_by_role("button", name=f"Discuter avec {TITLE}").click()
    expect(page.locator(".status")).to_have_text("En ligne")
    question = page.get_by_label("Votre question")
    expect(question).to_have_attribute("placeholder", "Posez votre question…")
    question.fill("what is kpo")
    page.keyboard.press("Enter")
    expect(page.locator(".message.user .bubble")).to_have_text("Vous: what is kpo")
    expect(last_answer(page).locator(".feedback")).to_contain_text("Cette réponse")
    question.fill("x" * 1900)
    expect(page.locator(".counter")).to_have_text("1\u202f900 / 2\u202f000 caractères")
    assert page.evaluate("document.getElementById('kpo-chat-widget').shadowRoot"
                         ".querySelector('.widget').lang") == "fr"
    expect(page.get_by_role("button", name="Fermer").first).to_be_visible()


def test_the_theme_follows_the_system_unless_the_site_chooses(browser, demo):
    for scheme, attributes, dark in (("light", "", False), ("dark", "", True),
                                     ("dark", 'data-theme="light"', False),
                                     ("light", 'data-theme="dark"', True)):
        context = browser.new_context(color_scheme=scheme)
        page = embedding_page(context, demo, attributes=attributes)
        open_chat(page)
        canvas = style(page, ".log", "background-color")
        ink = style(page, ".bubble p", "color")
        assert (canvas == "rgb(18, 21, 31)") == dark, (scheme, attributes, canvas)
        assert page.evaluate(CONTRAST, [canvas, ink]) >= 4.5
        if not attributes:  # "auto" follows the system when it changes with the page open
            page.emulate_media(color_scheme="light" if dark else "dark")
            expect(page.locator(".log")).to_have_css(
                "background-color", "rgb(246, 247, 251)" if dark else "rgb(18, 21, 31)")
        context.close()


def test_the_launcher_goes_left_when_the_site_asks(context, demo):
    page = embedding_page(context, demo, attributes='data-position="left"')
    box = page.locator(".launcher").bounding_box()
    assert box["x"] < 40
    page.locator(".launcher").click()
    panel = page.get_by_role("dialog", name=TITLE).bounding_box()
    assert panel["x"] < 40


@pytest.mark.parametrize("colour", ["#ffcc00", "rgb(0, 100, 60)"])
def test_the_brand_colour_is_used_and_text_on_it_stays_readable(context, demo, colour):
    page = embedding_page(context, demo, attributes=f'data-brand-color="{colour}"')
    open_chat(page)
    ask(page, "what is kpo")
    page.mouse.move(1, 1)  # not hovering the launcher, which darkens it
    page.wait_for_timeout(300)
    launcher = style(page, ".launcher", "background-color")
    expected = page.evaluate("c => { const s = document.createElement('span'); s.style.color = c;"
                             " document.body.append(s); return getComputedStyle(s).color; }",
                             colour)
    assert launcher == expected
    pairs = [(".user .bubble", "color", ".user .bubble", "background-color", 4.5),
             (".header", "color", ".header", "background-color", 4.5),
             (".quick-reply", "color", ".quick-reply", "background-color", 4.5),
             (".send", "color", ".send", "background-color", 3)]
    for fore, fore_name, back, back_name, minimum in pairs:
        ratio = page.evaluate(CONTRAST, [style(page, fore, fore_name), style(page, back, back_name)])
        assert ratio >= minimum, (colour, fore, ratio)


# What a page downloads for the widget (the embed is the one script tag, which loads the rest).
DOWNLOADED = ("widget.js", "widget.css", "vendor/socket.io-client/socket.io.min.js")


def test_the_widget_downloads_under_40_kb_gzipped():
    sizes = {name: len(gzip.compress((PROJECT / "web" / "static" / name).read_bytes(), 9))
             for name in DOWNLOADED}
    print("gzipped:", ", ".join(f"{name} {size:,} B" for name, size in sizes.items()),
          f"= {sum(sizes.values()):,} B")
    assert sum(sizes.values()) < 40_000


def test_the_demo_pages_buttons_ask_through_the_api(context, demo):
    page = new_page(context, demo)
    page.get_by_role("button", name="Ask the assistant: what jobs can I get after an M.Sc in "
                                    "computer science?").click()
    expect(page.get_by_role("dialog", name=TITLE)).to_be_visible()
    expect(page.locator(".message.user .bubble")).to_have_text(
        "You: what jobs can I get after an M.Sc in computer science?")
    assert page.fake.received[-1]["message"] == \
        "what jobs can I get after an M.Sc in computer science?"


def test_a_question_asked_before_the_welcome_is_in_gets_its_own_answer(context, demo):
    page = new_page(context, demo)
    expect(page.locator(".status")).to_have_text("Online")
    page.evaluate("KpoChat.open().send('what is kpo')")  # the greeting is still on its way
    expect(page.locator(".message.bot.welcome")).to_have_count(1)
    expect(last_answer(page).locator(".source")).to_contain_text("Source")
    expect(page.locator(".message.bot.welcome")).not_to_contain_text("Knowledge")
    expect(last_answer(page)).not_to_contain_text("outsourcing assistant")
    assert [sent["message"] for sent in page.fake.received] == ["/greet", "what is kpo"]
