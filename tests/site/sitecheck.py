"""Open the built site in headless Chromium and report what a reader would see broken.

Used by tests/site/test_site.py; `python tests/site/sitecheck.py _build/html` runs the
same checks by hand and prints the problems.
"""

from __future__ import annotations

import functools
import http.server
import shutil
import sys
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urljoin, urlparse

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
# Flags for a closed network: without them Chromium keeps trying to reach Google.
FLAGS = [
    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
WINDOW = (1280, 1600)


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args: object) -> None:
        pass


@contextmanager
def serve(directory: Path) -> Iterator[str]:
    """Serve ``directory`` on a free localhost port; yield its base URL."""
    handler = functools.partial(QuietHandler, directory=str(directory))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


@contextmanager
def browser() -> Iterator[webdriver.Chrome]:
    """A headless Chromium that records console messages."""
    for program in (CHROMIUM, CHROMEDRIVER):
        if not Path(program).exists():
            raise RuntimeError(f"{program} is missing: install Debian's chromium and chromium-driver (make does, as root).")
    profile = tempfile.mkdtemp(prefix="chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in FLAGS + [f"--window-size={WINDOW[0]},{WINDOW[1]}", f"--user-data-dir={profile}"]:
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(60)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


# MathJax's deferred script can start after Selenium sees the page loaded (a busy CI
# machine showed it), so poll for it; give up 5 s after the page has finished loading.
WAIT_FOR_MATHJAX = """
const done = arguments[arguments.length - 1];
let loadedAt = null;
(function poll() {
  if (window.MathJax && MathJax.startup && MathJax.startup.promise) {
    MathJax.startup.promise.then(() => done(true), () => done(false));
    return;
  }
  if (document.readyState === 'complete') {
    loadedAt = loadedAt || Date.now();
    if (Date.now() - loadedAt > 5000) { done(null); return; }
  }
  setTimeout(poll, 50);
})();
"""

PAGE_STATE = """
const broken = Array.from(document.images)
  .filter(img => !img.complete || img.naturalWidth === 0)
  .map(img => img.getAttribute('src'));
const untypeset = Array.from(document.querySelectorAll('.math'))
  .filter(el => !el.querySelector('mjx-container')).length;
const text = document.querySelector('main') ? document.querySelector('main').innerText : document.body.innerText;
return {
  images: document.images.length,
  broken: broken,
  typeset: document.querySelectorAll('mjx-container').length,
  untypeset: untypeset,
  rawDisplayMath: text.includes('$$') || text.includes('\\\\begin{'),
  traceback: text.includes('Traceback (most recent call last)'),
};
"""


# Content wider than the text column must scroll, with the shadow cue of
# book/_static/wide-content.css, and never be cut off; with `strict`, a display
# equation must fit the column outright.
WIDE_CONTENT = """
const strict = arguments[0];
const column = document.querySelector('article.bd-article') || document.querySelector('main');
const right = column.getBoundingClientRect().right + 1;
const scrollsVisibly = (element) => {
  for (let box = element; box && box !== column; box = box.parentElement) {
    const style = getComputedStyle(box);
    if (['auto', 'scroll'].includes(style.overflowX) && style.backgroundImage.includes('gradient')) return true;
  }
  return false;
};
const problems = [];
for (const element of column.querySelectorAll('mjx-container[display="true"], table, img')) {
  const kind = element.tagName === 'MJX-CONTAINER' ? 'display equation' : element.tagName.toLowerCase();
  const where = (element.closest('[id]') || {}).id || '';
  const holder = element.closest('.pst-scrollable-table-container') || element;
  const wide = element.scrollWidth > holder.clientWidth + 1 || element.getBoundingClientRect().width > holder.clientWidth + 1;
  const beyond = holder.getBoundingClientRect().right > right;
  if (strict && kind === 'display equation' && wide) {
    problems.push(`${kind} ${where} is wider than the text column (${element.scrollWidth} > ${element.clientWidth} px)`);
  } else if ((wide || beyond) && !scrollsVisibly(element)) {
    problems.push(`${kind} ${where} is cut off: wider than its column and not in a visibly scrolling box`);
  }
}
return problems;
"""

# What a screen reader says for an image: a file name or nothing is no description.
UNDESCRIBED_IMAGES = """
const column = document.querySelector('article.bd-article') || document.querySelector('main');
return Array.from(column.querySelectorAll('img'))
  .map(img => (img.getAttribute('alt') || '').trim())
  .filter(alt => alt === '' || /[\\/]|\\.(png|svg|jpe?g|gif)$/i.test(alt));
"""


def first_visit(driver: webdriver.Chrome, url: str) -> None:
    """Load ``url`` as a reader's first visit: no stored theme, settings or cache of the site."""
    parts = urlparse(url)
    driver.execute_cdp_cmd("Storage.clearDataForOrigin",
                           {"origin": f"{parts.scheme}://{parts.netloc}", "storageTypes": "all"})
    driver.get(url)
    driver.set_script_timeout(60)


def wide_content(driver: webdriver.Chrome, url: str, width: int, strict: bool) -> list[str]:
    """Load ``url`` in a window ``width`` pixels wide; return what is wider than the column and cut off."""
    driver.set_window_size(width, WINDOW[1])
    try:
        first_visit(driver, url)
        driver.execute_async_script(WAIT_FOR_MATHJAX)
        return [f"{urlparse(url).path} at {width} px: {p}" for p in driver.execute_script(WIDE_CONTENT, strict)]
    finally:
        driver.set_window_size(*WINDOW)


def check_page(driver: webdriver.Chrome, url: str, needs_math: bool = False) -> list[str]:
    """Load one page as on a first visit and return its problems (empty when it renders cleanly)."""
    driver.get_log("browser")  # drop messages of earlier pages
    first_visit(driver, url)
    mathjax = driver.execute_async_script(WAIT_FOR_MATHJAX)
    state = driver.execute_script(PAGE_STATE)
    name = urlparse(url).path
    problems = [f"{name}: image not loaded: {src}" for src in state["broken"]]
    problems += [f"{name}: an image's alt text says nothing of what it shows: {alt!r}"
                 for alt in driver.execute_script(UNDESCRIBED_IMAGES)]
    if state["untypeset"]:
        problems.append(f"{name}: {state['untypeset']} equations not rendered by MathJax")
    if needs_math and (mathjax is not True or state["typeset"] == 0):
        problems.append(f"{name}: MathJax did not run (loaded: {mathjax}, rendered equations: {state['typeset']})")
    if state["rawDisplayMath"]:
        problems.append(f"{name}: raw TeX ($$ or \\begin) in the page text")
    if state["traceback"]:
        problems.append(f"{name}: a Python traceback is shown")
    for entry in driver.get_log("browser"):
        if entry["level"] == "SEVERE":
            problems.append(f"{name}: console error: {entry['message']}")
    return problems


def sidebar_pages(driver: webdriver.Chrome, base_url: str) -> list[str]:
    """The site-internal pages linked from the navigation of the landing page."""
    driver.get(urljoin(base_url, "index.html"))  # a redirect to the root page
    links = WebDriverWait(driver, 15).until(
        lambda d: d.find_elements(By.CSS_SELECTOR, "nav.bd-docs-nav a.reference.internal")
    )
    pages = []
    for link in links:
        href = link.get_attribute("href").split("#")[0]
        if href.startswith(base_url) and href not in pages:
            pages.append(href)
    return pages


if __name__ == "__main__":
    site = Path(sys.argv[1] if len(sys.argv) > 1 else "_build/html")
    with serve(site) as base, browser() as chrome:
        found = [p for page in sidebar_pages(chrome, base) for p in check_page(chrome, page)]
    print("\n".join(found) or "no problems found")
