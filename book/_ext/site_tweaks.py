"""Three small adjustments to the Sphinx build of the book.

1. Serve MathJax from a local copy when AE_LOCAL_MATHJAX names one. The published site
   loads MathJax from its CDN; the browser test in `make test` runs with no internet,
   so `make` installs npm's `mathjax` package and sets AE_LOCAL_MATHJAX to its folder.
   That folder's `es5/` is then copied into `_static/` and Sphinx points at it.
2. Drop duplicate inline scripts. sphinx-thebe and sphinx-togglebutton register their
   inline snippets twice (once with an empty file name '' and once with None), and a
   second `const THEBE_JS_URL = ...` is a JavaScript error on every page.
3. Serve onnxruntime-web with the site, for the latent explorer of the VAE chapters
   (book/_static/explorer.js): AE_ONNXRUNTIME_WEB names npm's `onnxruntime-web` package
   (`make` installs it), whose WebAssembly build is copied into `_static/ort/`. Without
   it the explorer says on the page that its runtime is missing.
"""

import os
import shutil
from pathlib import Path

from sphinx.errors import ConfigError

MATHJAX_ENTRY = Path("es5") / "tex-mml-chtml.js"


def use_local_mathjax(app, config):
    folder = os.environ.get("AE_LOCAL_MATHJAX")
    if not folder:
        return
    folder = Path(folder).resolve()
    if not (folder / MATHJAX_ENTRY).is_file():
        raise ConfigError(
            f"AE_LOCAL_MATHJAX={folder} has no {MATHJAX_ENTRY}; install it with "
            "`make mathjax` (npm's mathjax@3 package), or unset the variable."
        )
    config.html_static_path = [*config.html_static_path, str(folder)]
    config.mathjax_path = MATHJAX_ENTRY.as_posix()


ORT_FILES = ("ort.wasm.min.js", "ort-wasm-simd-threaded.mjs", "ort-wasm-simd-threaded.wasm")


def onnxruntime_folder() -> Path | None:
    folder = os.environ.get("AE_ONNXRUNTIME_WEB")
    if not folder:
        return None
    dist = Path(folder).resolve() / "dist"
    missing = [name for name in ORT_FILES if not (dist / name).is_file()]
    if missing:
        raise ConfigError(
            f"AE_ONNXRUNTIME_WEB={folder} lacks dist/{', dist/'.join(missing)}; install it with "
            "`make onnxruntime-web` (npm's onnxruntime-web package), or unset the variable."
        )
    return dist


def check_onnxruntime(app, config):
    onnxruntime_folder()  # a wrong folder stops the build at once, not after it


def copy_onnxruntime(app, exception):
    dist = onnxruntime_folder()
    if exception is None and dist is not None and app.builder.format == "html":
        target = Path(app.outdir) / "_static" / "ort"
        target.mkdir(parents=True, exist_ok=True)
        for name in ORT_FILES:
            shutil.copy2(dist / name, target / name)


def drop_duplicate_scripts(app, pagename, templatename, context, doctree):
    seen, unique = set(), []
    for script in context.get("script_files", []):
        # The copies differ only in an empty file name ('' or None): compare what they run.
        key = (getattr(script, "filename", script) or None, tuple(sorted(getattr(script, "attributes", {}).items())))
        if key not in seen:
            seen.add(key)
            unique.append(script)
    context["script_files"] = unique


def setup(app):
    app.connect("config-inited", use_local_mathjax)
    app.connect("config-inited", check_onnxruntime)
    app.connect("build-finished", copy_onnxruntime)
    app.connect("html-page-context", drop_duplicate_scripts, priority=1000)  # after the themes add theirs
    return {"parallel_read_safe": True, "parallel_write_safe": True}
