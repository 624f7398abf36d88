"""The web widget in a real browser: Debian's chromium driven by Playwright, against the action
server, Rasa (socket.io channel) and the demo page server, all on free ports.

One browser for the module; every test opens a context of its own, which is a new browser
profile (its own storage, so its own session). The Rasa restart test comes last.
"""
import json
import re
import sqlite3
import time

import pytest
import requests
import socketio
import websocket
from playwright.sync_api import Page, expect, sync_playwright

from channels.rest import MESSAGE_MAX_LENGTH, TOO_LONG_REPLY
from harness.browser import TITLE, DemoPage, ask, last_answer, launch_chromium, open_chat
from harness.launcher import ARTIFACTS, Assistant, free_port

expect.set_options(timeout=15_000)  # far above an answer's time, for a machine under load
USER = ".message.user .bubble"  # what the user said, after "You:" for screen readers
INJECTION = '<img src=x onerror="window.injected=1"><script>window.injected=2</script>'


@pytest.fixture(scope="module")
def web_port() -> int:
    return free_port()


@pytest.fixture(scope="module")
def web_origin(web_port) -> str:
    return f"http://127.0.0.1:{web_port}"


@pytest.fixture(scope="module")
def widget_assistant(tmp_path_factory, web_port, web_origin) -> Assistant:
    # The demo page's port is only taken once the assistant is up: the assistant must not have
    # been given the same free port meanwhile.
    while True:
        running = Assistant(tmp_path_factory.mktemp("widget"),
                            env={"WIDGET_ORIGINS": web_origin,
                                 "WIDGET_SESSION_SECRET": "a-secret-for-the-tests-only"})
        if web_port not in (running.rasa_port, running.action_port):
            break
        running.stop()
    try:
        running.wait_until_ready()
        yield running
    finally:
        running.stop()


@pytest.fixture(scope="module")
def demo_page(widget_assistant, web_port) -> str:
    server = DemoPage(web_port, widget_assistant.url, TITLE)
    yield server.url
    server.stop()


@pytest.fixture(scope="module")
def browser(widget_assistant):  # closed before the assistant stops
    with sync_playwright() as playwright:
        chromium = launch_chromium(playwright)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser, demo_page) -> Page:
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    context.set_default_timeout(20_000)
    page = context.new_page()
    errors = []
    page.on("pageerror", lambda error: errors.append(error))
    page.goto(demo_page)
    yield page
    context.close()
    assert not errors, f"the page raised: {errors}"


def session_id(page: Page) -> str:
    return page.evaluate("JSON.parse(Object.entries(localStorage).find(([key]) =>"
                         " key.startsWith('kpo-chat:'))[1]).sessionId")


def test_a_question_gets_its_answer_with_source_and_quick_replies(page):
    open_chat(page)
    expect(page.locator(".message.bot.welcome")).to_contain_text("Ask me about KPO and BPO")
    ask(page, "what is kpo")
    expect(page.locator(USER).last).to_have_text("You: what is kpo")
    expect(last_answer(page)).to_contain_text("Knowledge Process Outsourcing")
    expect(last_answer(page).locator(".source")).to_contain_text("Source:")
    expect(page.get_by_label("Your question")).to_be_focused()
    # The welcome's starter questions make way for the answer's follow-ups.
    expect(page.locator(".message.bot.welcome .quick-reply")).to_have_count(0)
    follow_ups = last_answer(page).locator(".quick-reply")
    expect(follow_ups.first).to_be_visible()
    page.screenshot(path=ARTIFACTS / "widget-desktop.png")

    question = follow_ups.first.text_content()
    follow_ups.first.click()
    expect(page.locator(".message.bot.answer")).to_have_count(2)
    expect(page.locator(USER).last).to_have_text(f"You: {question}")
    expect(last_answer(page).locator(".source")).to_contain_text("Source:")
    expect(page.get_by_label("Your question")).to_be_focused()


