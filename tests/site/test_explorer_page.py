"""Browser test of the latent explorer of the VAE chapters (book/_static/explorer.js).

The page runs the exported decoder in headless Chromium; the images it shows at fixed
points of the plane must be the Keras decoder's (the export step stored them as a
fixture), every pixel within 2/255.
"""

import json
import math
from pathlib import Path

import numpy as np
import pytest
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.actions.action_builder import ActionBuilder
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import WebDriverWait

from sitecheck import browser, serve

ROOT = Path(__file__).resolve().parents[2]
SITE = ROOT / "_build" / "html"
EXPORTED = ROOT / "book" / "_static" / "explorer"
MODELS = sorted(p.name for p in EXPORTED.iterdir() if p.is_dir()) if EXPORTED.is_dir() else []
DECODE_BUDGET_MS = {"07-variational-autoencoder": 5, "08-convolutional-vae": 100}
LOAD_BUDGET_MS = 2000


@pytest.fixture(scope="module")
def site():
    if not (SITE / "_static" / "ort" / "ort.wasm.min.js").is_file():
        pytest.fail("no site with the explorer's runtime in _build/html: run `make build-offline` first")
    with serve(SITE) as base, browser() as driver:
        # The theme reports an unset colour mode as an error on a new profile's first page,
        # as the other site tests see on the landing page: open that one first.
        driver.get(f"{base}book/intro.html")
        WebDriverWait(driver, 15).until(lambda d: d.execute_script("return document.readyState") == "complete")
        driver.get_log("browser")
        yield base, driver


def open_explorer(driver, url):
    driver.get(url)
    root = driver.find_element(By.CSS_SELECTOR, ".latent-explorer")
    WebDriverWait(driver, 60).until(lambda _: root.get_attribute("data-state") in ("ready", "error"))
    driver.execute_script("arguments[0].scrollIntoView({block: 'center', behavior: 'instant'})", root)
    return root


def status(root):
    return root.find_element(By.CSS_SELECTOR, ".explorer-status")


def move_to(driver, element, x, y):
    """Move the real pointer to (x, y) CSS pixels from the element's top left corner."""
    box = driver.execute_script("const b = arguments[0].getBoundingClientRect(); return [b.left, b.top];", element)
    actions = ActionBuilder(driver)
    actions.pointer_action.move_to_location(math.ceil(box[0] + x), math.ceil(box[1] + y))
    actions.perform()


def shown_image(driver, root):
    return driver.execute_script(
        "const c = arguments[0].querySelector('.explorer-decoded');"
        "return Array.from(c.getContext('2d').getImageData(0, 0, 28, 28).data).filter((_, i) => i % 4 === 0);", root)


def mismatches(driver, url, name):
    """What the page shows at the fixture's points that differs from Keras: empty when all match."""
    root = open_explorer(driver, url)
    if root.get_attribute("data-state") != "ready":
        return [f"explorer not ready: {status(root).text}"]
    plane = root.find_element(By.CSS_SELECTOR, ".explorer-plane")
    problems = []
    for point in json.loads((EXPORTED / name / "fixture.json").read_text())["points"]:
        px, py = point["pixel"]
        move_to(driver, plane, px, py)
        WebDriverWait(driver, 10).until(lambda _: root.get_attribute("data-pixel") == f"{px},{py}")
        difference = np.abs(np.array(shown_image(driver, root)) - np.array(point["image"])).max()
        if difference > 2:
            problems.append(f"at pixel {px},{py} a pixel differs by {difference}/255 from the Keras decoder")
    return problems


@pytest.mark.parametrize("name", MODELS)
def test_the_explorer_shows_the_keras_decoders_images_at_fixed_points(site, name):
    base, driver = site
    driver.get_log("browser")
    assert mismatches(driver, f"{base}notebooks/{name}.html", name) == []
    severe = [e["message"] for e in driver.get_log("browser") if e["level"] == "SEVERE"]
    assert severe == []


@pytest.mark.parametrize("name", MODELS)
def test_the_explorer_loads_and_decodes_in_time(site, name):
    base, driver = site
    root = open_explorer(driver, f"{base}notebooks/{name}.html")
    assert root.get_attribute("data-state") == "ready", status(root).text
    shown_decode = root.get_attribute("data-decode-ms")
    load_ms, decode_ms = float(root.get_attribute("data-load-ms")), float(shown_decode)
    print(f"{name}: model loaded in {load_ms:.0f} ms, mean decode {decode_ms:.2f} ms")
    assert load_ms < LOAD_BUDGET_MS and decode_ms < DECODE_BUDGET_MS[name]
    assert decode_ms > 0, "a decode cannot take no time: the timer or its rounding is wrong"
    assert f"one decode takes {shown_decode} ms" in root.find_element(By.CSS_SELECTOR, ".explorer-timing").text
    target = ROOT / "_build" / f"screenshot-explorer-{name}.png"  # for people to look at
    assert root.screenshot(str(target)) and target.stat().st_size > 10_000


