"""The widget's accessibility in chromium: axe-core (from npm, `make test` installs it) on the
closed and the open widget at a desktop and a phone size, contrast of the controls that axe does
not measure, one announcement per answer, and the chat as a modal dialog on phones.

The widget talks to a stand-in for Rasa's socket.io channel (browser.FakeRasa): what is tested
is the page, not the assistant's answers.
"""

import pytest
from playwright.sync_api import Page, expect

from harness.browser import CONVERSATION, TITLE, DemoPage, FakeRasa, ask, open_chat
from harness.launcher import ARTIFACTS, PROJECT, free_port

AXE = PROJECT / "node_modules" / "axe-core" / "axe.min.js"
SIZES = {"desktop": {"width": 1280, "height": 800}, "phone": {"width": 390, "height": 844}}
expect.set_options(timeout=15_000)


@pytest.fixture(scope="module")
def demo_page() -> str:
    if not AXE.exists():
        pytest.fail(f"{AXE} is missing: run the tests with `make test`, which installs it")
    server = DemoPage(free_port(), "http://127.0.0.1:9", TITLE)  # FakeRasa answers instead
    yield server.url
    server.stop()


def new_page(browser, demo_page, size: str, scheme: str = "light") -> Page:
    # bypass_csp: axe-core is added as an inline script, which the demo page's policy forbids.
    # No motion: axe would measure colours halfway through the panel's fade-in.
    context = browser.new_context(viewport=SIZES[size], bypass_csp=True,
                                  reduced_motion="reduce", color_scheme=scheme)
    page = context.new_page()
    FakeRasa(page, CONVERSATION)
    page.goto(demo_page)
    return page


def violations(page: Page) -> list:
    """axe-core's serious, critical and moderate findings on the page (widget included)."""
    if not page.evaluate("Boolean(window.axe)"):
        page.add_script_tag(path=AXE)
    found = page.evaluate("async () => (await axe.run(document, {resultTypes: ['violations']}))"
                          ".violations.map(v => ({id: v.id, impact: v.impact, help: v.help, "
                          "nodes: v.nodes.map(n => n.target.join(' ') + ': ' + n.failureSummary)"
                          "}))")
    return [v for v in found if v["impact"] in ("moderate", "serious", "critical")]


@pytest.mark.parametrize("size, scheme", [("desktop", "light"), ("phone", "light"),
                                          ("desktop", "dark")])
def test_axe_finds_nothing_serious_or_moderate_closed_or_open(browser, demo_page, size, scheme):
    page = new_page(browser, demo_page, size, scheme)
    expect(page.locator(".launcher")).to_be_visible()
    assert violations(page) == []
    open_chat(page)
    ask(page, "what is kpo")
    expect(page.locator(".message.bot.answer .feedback")).to_be_visible()
    assert violations(page) == []
    page.locator(".message.bot.answer").get_by_role("button", name="Helpful", exact=True).click()
    expect(page.locator(".feedback")).to_contain_text("Thanks for the feedback")
    assert violations(page) == []
    page.screenshot(path=ARTIFACTS / f"widget-a11y-{size}-{scheme}.png")
    page.context.close()


# Colours of controls and states axe-core does not check (non-text contrast, WCAG 1.4.11: 3:1),
# each against the colour it sits on, and the offline header's text (1.4.3: 4.5:1).
CONTRAST = """([selector, property, backgroundSelector, state]) => {
    const root = document.getElementById('kpo-chat-widget').shadowRoot;
    const rgb = value => value.match(/[\\d.]+/g).slice(0, 3).map(Number);
    const luminance = ([r, g, b]) => [r, g, b].map(c => c / 255)
        .map(c => c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4)
        .reduce((sum, c, i) => sum + c * [0.2126, 0.7152, 0.0722][i], 0);
    const node = root.querySelector(selector);
    if (state === 'focus') node.focus();
    const style = getComputedStyle(node);
    const fore = luminance(rgb(style.getPropertyValue(property)));
    // A gradient behind: its every colour stop counts, the worst decides.
    const behind = getComputedStyle(root.querySelector(backgroundSelector));
    const colours = behind.backgroundImage === 'none' ? [behind.backgroundColor]
        : behind.backgroundImage.match(/rgba?\\([^)]*\\)/g);
    return Math.min(...colours.map(colour => luminance(rgb(colour))).map(back =>
        (Math.max(fore, back) + 0.05) / (Math.min(fore, back) + 0.05)));
}"""
CONTROLS = [  # what, its colour, the element behind it, the minimum ratio
    ("thumbs icon", (".rate:not(:disabled)", "color", ".log", None), 3),
    ("input border on the composer", (".input", "border-top-color", ".composer", None), 3),
    ("input border on its own field", (".input", "border-top-color", ".input", None), 3),
    ("focus ring on the composer", (".send", "outline-color", ".composer", "focus"), 3),
    ("focus ring in the conversation", (".quick-reply", "outline-color", ".log", "focus"), 3),
    ("focus ring in the header", (".close", "outline-color", ".header", "focus"), 3),
]


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_controls_and_focus_rings_meet_wcag_contrast(browser, demo_page, scheme):
    page = new_page(browser, demo_page, "desktop", scheme)
    open_chat(page)
    ask(page, "what is kpo")
    expect(page.locator(".message.bot.answer .feedback")).to_be_visible()
    page.keyboard.press("Tab")  # keyboard use: :focus-visible rings
    ratios = {what: page.evaluate(CONTRAST, list(args)) for what, args, _ in CONTROLS}
    assert {what: ratio for what, ratio in ratios.items()
            if ratio < dict((w, m) for w, _, m in CONTROLS)[what]} == {}
    page.context.close()