def test_a_starter_question_gets_its_answer_and_the_launcher_closes_the_chat(page):
    open_chat(page)
    page.get_by_role("button", name="What is BPO?").click()
    expect(last_answer(page)).to_contain_text("Business Process Outsourcing")
    page.locator(".launcher").click()
    expect(page.get_by_role("dialog", name=TITLE)).to_be_hidden()
    expect(page.locator(".launcher")).to_have_attribute("aria-label", f"Open chat with {TITLE}")


def test_the_conversation_survives_a_reload_in_the_same_session(page):
    open_chat(page)
    ask(page, "what is bpo")
    session = session_id(page)
    assert re.fullmatch(r"[0-9a-f]{64}", session)
    page.reload()
    expect(page.locator(".message.bot.answer")).to_have_count(1)
    expect(last_answer(page)).to_contain_text("Business Process Outsourcing")
    expect(page.locator(USER)).to_have_text(["You: what is bpo"])
    expect(page.locator(".status")).to_have_text("Online")
    assert session_id(page) == session
    # The assistant remembers too: "its" is still BPO.
    ask(page, "what are its risks?")
    expect(last_answer(page)).to_contain_text("BPO")


def test_a_damaged_stored_conversation_keeps_what_it_can(page, widget_assistant):
    damaged = {"sessionId": 42, "messages": [{"role": "bot", "parts": 5}, None,
                                             {"role": "user", "text": "kept"}]}
    expect(page.locator(".status")).to_have_text("Online")  # its own state is saved by then
    page.evaluate("([key, value]) => localStorage.setItem(key, value)",
                  [f"kpo-chat:{widget_assistant.url}", json.dumps(damaged)])
    page.reload()
    page.get_by_role("button", name=f"Open chat with {TITLE}").click()
    expect(page.locator(".message .bubble")).to_have_text(["You: kept"])
    expect(page.locator(".status")).to_have_text("Online")
    ask(page, "what is kpo")
    expect(last_answer(page)).to_contain_text("Knowledge Process Outsourcing")


def test_each_browser_gets_a_session_of_its_own(browser, demo_page):
    sessions = []
    for _ in range(2):
        context = browser.new_context()
        page = context.new_page()
        page.goto(demo_page)
        open_chat(page)
        sessions.append(session_id(page))
        context.close()
    assert sessions[0] != sessions[1]


def test_html_from_the_user_or_the_bot_is_shown_as_text_and_never_runs(page):
    sockets = []
    page.route_web_socket(re.compile(r"/socket\.io/"),
                          lambda ws: (ws.connect_to_server(), sockets.append(ws)))
    page.reload()
    open_chat(page)
    ask(page, INJECTION)
    expect(page.locator(USER).last).to_have_text(f"You: {INJECTION}")
    # A bot message with markup and links, as if the server had sent it.
    hostile = ('Read <img src=x onerror="window.injected=3"> https://example.com/kpo. '
               'Not javascript:alert(1) nor <a href="javascript:alert(2)">this</a>')
    sockets[-1].send("42" + json.dumps(["bot_uttered", {"text": hostile}]))
    paragraph = page.locator(".message.bot").last.locator(".bubble p").last
    expect(paragraph).to_have_text(hostile)
    links = paragraph.locator("a")
    expect(links).to_have_count(1)
    expect(links).to_have_attribute("href", "https://example.com/kpo")
    expect(links).to_have_attribute("rel", "noopener noreferrer")
    expect(links).to_have_attribute("target", "_blank")
    elements = page.evaluate("""() => {
        const root = document.getElementById('kpo-chat-widget').shadowRoot;
        return root.querySelectorAll('.log img, .log script, .log [onerror]').length;
    }""")
    assert elements == 0
    assert page.evaluate("window.injected") is None


