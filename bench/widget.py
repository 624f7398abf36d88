"""How fast the web widget is for its user, in Debian's chromium against the assistant on
loopback (action server, Rasa's socket.io channel and the demo page, on free ports):

    .venv/bin/python bench/widget.py [questions, default 30]

- open: from navigating to the page until the widget is online (session confirmed), per fresh
  browser profile;
- reply: from pressing Enter until the answer is on screen (timed inside the page), beside the
  same questions over REST;
- what the widget downloads: its files and their gzip sizes.
"""
import gzip
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from playwright.sync_api import sync_playwright  # noqa: E402

from harness.browser import DemoPage, launch_chromium  # noqa: E402
from harness.launcher import PROJECT, Assistant, free_port  # noqa: E402

QUESTIONS = ["what is kpo", "what is bpo", "how do kpo and bpo differ", "risks of bpo",
             "what qualification do i need for bpo", "advantages of kpo", "which is better",
             "how much does a bpo job pay", "future of outsourcing", "what industries use kpo"]
WIDGET_FILES = ["widget.js", "widget.css", "vendor/socket.io-client/socket.io.min.js"]

ONLINE_AT = """() => {
    const host = document.getElementById('kpo-chat-widget');
    const status = host && host.shadowRoot.querySelector('.status');
    return status && status.textContent === 'Online' && performance.now();
}"""
ASK = """async (text) => {
    const root = document.getElementById('kpo-chat-widget').shadowRoot;
    const answers = () => root.querySelectorAll('.message.bot.answer').length;
    const before = answers();
    const start = performance.now();
    root.querySelector('.input').value = text;
    root.querySelector('.composer').requestSubmit();
    await new Promise((resolve) => {
        const observer = new MutationObserver(() => {
            if (answers() > before) { observer.disconnect(); resolve(); }
        });
        observer.observe(root.querySelector('.log'), {childList: true});
    });
    return performance.now() - start;
}"""


def summary(name: str, figures) -> str:
    figures = sorted(figures)
    p95 = figures[min(len(figures) - 1, round(0.95 * (len(figures) - 1)))]
    return f"{name:<40} p50 {statistics.median(figures):6.0f} ms   p95 {p95:6.0f} ms"


def main(count: int) -> None:
    web_port = free_port()
    bot = Assistant(Path(tempfile.mkdtemp()),
                    env={"WIDGET_ORIGINS": f"http://127.0.0.1:{web_port}"})
    demo = None
    try:
        bot.wait_until_ready()
        demo = DemoPage(web_port, bot.url, "Outsourcing assistant")
        with sync_playwright() as playwright:
            browser = launch_chromium(playwright)
            opens = []
            for _ in range(5):
                context = browser.new_context()
                page = context.new_page()
                page.goto(demo.url)
                opens.append(page.wait_for_function(ONLINE_AT).json_value())
                context.close()
            context = browser.new_context()
            page = context.new_page()
            page.goto(demo.url)
            page.wait_for_function(ONLINE_AT)
            replies = [page.evaluate(ASK, QUESTIONS[n % len(QUESTIONS)]) for n in range(count)]
            browser.close()
        rest = []
        for n in range(count):
            start = time.perf_counter()
            bot.send(f"bench-rest-{n // 10}", QUESTIONS[n % len(QUESTIONS)])
            rest.append((time.perf_counter() - start) * 1000)
    finally:
        if demo:
            demo.stop()
        bot.stop()
    print(f"{count} questions in one conversation (widget), conversations of 10 (REST); "
          "5 page opens")
    print(summary("open: page load to widget online", opens))
    print(summary("widget: Enter to answer on screen", replies))
    print(summary("REST: request to response", rest))
    static = PROJECT / "web" / "static"
    sizes = [(name, (static / name).stat().st_size, len(gzip.compress((static / name).read_bytes())))
             for name in WIDGET_FILES]
    for name, size, packed in sizes:
        print(f"{name:<40} {size / 1024:6.1f} KB   gzip {packed / 1024:5.1f} KB")
    print(f"{'widget download in all':<40} {sum(s for _, s, _ in sizes) / 1024:6.1f} KB   "
          f"gzip {sum(p for _, _, p in sizes) / 1024:5.1f} KB")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 30)
