import pytest
from playwright.sync_api import sync_playwright

from harness.browser import launch_chromium


@pytest.fixture(scope="module")
def browser():
    """Debian's chromium, for the module's pages."""
    with sync_playwright() as playwright:
        chromium = launch_chromium(playwright)
        yield chromium
        chromium.close()
