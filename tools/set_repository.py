"""Write the repository address of _config.yml into every place that needs it.

    python tools/set_repository.py   # after changing repository.url or .branch in _config.yml

It rewrites (or inserts) the install cell at the top of every chapter's text twin, so
that the notebook runs in Colab or any fresh Python, the table of Colab badges in
README.md, and the address the shipped models are downloaded from (models/manifest.json);
then `make sync` carries the cells into the .ipynb files.
tests/test_repository.py checks that all of them agree with _config.yml.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import jupytext
import nbformat
import yaml

ROOT = Path(__file__).resolve().parents[1]
INSTALL_TAGS = ["remove-cell", "colab-install"]
BADGE = "https://colab.research.google.com/assets/colab-badge.svg"
TABLE_START, TABLE_END = "<!-- colab-badges:start -->", "<!-- colab-badges:end -->"


def repository() -> tuple[str, str]:
    """Return the repository URL and branch named in _config.yml."""
    config = yaml.safe_load((ROOT / "_config.yml").read_text())["repository"]
    return config["url"].rstrip("/"), config.get("branch", "main")


def install_cell_source(url: str, branch: str) -> str:
    # find_spec looks without importing: importing aehelpers would start Keras, and a
    # chapter may still want to choose its backend first. The branch is the one the Colab
    # badges open, so the notebook and its helpers come from the same commit line.
    return (
        "# In Colab, Binder or a fresh Python: install the book's helper package if it is missing.\n"
        "import importlib.util\n"
        "\n"
        'if importlib.util.find_spec("aehelpers") is None:\n'
        f'    %pip install --quiet "aehelpers @ git+{url}@{branch}"'
    )


def colab_link(url: str, branch: str, notebook: str) -> str:
    path = url.removeprefix("https://github.com/")
    return f"https://colab.research.google.com/github/{path}/blob/{branch}/notebooks/{notebook}"


def chapter_texts() -> list[Path]:
    return sorted((ROOT / "notebooks").glob("[0-9][0-9]-*.md"))


def title_of(text: Path) -> str:
    for cell in jupytext.read(text).cells:
        match = re.search(r"^# (.+)$", cell.source, flags=re.MULTILINE) if cell.cell_type == "markdown" else None
        if match:
            return match.group(1)
    return text.stem


def update_notebook(text: Path, url: str, branch: str) -> None:
    notebook = jupytext.read(text)
    cell = nbformat.v4.new_code_cell(install_cell_source(url, branch), metadata={"tags": INSTALL_TAGS})
    first = notebook.cells[0] if notebook.cells else None
    if first is not None and "colab-install" in first.metadata.get("tags", []):
        notebook.cells[0] = cell
    else:
        notebook.cells.insert(0, cell)
    notebook.metadata.setdefault(
        "kernelspec", {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}
    )
    settings = notebook.metadata.setdefault("jupytext", {})
    settings["formats"] = "ipynb,md:myst"
    settings.pop("notebook_metadata_filter", None)  # jupytext's marker for a text without header
    jupytext.write(notebook, text, fmt="md:myst")


def badge_table(url: str, branch: str) -> str:
    rows = ["| chapter | open in Colab |", "|---|---|"]
    for text in chapter_texts():
        rows.append(f"| {title_of(text)} | [![Open In Colab]({BADGE})]({colab_link(url, branch, text.stem + '.ipynb')}) |")
    return "\n".join([TABLE_START, *rows, TABLE_END])


def models_url(url: str, branch: str) -> str:
    """Where a pip install or Colab downloads the shipped models: the raw files of the branch."""
    return f"https://raw.githubusercontent.com/{url.removeprefix('https://github.com/')}/{branch}/models/"


def site_url(url: str) -> str:
    """Where GitHub Pages publishes the site (.github/workflows/book.yml deploys it)."""
    owner, name = url.removeprefix("https://github.com/").split("/")
    return f"https://{owner}.github.io/{name}/"


SITE_LINK = re.compile(r"https://[\w.-]+\.github\.io/[\w.-]+/(?=notebooks/)")


def update_site_links(url: str) -> None:
    """Point the chapters' links to the live site (the latent explorer's) at its address."""
    for text in chapter_texts():
        source = text.read_text()
        if SITE_LINK.search(source):
            text.write_text(SITE_LINK.sub(site_url(url), source))


def update_manifest(url: str, branch: str) -> None:
    path = ROOT / "models" / "manifest.json"
    manifest = json.loads(path.read_text())
    manifest["base_url"] = models_url(url, branch)
    path.write_text(json.dumps(manifest, indent=1) + "\n")


def update_readme(url: str, branch: str) -> None:
    readme = ROOT / "README.md"
    text = readme.read_text()
    pattern = re.compile(re.escape(TABLE_START) + ".*?" + re.escape(TABLE_END), flags=re.DOTALL)
    if not pattern.search(text):
        raise SystemExit(f"README.md has no {TABLE_START} ... {TABLE_END} block to fill in.")
    readme.write_text(pattern.sub(lambda _: badge_table(url, branch), text))


if __name__ == "__main__":
    url, branch = repository()
    for text in chapter_texts():
        update_notebook(text, url, branch)
    update_readme(url, branch)
    update_manifest(url, branch)
    update_site_links(url)
    print(f"repository {url} (branch {branch}) written into {len(chapter_texts())} chapters, README.md "
          "and models/manifest.json")