def test_thumbs_are_recorded_in_the_conversation_with_the_answer_they_rate(page,
                                                                            widget_assistant):
    open_chat(page)
    ask(page, "what is kpo")
    last_answer(page).get_by_role("button", name="Helpful", exact=True).click()
    expect(last_answer(page).locator(".feedback")).to_contain_text("Thanks for the feedback")
    expect(last_answer(page).get_by_role("button", name="Helpful", exact=True)) \
        .to_have_attribute("aria-pressed", "true")
    expect(last_answer(page).get_by_role("button", name="Not helpful")).to_be_disabled()

    with sqlite3.connect(widget_assistant.tracker_db) as db:
        rows = db.execute("SELECT data FROM events WHERE sender_id = ? AND type_name = 'user'",
                          (session_id(page),)).fetchall()
    events = [json.loads(data) for (data,) in rows]
    rated = [event for event in events if event["parse_data"]["intent"]["name"]
             == "feedback_positive"]
    assert len(rated) == 1
    feedback = rated[0]["metadata"]["feedback"]
    assert feedback["rating"] == "up" and feedback["question"] == "what is kpo"
    assert "Knowledge Process Outsourcing" in feedback["answer"]


def test_thumbs_only_under_answers_from_the_sources_and_thanks_under_the_rated_one(page):
    open_chat(page)
    for small_talk in ("thanks", "qwertyuiop zxcvb"):  # "You're welcome", "Sorry, I didn't ..."
        ask(page, small_talk)
        expect(last_answer(page).locator(".bubble")).not_to_contain_text("Source")
        expect(last_answer(page).locator(".feedback")).to_have_count(0)
    ask(page, "what is kpo")
    first = last_answer(page)
    expect(first.locator(".feedback")).to_contain_text("Was this helpful?")
    ask(page, "what is bpo")
    count = page.locator(".message").count()
    first.get_by_role("button", name="Helpful", exact=True).click()
    expect(first.locator(".feedback")).to_contain_text("Thanks for the feedback")
    # Nothing added at the end of the chat: the thanks stays with the answer it is about.
    page.wait_for_timeout(500)
    expect(page.locator(".message")).to_have_count(count)
    expect(page.locator(".message").last).to_contain_text("Business Process Outsourcing")


def test_was_this_helpful_waits_for_the_answers_last_part(page):
    held, sockets = [], []

    def route(ws):
        server = ws.connect_to_server()
        # The answer's last part (its source and follow-ups) is held back.
        server.on_message(lambda message: held.append(message) if "Source:" in str(message)
                          else ws.send(message))
        sockets.append(ws)

    page.route_web_socket(re.compile(r"/socket\.io/"), route)
    page.reload()
    open_chat(page)
    page.get_by_label("Your question").fill("what is kpo")
    page.keyboard.press("Enter")
    expect(last_answer(page)).to_contain_text("Knowledge Process Outsourcing")
    page.wait_for_timeout(1500)
    expect(last_answer(page).locator(".feedback")).to_have_count(0)
    assert held
    sockets[-1].send(held.pop())
    expect(last_answer(page).locator(".source")).to_contain_text("Source:")
    expect(last_answer(page).locator(".feedback")).to_contain_text("Was this helpful?")
    expect(page.locator(".message.bot.answer")).to_have_count(1)


def test_the_widget_works_by_keyboard_alone(page):
    launcher = page.get_by_role("button", name=f"Open chat with {TITLE}")
    for _ in range(page.locator("button").count() + 1):  # through the page to the launcher
        page.keyboard.press("Tab")
        if launcher.evaluate("node => node.getRootNode().activeElement === node"):
            break
    expect(launcher).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.get_by_role("dialog", name=TITLE)).to_be_visible()
    question = page.get_by_label("Your question")
    expect(question).to_be_focused()
    expect(page.locator(".message.bot.welcome")).to_be_visible()
    page.keyboard.type("what is kpo")
    page.keyboard.press("Enter")
    expect(last_answer(page)).to_contain_text("Knowledge Process Outsourcing")
    expect(question).to_be_focused()
    # Back from the input to the last follow-up question, which Enter asks.
    follow_up = last_answer(page).locator(".quick-reply").last
    expect(follow_up).to_be_visible()  # the follow-ups come with the answer's last paragraph
    page.keyboard.press("Shift+Tab")
    expect(follow_up).to_be_focused()
    follow_up_text = follow_up.text_content()
    page.keyboard.press("Enter")
    expect(page.locator(USER).last).to_have_text(f"You: {follow_up_text}")
    expect(page.locator(".message.bot.answer")).to_have_count(2)
    expect(question).to_be_focused()
    page.keyboard.press("Escape")
    expect(page.get_by_role("dialog", name=TITLE)).to_be_hidden()
    expect(launcher).to_be_focused()