@pytest.mark.parametrize("name", MODELS)
def test_a_drawing_is_placed_where_the_keras_encoder_puts_it(site, name):
    from aehelpers.reference import reference_model

    base, driver = site
    root = open_explorer(driver, f"{base}notebooks/{name}.html")
    pad = root.find_element(By.CSS_SELECTOR, ".explorer-pad")
    move_to(driver, pad, 70, 20)
    stroke = ActionBuilder(driver)
    stroke.pointer_action.pointer_down()
    for x, y in [(70, 60), (70, 120), (40, 120), (100, 120)]:  # a crude pair of trousers
        box = driver.execute_script("const b = arguments[0].getBoundingClientRect(); return [b.left, b.top];", pad)
        stroke.pointer_action.move_to_location(math.ceil(box[0] + x), math.ceil(box[1] + y))
    stroke.pointer_action.pointer_up()
    stroke.perform()
    root.find_element(By.CSS_SELECTOR, ".explorer-encode").click()
    WebDriverWait(driver, 10).until(lambda _: root.get_attribute("data-drawing-code"))
    drawing = np.array([int(v) for v in root.get_attribute("data-drawing").split(",")], "float32") / 255
    assert drawing.max() > 0.5 and drawing.mean() < 0.5  # a stroke, not a blank or a full pad
    encoder = reference_model(name).encoder
    expected, _ = encoder.predict(drawing.reshape((1, *encoder.inputs[0].shape[1:])), verbose=0)
    shown = [float(v) for v in root.get_attribute("data-drawing-code").split(",")]
    np.testing.assert_allclose(shown, expected[0], atol=1e-4)
    assert "Your drawing sits at" in status(root).text or "outside the part of the plane" in status(root).text


@pytest.mark.parametrize("name", MODELS)
def test_two_clicks_decode_the_path_between_them(site, name):
    base, driver = site
    root = open_explorer(driver, f"{base}notebooks/{name}.html")
    plane = root.find_element(By.CSS_SELECTOR, ".explorer-plane")
    for x, y in [(60, 90), (300, 250)]:
        move_to(driver, plane, x, y)
        ActionChains(driver).click().perform()
    WebDriverWait(driver, 10).until(lambda _: root.get_attribute("data-path") == "drawn")
    lit = driver.execute_script(
        "const c = arguments[0].querySelector('.explorer-path');"
        "return Array.from(c.getContext('2d').getImageData(0, 0, c.width, c.height).data).filter((v, i) => i % 4 === 0 && v > 40).length;",
        root)
    assert lit > 500  # ten decoded garments, not a black strip


def test_bad_input_gets_a_plain_message(site):
    base, driver = site
    root = open_explorer(driver, f"{base}notebooks/{MODELS[0]}.html")
    root.find_element(By.CSS_SELECTOR, ".explorer-clear").click()
    root.find_element(By.CSS_SELECTOR, ".explorer-encode").click()
    assert "The pad is empty" in status(root).text and "explorer-error" in status(root).get_attribute("class")
    plane = root.find_element(By.CSS_SELECTOR, ".explorer-plane")
    driver.execute_script("arguments[0].focus()", plane)
    ActionChains(driver).send_keys(Keys.ARROW_LEFT * 60).perform()
    assert "edge of the plane" in status(root).text
    move_to(driver, plane, 200, 200)
    move_to(driver, plane, 200, -40)  # off the plane, above it
    assert "The pointer left the plane" in status(root).text


def test_a_model_that_fails_to_load_says_so_on_the_page(site_copy):
    name = MODELS[0]
    (site_copy / "_static" / "explorer" / name / "decoder.onnx").write_bytes(b"not an onnx model")
    with serve(site_copy) as base, browser() as driver:
        root = open_explorer(driver, f"{base}notebooks/{name}.html")
        assert root.get_attribute("data-state") == "error"
        assert "could not load its model" in status(root).text and status(root).is_displayed()


def test_the_fixed_point_check_catches_another_models_decoder(site_copy):
    import onnx
    from onnx import numpy_helper

    name = MODELS[0]
    decoder_file = site_copy / "_static" / "explorer" / name / "decoder.onnx"
    other = onnx.load(str(decoder_file))  # the same decoder with its weights scaled: another model
    for weights in other.graph.initializer:
        array = numpy_helper.to_array(weights)
        if array.dtype == np.float32 and array.size > 1:
            weights.CopyFrom(numpy_helper.from_array(array * np.float32(1.1), weights.name))
    onnx.save(other, str(decoder_file))
    with serve(site_copy) as base, browser() as driver:
        found = mismatches(driver, f"{base}notebooks/{name}.html", name)
    assert found and all("differs by" in problem for problem in found), found  # it ran, and showed other images