def test_offline_header_text_meets_wcag_contrast(browser, demo_page):
    context = browser.new_context(viewport=SIZES["desktop"])
    page = context.new_page()
    page.goto(demo_page)  # no FakeRasa: nothing answers at the server's address
    page.get_by_role("button", name=f"Open chat with {TITLE}").click()
    expect(page.locator(".status")).to_have_text("Offline · reconnecting…")
    ratio = page.evaluate(CONTRAST, [".status", "color", ".header", None])
    assert ratio >= 4.5
    context.close()


# Counts what is added to live regions (aria-live other than off, or an implicitly live role):
# each is something a screen reader reads out.
COUNT_ANNOUNCEMENTS = """() => {
    const root = document.getElementById('kpo-chat-widget').shadowRoot;
    window.announced = [];
    const live = node => {
        for (let n = node; n && n !== root; n = n.parentNode) {
            if (n.nodeType !== 1) continue;
            const value = n.getAttribute('aria-live');
            if (value) return value !== 'off';
            if (['log', 'status', 'alert'].includes(n.getAttribute('role'))) return true;
        }
        return false;
    };
    new MutationObserver(records => records.forEach(record => {
        if (live(record.target)) record.addedNodes.forEach(n => announced.push(n.textContent));
        else if (record.type === 'characterData' && live(record.target.parentNode))
            announced.push(record.target.data);
    })).observe(root, {childList: true, subtree: true, characterData: true});
}"""


def test_each_answer_is_announced_once(browser, demo_page):
    page = new_page(browser, demo_page, "desktop")
    open_chat(page)
    page.wait_for_timeout(1000)  # the welcome read out
    page.evaluate(COUNT_ANNOUNCEMENTS)
    ask(page, "what is kpo")
    page.wait_for_timeout(1500)
    announced = page.evaluate("window.announced")
    assert len(announced) == 1 and "Knowledge Process Outsourcing" in announced[0] \
        and "Source" in announced[0], announced
    # The next question clears this answer's follow-ups: that is not read again.
    ask(page, "what is bpo")
    page.wait_for_timeout(1500)
    announced = page.evaluate("window.announced")
    assert len(announced) == 2 and "didn't understand" in announced[1], announced
    page.context.close()


def test_on_a_phone_the_open_chat_is_a_modal_dialog_keeping_the_focus(browser, demo_page):
    page = new_page(browser, demo_page, "phone")
    open_chat(page)
    dialog = page.get_by_role("dialog", name=TITLE)
    expect(dialog).to_have_attribute("aria-modal", "true")
    inside = ("() => { const root = document.getElementById('kpo-chat-widget').shadowRoot;"
              " return root.querySelector('.panel').contains(root.activeElement); }")
    for key in ["Tab"] * 12 + ["Shift+Tab"] * 12:
        page.keyboard.press(key)
        assert page.evaluate(inside), key
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    page.context.close()


def test_on_a_desktop_the_chat_is_not_modal(browser, demo_page):
    page = new_page(browser, demo_page, "desktop")
    open_chat(page)
    expect(page.get_by_role("dialog", name=TITLE)).to_have_attribute("aria-modal", "false")
    page.context.close()