def test_the_widget_fits_a_360_px_phone(browser, demo_page):
    context = browser.new_context(viewport={"width": 360, "height": 740}, is_mobile=True,
                                  has_touch=True, device_scale_factor=2)
    page = context.new_page()
    page.goto(demo_page)
    open_chat(page)
    ask(page, "which is the best one kpo or bpo?")
    panel = page.get_by_role("dialog", name=TITLE).bounding_box()
    # The whole screen, to the pixel: layout on a 2x screen may put it a fraction of one off.
    assert [panel["x"], panel["y"], panel["width"], panel["height"]] == \
        pytest.approx([0, 0, 360, 740], abs=1)
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    for box in (bubble.bounding_box() for bubble in page.locator(".bubble").all()):
        assert box["x"] >= 0 and box["x"] + box["width"] <= 360
    expect(page.get_by_label("Your question")).to_be_in_viewport()
    page.screenshot(path=ARTIFACTS / "widget-phone.png")
    context.close()


def widget_eval(page: Page, body: str):
    """Runs `body` with `root` the widget's shadow root and `log` its conversation."""
    return page.evaluate("() => { const root = document.getElementById('kpo-chat-widget')"
                         ".shadowRoot; const log = root.querySelector('.log'); " + body + " }")


def test_a_reload_with_the_chat_open_lands_at_the_end_of_a_long_history(page, widget_assistant):
    expect(page.locator(".status")).to_have_text("Online")
    messages = []
    for turn in range(30):
        messages.append({"role": "user", "text": f"question {turn}"})
        messages.append({"role": "bot", "kind": "answer", "parts": [f"Answer {turn}. " * 12],
                         "buttons": []})
    page.evaluate("([key, value]) => localStorage.setItem(key, value)",
                  [f"kpo-chat:{widget_assistant.url}",
                   json.dumps({"sessionId": session_id(page), "open": True, "messages": messages})])
    page.reload()
    expect(page.locator(".message")).to_have_count(60)
    expect(page.locator(".message").last).to_be_visible()
    page.wait_for_timeout(300)
    scroll = widget_eval(page, "return [log.scrollTop, log.scrollHeight, log.clientHeight];")
    assert scroll[1] > 2 * scroll[2]  # a long history
    assert scroll[0] + scroll[2] == pytest.approx(scroll[1], abs=2)


def test_two_tabs_show_the_whole_conversation_and_lose_nothing(browser, demo_page):
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    first = context.new_page()
    first.goto(demo_page)
    open_chat(first)
    second = context.new_page()
    second.goto(demo_page)
    expect(second.get_by_role("dialog", name=TITLE)).to_be_visible()  # open in the first tab
    expect(second.locator(".message.bot.welcome")).to_have_count(1)
    ask(first, "what is kpo")
    expect(second.locator(USER)).to_have_text(["You: what is kpo"])
    expect(second.locator(".message.bot.answer")).to_have_count(1)
    ask(second, "what is bpo")
    for page in (first, second):
        expect(page.locator(USER)).to_have_text(["You: what is kpo",
                                                            "You: what is bpo"])
        expect(page.locator(".message.bot.answer")).to_have_count(2)
        expect(page.locator(".message.bot.welcome")).to_have_count(1)
    first.reload()
    expect(first.locator(USER)).to_have_text(["You: what is kpo", "You: what is bpo"])
    expect(first.locator(".message.bot.answer")).to_have_count(2)
    context.close()


