"""Browser test of the built site: run after `jupyter-book build` (make test does)."""

from pathlib import Path

import pytest
import yaml

from sitecheck import browser, check_page, serve, sidebar_pages

ROOT = Path(__file__).resolve().parents[2]
SITE = ROOT / "_build" / "html"
CHAPTERS = [
    entry["file"]
    for part in yaml.safe_load((ROOT / "_toc.yml").read_text())["parts"]
    for entry in part["chapters"]
]
MATH_CHAPTERS = [c for c in CHAPTERS if Path(c).name[:2].isdigit() and not Path(c).name.startswith("99")]


@pytest.fixture(scope="module")
def site():
    if not (SITE / "index.html").is_file():
        pytest.fail("no built site in _build/html: run `make build-offline` first (the browser test needs its local MathJax)")
    with serve(SITE) as base, browser() as driver:
        yield base, driver


def test_navigation_reaches_every_page_of_the_toc(site):
    base, driver = site
    linked = {page[len(base):] for page in sidebar_pages(driver, base)}
    assert {f"{c}.html" for c in CHAPTERS} <= linked


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_page_renders_figures_equations_and_no_errors(site, chapter):
    base, driver = site
    assert check_page(driver, f"{base}{chapter}.html", needs_math=chapter in MATH_CHAPTERS) == []


def test_screenshot_of_a_chapter_for_people_to_look_at(site):
    base, driver = site
    driver.get(f"{base}notebooks/01-basic-autoencoder.html")
    target = ROOT / "_build" / "screenshot-01-basic-autoencoder.png"
    assert driver.save_screenshot(str(target)) and target.stat().st_size > 10_000


def test_checker_catches_a_missing_figure(site_copy):
    page = site_copy / "notebooks" / "01-basic-autoencoder.html"
    first_image = next(p for p in (site_copy / "_images").iterdir() if p.name in page.read_text())
    first_image.unlink()
    with serve(site_copy) as base, browser() as driver:
        problems = check_page(driver, f"{base}notebooks/01-basic-autoencoder.html", needs_math=True)
    assert any("image not loaded" in p for p in problems), problems


def test_checker_catches_equations_that_do_not_render(site_copy):
    page = site_copy / "notebooks" / "01-basic-autoencoder.html"
    html = page.read_text()
    page.write_text(html.replace("tex-mml-chtml.js", "missing-mathjax.js"))
    with serve(site_copy) as base, browser() as driver:
        problems = check_page(driver, f"{base}notebooks/01-basic-autoencoder.html", needs_math=True)
    assert any("not rendered" in p for p in problems), problems
