"""The ONNX copies of the VAEs that the latent explorer runs in the browser match Keras."""

import json
import re
from pathlib import Path

import numpy as np
import pytest

from aehelpers.data import to_layout
from aehelpers.reference import manifest, reference_model

onnxruntime = pytest.importorskip("onnxruntime")

ROOT = Path(__file__).resolve().parents[1]
EXPLORER = ROOT / "book" / "_static" / "explorer"
# The models whose pages hold an explorer, as tools/export_explorer.py finds them.
VAES = sorted({name for page in sorted((ROOT / "notebooks").glob("*.md"))
               for name in re.findall(r'class="latent-explorer" data-model="([^"]+)"', page.read_text())})


def session(path):
    return onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])


def test_every_explorer_a_page_holds_is_of_a_shipped_model_and_exported():
    assert VAES, "no page holds a latent explorer"
    assert set(VAES) <= set(manifest()["models"]), f"not shipped: {sorted(set(VAES) - set(manifest()['models']))}"
    assert sorted(p.name for p in EXPLORER.iterdir() if p.is_dir()) == VAES, "run make explorer"


@pytest.mark.parametrize("name", VAES)
def test_the_export_is_of_the_shipped_model(name):
    plane = json.loads((EXPLORER / name / "plane.json").read_text())
    assert plane["model_sha256"] == manifest()["models"][name]["sha256"], f"{name} changed since its export: run make explorer"
    assert len(plane["codes"]) == len(plane["labels"]) == 10_000


@pytest.mark.parametrize("name", VAES)
def test_onnx_decoder_and_encoder_match_keras(name, fashion):
    vae = reference_model(name)
    codes = np.random.default_rng(0).normal(size=(1000, 2)).astype("float32") * 2
    decoder = session(EXPLORER / name / "decoder.onnx")
    onnx_images = decoder.run(None, {decoder.get_inputs()[0].name: codes})[0]
    np.testing.assert_allclose(onnx_images, vae.decoder.predict(codes, verbose=0), atol=1e-5, rtol=0)

    (_, _), (x_test, _) = fashion
    images = to_layout(x_test[:1000], "flat").reshape((-1, *vae.encoder.inputs[0].shape[1:]))
    encoder = session(EXPLORER / name / "encoder.onnx")
    onnx_means = encoder.run(None, {encoder.get_inputs()[0].name: images})[0]
    keras_means, _ = vae.encoder.predict(images, verbose=0)
    np.testing.assert_allclose(onnx_means, keras_means, atol=1e-5, rtol=0)


@pytest.mark.parametrize("name", VAES)
def test_the_browser_tests_fixture_is_the_keras_decoders_output(name):
    fixture = json.loads((EXPLORER / name / "fixture.json").read_text())
    vae = reference_model(name)
    codes = np.array([point["code"] for point in fixture["points"]], "float32")
    expected = np.round(vae.decoder.predict(codes, verbose=0).reshape(len(codes), 784) * 255)
    assert np.abs(expected - np.array([point["image"] for point in fixture["points"]])).max() <= 1