HOSTILE_CSS = """
* { font-family: "Comic Sans MS", cursive !important; color: rgb(255, 0, 0) !important;
    letter-spacing: 6px !important; line-height: 4 !important; text-transform: uppercase !important;
    font-size: 30px !important; }
div { display: block !important; visibility: visible !important; }
#kpo-chat-widget { --brand: red; }
"""
STYLED = (".title", ".status", ".bubble p", ".quick-reply", ".input", ".launcher", ".footer")


def computed_styles(page: Page) -> dict:
    return widget_eval(page, "return " + json.dumps(STYLED) + """.map(selector => {
        const style = getComputedStyle(root.querySelector(selector));
        return [selector, ['font-family', 'font-size', 'color', 'letter-spacing', 'line-height',
                           'text-transform', 'background-color', 'display']
                          .map(name => style.getPropertyValue(name))];
    });""")


def test_a_hostile_host_stylesheet_changes_nothing_inside_the_widget(browser, demo_page):
    # No motion: the hovered launcher's colour would be caught mid-transition.
    context = browser.new_context(viewport={"width": 1280, "height": 800}, bypass_csp=True,
                                  reduced_motion="reduce")
    page = context.new_page()
    page.goto(demo_page)
    open_chat(page)
    before = computed_styles(page)
    panel = page.get_by_role("dialog", name=TITLE).bounding_box()
    page.add_style_tag(content=HOSTILE_CSS)
    assert computed_styles(page) == before
    assert page.get_by_role("dialog", name=TITLE).bounding_box() == panel
    context.close()


def test_a_question_over_the_servers_limit_is_kept_whole_and_counted(page):
    open_chat(page)
    question = page.get_by_label("Your question")
    counter = page.locator(".counter")
    expect(counter).to_be_hidden()
    question.fill("x" * (MESSAGE_MAX_LENGTH + 500))
    assert len(question.input_value()) == MESSAGE_MAX_LENGTH + 500  # not cut silently
    expect(counter).to_contain_text(f"{MESSAGE_MAX_LENGTH + 500:,} / {MESSAGE_MAX_LENGTH:,}")
    expect(counter).to_contain_text("500 too many")
    expect(question).to_have_attribute("aria-invalid", "true")
    page.keyboard.press("Enter")
    expect(page.locator(".message.user")).to_have_count(0)
    question.fill("what is kpo " + "x" * (MESSAGE_MAX_LENGTH - 20))
    expect(counter).not_to_contain_text("too many")
    expect(question).not_to_have_attribute("aria-invalid", "true")
    page.keyboard.press("Enter")
    expect(page.locator(".message.user")).to_have_count(1)
    expect(counter).to_be_hidden()


def test_follow_ups_below_the_fold_are_announced_by_a_more_button(browser, demo_page):
    context = browser.new_context(viewport={"width": 1280, "height": 560})
    page = context.new_page()
    page.goto(demo_page)
    open_chat(page)
    ask(page, "which is the best one kpo or bpo?")
    follow_up = last_answer(page).locator(".quick-reply").last
    expect(follow_up).to_have_count(1)
    below = ("const button = [...root.querySelectorAll('.quick-reply')].pop();"
             "return button.getBoundingClientRect().bottom > log.getBoundingClientRect().bottom;")
    assert widget_eval(page, below)  # the long answer is read from its top
    more = page.get_by_role("button", name="More below")
    expect(more).to_be_visible()
    more.click()
    expect(more).to_be_hidden()
    assert not widget_eval(page, below)
    context.close()


def test_offline_the_dots_stop_and_a_held_question_is_marked_not_sent(page):
    network = {"offline": False, "sockets": []}

    def route(ws):
        if network["offline"]:
            ws.close()
        else:
            ws.connect_to_server()
            network["sockets"].append(ws)

    page.route_web_socket(re.compile(r"/socket\.io/"), route)
    page.reload()
    open_chat(page)
    network["offline"] = True
    network["sockets"][-1].close()
    expect(page.locator(".status")).to_have_text("Offline · reconnecting…")
    page.get_by_label("Your question").fill("what is bpo")
    page.keyboard.press("Enter")
    expect(page.locator(".message.user").last).to_contain_text("Not sent yet")
    expect(page.locator(".typing")).to_be_hidden()
    network["offline"] = False
    expect(page.locator(".status")).to_have_text("Online", timeout=30_000)
    expect(last_answer(page)).to_contain_text("Business Process Outsourcing")
    expect(page.locator(".message.user").last).not_to_contain_text("Not sent yet")


