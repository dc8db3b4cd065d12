"""The repository address lives in _config.yml; every notebook and the README agree with it."""

import json
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import jupytext
import pytest
from IPython.core.inputtransformer2 import TransformerManager

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))

import set_repository  # noqa: E402

URL, BRANCH = set_repository.repository()
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]-*.ipynb"))


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_first_cell_installs_aehelpers_from_the_configured_repository(path):
    first = jupytext.read(path).cells[0]
    assert first.cell_type == "code"
    assert first.source == set_repository.install_cell_source(URL, BRANCH), "run tools/set_repository.py, then make sync"
    assert "remove-cell" in first.metadata.get("tags", [])  # not part of the page's reading flow


def test_install_cell_is_valid_ipython_that_only_pips_when_aehelpers_is_missing():
    python = TransformerManager().transform_cell(set_repository.install_cell_source(URL, BRANCH))
    compile(python, "install-cell", "exec")
    assert "get_ipython().run_line_magic('pip'" in python
    assert python.index('find_spec("aehelpers") is None') < python.index("pip")
    assert "import aehelpers" not in python  # must not start Keras before a chapter picks a backend


def test_readme_has_a_colab_badge_for_every_chapter():
    readme = (ROOT / "README.md").read_text()
    assert set_repository.badge_table(URL, BRANCH) in readme, "run tools/set_repository.py"
    for path in NOTEBOOKS:
        assert set_repository.colab_link(URL, BRANCH, path.name) in readme


def test_aehelpers_builds_as_the_wheel_colab_installs(tmp_path):
    source = tmp_path / "source"  # setuptools writes build/ beside the sources: not in the repo
    source.mkdir()
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        shutil.copy(ROOT / name, source / name)
    shutil.copytree(ROOT / "aehelpers", source / "aehelpers", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(ROOT / "models", source / "models")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(tmp_path), str(source)],
        check=True,
    )
    (wheel,) = tmp_path.glob("aehelpers-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    for module in ("data", "plotting", "vae", "profile", "training", "flops", "evaluation", "backend", "reference"):
        assert f"aehelpers/{module}.py" in names
    assert "aehelpers/models/manifest.json" in names  # what a pip install downloads the models by
    assert not [name for name in names if name.endswith(".keras")]  # the models stay out of the wheel


def test_models_are_downloaded_from_the_configured_repository():
    manifest = json.loads((ROOT / "models" / "manifest.json").read_text())
    assert manifest["base_url"] == set_repository.models_url(URL, BRANCH), "run tools/set_repository.py"


@pytest.mark.parametrize("path", [p for p in NOTEBOOKS if "latent-explorer" in p.with_suffix(".md").read_text()],
                         ids=lambda p: p.stem)
def test_a_chapter_with_an_explorer_links_to_its_live_copy_on_the_site(path):
    assert f"{set_repository.site_url(URL)}notebooks/{path.stem}.html" in path.with_suffix(".md").read_text()
