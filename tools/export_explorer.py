"""Export the shipped VAEs whose pages hold a latent explorer, for that explorer.

    python tools/export_explorer.py      # `make explorer`; rerun whenever a shipped VAE changes

A page asks for one with ``<div class="latent-explorer" data-model="<model>"></div>``;
for each model so named it writes ``book/_static/explorer/<model>/``:

* ``decoder.onnx`` and ``encoder.onnx``: the shipped weights, exported with Keras' ONNX
  export; the page runs them with onnxruntime-web;
* ``plane.json``: the test set's mean codes (what the chapter's scatter shows), their
  labels, the class names, the range of the plane drawn, the size of the drawn plane in
  pixels, and the SHA-256 of the shipped model the files came from;
* ``fixture.json``: the Keras decoder's images at a few fixed pixels of the drawn plane,
  which the browser test compares with what the page shows.

``tests/test_explorer.py`` checks the ONNX files against Keras on 1,000 latent points and
1,000 test images.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import aehelpers as ae  # noqa: E402
import keras  # noqa: E402
from aehelpers.data import load_raw, to_layout  # noqa: E402
from aehelpers.reference import manifest  # noqa: E402

EXPLORER = ROOT / "book" / "_static" / "explorer"
VAES = sorted({name for page in sorted((ROOT / "notebooks").glob("*.md"))
               for name in re.findall(r'class="latent-explorer" data-model="([^"]+)"', page.read_text())})
PLANE_PIXELS = 360  # the drawn plane is a square canvas of this many CSS pixels
FIXTURE_PIXELS = [(180, 180), (60, 90), (300, 70), (90, 290), (270, 250)]


def plane_range(codes: np.ndarray) -> list[float]:
    """A square range around the codes (0.5th to 99.5th percentile, 10% margin): x and y share a scale."""
    low, high = np.percentile(codes, [0.5, 99.5], axis=0)
    centre, half = (low + high) / 2, float(np.max(high - low)) / 2 * 1.1
    return [float(centre[0] - half), float(centre[0] + half), float(centre[1] - half), float(centre[1] + half)]


def pixel_to_code(px: int, py: int, extent: list[float]) -> list[float]:
    """The latent point under the centre of canvas pixel (px, py); y grows upwards. explorer.js does the same."""
    x0, x1, y0, y1 = extent
    return [x0 + (px + 0.5) / PLANE_PIXELS * (x1 - x0), y1 - (py + 0.5) / PLANE_PIXELS * (y1 - y0)]


def export(name: str, x_test: np.ndarray, y_test: np.ndarray) -> None:
    folder = EXPLORER / name
    folder.mkdir(parents=True, exist_ok=True)
    vae = ae.reference_model(name)
    images = x_test.reshape((-1, *vae.encoder.inputs[0].shape[1:]))
    means, _ = vae.encoder.predict(images, batch_size=1000, verbose=0)
    for part, model in (("decoder", vae.decoder), ("encoder", vae.encoder)):
        model(keras.ops.zeros((1, *model.inputs[0].shape[1:])))  # the export needs a model that was called
        model.export(str(folder / f"{part}.onnx"), format="onnx", verbose=False)
    extent = plane_range(means)
    plane = {
        "model": name,
        "model_sha256": manifest()["models"][name]["sha256"],
        "class_names": list(ae.CLASS_NAMES),
        "extent": extent,
        "pixels": PLANE_PIXELS,
        "encoder_input": list(vae.encoder.inputs[0].shape[1:]),
        "codes": np.round(means, 3).tolist(),
        "labels": y_test.tolist(),
    }
    (folder / "plane.json").write_text(json.dumps(plane, separators=(",", ":")) + "\n")
    points = [{"pixel": list(pixel), "code": pixel_to_code(*pixel, extent)} for pixel in FIXTURE_PIXELS]
    decoded = vae.decoder.predict(np.array([p["code"] for p in points], "float32"), verbose=0)
    for point, image in zip(points, decoded.reshape(len(points), 784)):
        point["image"] = np.round(image * 255).astype(int).tolist()
    (folder / "fixture.json").write_text(json.dumps({"model": name, "points": points}) + "\n")
    print(f"{name}: decoder.onnx, encoder.onnx, plane.json and fixture.json written to {folder.relative_to(ROOT)}")


def main() -> None:
    (_, _), (x_test, y_test) = load_raw()
    x_test = to_layout(x_test, "flat")
    shipped = [name for name in VAES if name in manifest()["models"]]
    if missing := sorted(set(VAES) - set(shipped)):
        sys.exit(f"The pages show an explorer of {', '.join(missing)}, which is not shipped: train it first "
                 f"(make full CHAPTER={missing[0]}).")
    for name in shipped:
        export(name, x_test, y_test)


if __name__ == "__main__":
    main()
