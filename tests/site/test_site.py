"""Browser test of the built site: run after `jupyter-book build` (make test does)."""

from pathlib import Path

import pytest
import yaml

from sitecheck import browser, check_page, serve, sidebar_pages, wide_content

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


@pytest.mark.parametrize("width", [1280, 390])
@pytest.mark.parametrize("chapter", CHAPTERS)
def test_wide_equations_tables_and_figures_fit_or_scroll_visibly(site, chapter, width):
    base, driver = site
    assert wide_content(driver, f"{base}{chapter}.html", width, strict=width >= 1280) == []


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


def test_checker_catches_content_cut_off_on_a_phone(site_copy):
    (site_copy / "_static" / "wide-content.css").write_text("")
    with serve(site_copy) as base, browser() as driver:
        problems = wide_content(driver, f"{base}notebooks/07-variational-autoencoder.html", 390, strict=False)
    assert any("display equation" in p and "cut off" in p for p in problems), problems


def test_checker_catches_a_figure_described_by_its_file_name(site_copy):
    page = site_copy / "notebooks" / "01-basic-autoencoder.html"
    html = page.read_text()
    start = html.index('alt="', html.index("<figure")) + len('alt="')
    page.write_text(html[:start] + "../_images/figure.png" + html[html.index('"', start):])
    with serve(site_copy) as base, browser() as driver:
        problems = check_page(driver, f"{base}notebooks/01-basic-autoencoder.html", needs_math=True)
    assert any("alt text" in p for p in problems), problems


def test_checker_sees_a_first_visit_on_every_page(site):
    base, driver = site
    driver.get(f"{base}notebooks/01-basic-autoencoder.html")
    driver.execute_script("localStorage.setItem('mode', 'dark')")
    check_page(driver, f"{base}notebooks/02-sparse-autoencoder.html")
    assert driver.execute_script("return document.documentElement.dataset.mode") == "light"