def test_a_page_on_an_origin_not_allowed_says_why(browser, widget_assistant):
    other = DemoPage(free_port(), widget_assistant.url, TITLE)  # not in WIDGET_ORIGINS
    context = browser.new_context()
    page = context.new_page()
    messages = []
    page.on("console", lambda message: messages.append(message.text))
    try:
        page.goto(other.url)
        page.get_by_role("button", name=f"Open chat with {TITLE}").click()
        expect(page.locator(".status")).to_have_text("Not available on this site")
        expect(page.locator(".log")).to_have_attribute("data-empty", re.compile(
            re.escape(other.origin) + ".*WIDGET_ORIGINS"))
        assert any("WIDGET_ORIGINS" in message for message in messages)
    finally:
        context.close()
        other.stop()


def test_sockets_from_other_origins_are_refused(widget_assistant, web_origin):
    socket_url = f"ws://127.0.0.1:{widget_assistant.rasa_port}/socket.io/?EIO=4&transport=websocket"
    with pytest.raises(websocket.WebSocketBadStatusException, match="400"):
        websocket.create_connection(socket_url, origin="http://evil.example", timeout=10)
    allowed = websocket.create_connection(socket_url, origin=web_origin, timeout=10)
    assert allowed.recv().startswith("0{")  # engine.io's open packet
    allowed.close()


def test_long_polling_is_refused_clearly_by_several_workers_and_served_by_one(
        widget_assistant, web_origin, tmp_path):
    polling = "/socket.io/?EIO=4&transport=polling"
    refused = requests.get(widget_assistant.url + polling, headers={"Origin": web_origin},
                           timeout=10)
    assert refused.status_code == 400 and "Invalid transport" in refused.text
    single = Assistant(tmp_path, env={"WIDGET_ORIGINS": web_origin, "SANIC_WORKERS": "1"})
    try:
        single.wait_until_ready()
        allowed = requests.get(single.url + polling, headers={"Origin": web_origin}, timeout=10)
        assert allowed.status_code == 200
        assert allowed.headers["Access-Control-Allow-Origin"] == web_origin
        other = requests.get(single.url + polling, headers={"Origin": "http://evil.example"},
                             timeout=10)
        assert other.status_code == 400
    finally:
        single.stop()


def senders_in(assistant: Assistant) -> set:
    with sqlite3.connect(assistant.tracker_db) as db:
        return {sender for (sender,) in db.execute("SELECT DISTINCT sender_id FROM events")}


def wait_until(condition, deadline: float) -> None:
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.1)


def widget_socket(assistant: Assistant, origin: str):
    """A socket.io client as the widget connects (by websocket, from the page's origin), and the
    lists it collects the session ids confirmed to it and the bot's replies into."""
    # websocket-client sends an Origin of its own unless told not to: the page's alone is sent.
    client = socketio.Client(reconnection=False,
                             websocket_extra_options={"suppress_origin": True})
    confirmed, replies = [], []
    client.on("session_confirm", confirmed.append)
    client.on("bot_uttered", replies.append)
    client.connect(assistant.url, headers={"Origin": origin}, transports=["websocket"],
                   wait_timeout=10)
    return client, confirmed, replies


def test_only_session_ids_the_server_issued_are_kept(widget_assistant, web_origin):
    client, confirmed, replies = widget_socket(widget_assistant, web_origin)
    deadline = time.monotonic() + 10
    try:
        for presented in (None, "alice", "0" * 64):
            client.emit("session_request", {"session_id": presented})
        wait_until(lambda: len(confirmed) >= 3, deadline)
        assert len(set(confirmed)) == 3 and all(re.fullmatch(r"[0-9a-f]{64}", s) for s in confirmed)
        client.emit("session_request", {"session_id": confirmed[0]})
        wait_until(lambda: len(confirmed) >= 4, deadline)
        assert confirmed[3] == confirmed[0]  # an issued id is kept: the browser comes back to it
        # A message for a session this connection did not join is dropped, not answered.
        client.emit("user_uttered", {"message": "what is kpo", "session_id": "alice"})
        client.emit("user_uttered", {"message": "what is kpo", "session_id": confirmed[1]})
        client.emit("user_uttered", {"message": "what is kpo", "session_id": confirmed[0]})
        wait_until(lambda: replies, deadline)
        assert replies and "Knowledge Process Outsourcing" in replies[0]["text"]
    finally:
        client.disconnect()
    # Rasa saves the conversation just after the reply is out.
    wait_until(lambda: confirmed[0] in senders_in(widget_assistant), deadline)
    senders = senders_in(widget_assistant)
    assert confirmed[0] in senders and "alice" not in senders and confirmed[1] not in senders


def test_replies_go_to_the_asking_connection_not_to_another_holding_the_session_id(
        tmp_path, web_origin):
    # One worker: connections on different workers never shared a session's replies anyway.
    single = Assistant(tmp_path, env={"WIDGET_ORIGINS": web_origin, "SANIC_WORKERS": "1"})
    try:
        single.wait_until_ready()
        owner, confirmed, replies = widget_socket(single, web_origin)
        other, other_confirmed, other_replies = widget_socket(single, web_origin)
        deadline = time.monotonic() + 10
        try:
            owner.emit("session_request", {"session_id": None})
            wait_until(lambda: confirmed, deadline)
            other.emit("session_request", {"session_id": confirmed[0]})  # a leaked id
            wait_until(lambda: other_confirmed, deadline)
            assert other_confirmed == confirmed
            owner.emit("user_uttered", {"message": "what is kpo", "session_id": confirmed[0]})
            wait_until(lambda: any("Source" in r.get("text", "") for r in replies), deadline)
            time.sleep(1)  # anything sent to the session's other connection has arrived by now
        finally:
            owner.disconnect()
            other.disconnect()
    finally:
        single.stop()
    assert "Knowledge Process Outsourcing" in replies[0]["text"] and other_replies == []


def test_an_over_long_widget_message_gets_a_plain_reply_and_is_not_stored(widget_assistant,
                                                                           web_origin):
    client, confirmed, replies = widget_socket(widget_assistant, web_origin)
    deadline = time.monotonic() + 10
    try:
        client.emit("session_request", {"session_id": None})
        wait_until(lambda: confirmed, deadline)
        client.emit("user_uttered", {"message": "x" * (MESSAGE_MAX_LENGTH + 1),
                                     "session_id": confirmed[0]})
        wait_until(lambda: replies, deadline)
    finally:
        client.disconnect()
    assert replies == [{"text": TOO_LONG_REPLY}]
    assert confirmed[0] not in senders_in(widget_assistant)


def test_the_widget_shows_when_rasa_is_down_and_recovers_by_itself(page, widget_assistant):
    open_chat(page)
    ask(page, "what is kpo")
    session = session_id(page)
    widget_assistant.restart_rasa()
    expect(page.locator(".status")).to_have_text("Offline · reconnecting…")
    # Asked while offline: shown at once, sent when the server is back.
    page.get_by_label("Your question").fill("what is bpo")
    page.keyboard.press("Enter")
    expect(page.locator(".message.user").last).to_contain_text("You: what is bpo")
    expect(page.locator(".message.user").last).to_contain_text("Not sent yet")
    widget_assistant.wait_until_ready()
    expect(page.locator(".status")).to_have_text("Online", timeout=30_000)
    expect(page.locator(".message.bot.answer")).to_have_count(2)
    expect(last_answer(page)).to_contain_text("Business Process Outsourcing")
    assert session_id(page) == session
