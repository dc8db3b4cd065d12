# The book's two everyday commands, `make book` and `make test`, each from a fresh clone.
#   make book   virtual environment + packages + data check, then the site in _build/html
#   make test   the same set-up, then unit tests (with the notebook/text-twin and shipped-model
#               checks), every chapter in the quick profile (nbval), the unit tests and the
#               basic chapter on JAX, the site build with warnings as errors, and a browser
#               test of every page in headless Chromium
#   make test-torch   the helpers' tests and the basic chapter on the PyTorch backend
#   make full   retrain chapters' models with the article's recipe (slow), ship them to
#               models/ (manifest included), then re-make their pages from the shipped
#               models; one chapter: make full CHAPTER=01-basic-autoencoder
#   make pages  re-make pages from the shipped models (after an edit of the prose or code)
#   make sync   bring .ipynb files and their .md twins up to date after an edit

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
CHAPTER ?= *
NOTEBOOKS := $(wildcard notebooks/$(CHAPTER).ipynb)
FASHION_MNIST_DEB_DIR := /usr/share/datasets/fashion-mnist
MATHJAX := .cache/npm/node_modules/mathjax
MATHJAX_VERSION := 3.2.2
ONNXRUNTIME_WEB := .cache/npm/node_modules/onnxruntime-web
ONNXRUNTIME_WEB_VERSION := 1.30.0

.PHONY: book test unit notebooks twins build build-offline mathjax onnxruntime-web explorer site browser apt backend-check test-jax test-torch full pages sync data clean

# Debian and Ubuntu ship `venv` without ensurepip; python3-venv adds it.
$(STAMP): requirements.txt pyproject.toml
	@$(PYTHON) -m venv $(VENV) || { rm -rf $(VENV); $(MAKE) --no-print-directory apt PACKAGES=python3-venv && $(PYTHON) -m venv $(VENV); }
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.txt -e .
	touch $(STAMP)

# The other two Keras backends, on the CPU. JAX is part of `make test` (the helpers, the
# basic chapter and the appendix run on it); PyTorch has its own target, since its wheel
# is large. Pin torch: an open range pulls a CUDA build of several GB.
JAX_REQUIREMENT := jax[cpu]>=0.4.36
TORCH_REQUIREMENT := torch==2.13.0

$(VENV)/.jax: $(STAMP)
	$(BIN)/python -m pip install --quiet "$(JAX_REQUIREMENT)"
	touch $@

$(VENV)/.torch: $(STAMP)
	$(BIN)/python -m pip install --quiet "$(TORCH_REQUIREMENT)"
	touch $@

# Debian's package is the quickest source of Fashion-MNIST where we may use apt;
# elsewhere Keras downloads it on first use. Either way the checksums are verified.
# Graphviz draws the architecture diagrams of the chapters.
data: $(STAMP)
	@if [ ! -d $(FASHION_MNIST_DEB_DIR) ]; then $(MAKE) --no-print-directory apt PACKAGES=dataset-fashion-mnist || \
		echo "apt-get could not install dataset-fashion-mnist; Keras will download the data instead."; fi
	@command -v dot >/dev/null || $(MAKE) --no-print-directory apt PACKAGES=graphviz
	$(BIN)/python -c 'import aehelpers.data as d; (x, _), (t, _) = d.load_raw(); print(f"Fashion-MNIST OK: {len(x)} train and {len(t)} test images, checksums verified")'

book: data build

# The latent explorer of the VAE chapters runs onnxruntime-web, served with the site.
build: $(STAMP) $(ONNXRUNTIME_WEB)/dist/ort.wasm.min.js
	AE_ONNXRUNTIME_WEB=$(ONNXRUNTIME_WEB) $(BIN)/jupyter-book build . --warningiserror --nitpick --keep-going

# The same build with MathJax served from a local copy, for the offline browser test.
build-offline: $(STAMP) $(MATHJAX)/es5/tex-mml-chtml.js $(ONNXRUNTIME_WEB)/dist/ort.wasm.min.js
	AE_LOCAL_MATHJAX=$(MATHJAX) AE_ONNXRUNTIME_WEB=$(ONNXRUNTIME_WEB) $(BIN)/jupyter-book build . --warningiserror --nitpick --keep-going

mathjax: $(MATHJAX)/es5/tex-mml-chtml.js
onnxruntime-web: $(ONNXRUNTIME_WEB)/dist/ort.wasm.min.js

$(MATHJAX)/es5/tex-mml-chtml.js:
	@command -v npm >/dev/null || $(MAKE) --no-print-directory apt PACKAGES=npm
	npm install --silent --no-audit --no-fund --prefix .cache/npm mathjax@$(MATHJAX_VERSION)

$(ONNXRUNTIME_WEB)/dist/ort.wasm.min.js:
	@command -v npm >/dev/null || $(MAKE) --no-print-directory apt PACKAGES=npm
	npm install --silent --no-audit --no-fund --prefix .cache/npm onnxruntime-web@$(ONNXRUNTIME_WEB_VERSION)

# ONNX copies of the shipped VAEs for the explorer; run again whenever one of them changes.
explorer: $(STAMP)
	$(BIN)/python -m pip install --quiet "tf2onnx>=1.16" "onnx>=1.16"
	$(BIN)/python tools/export_explorer.py

# Debian's Chromium and its driver, for the browser test.
browser:
	@[ -x /usr/bin/chromium ] && [ -x /usr/bin/chromedriver ] || $(MAKE) --no-print-directory apt PACKAGES="chromium chromium-driver"

# Install Debian packages when we may (root, apt-get); otherwise say what is missing.
apt:
	@if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		echo "Installing Debian packages: $(PACKAGES) ..."; \
		apt-get install -y -qq $(PACKAGES) >/dev/null 2>&1 || \
		(apt-get update -qq >/dev/null && apt-get install -y -qq $(PACKAGES) >/dev/null); \
	else \
		echo "Please install these system packages (for example with sudo apt-get install): $(PACKAGES)"; exit 1; \
	fi

site: $(STAMP) browser
	$(BIN)/python -m pytest tests/site

unit: $(STAMP) $(VENV)/.jax
	$(BIN)/python -m pytest tests --ignore=tests/site

# One backend other than TensorFlow: the helpers' tests, then the basic chapter (quick).
backend-check: data
	KERAS_BACKEND=$(BACKEND) $(BIN)/python -m pytest tests --ignore=tests/site -p no:cacheprovider
	rm -rf runs/backend-$(BACKEND)
	KERAS_BACKEND=$(BACKEND) AE_PROFILE=quick AE_RUNS_DIR=runs/backend-$(BACKEND) \
		$(BIN)/python -m pytest --nbval-lax -p no:cacheprovider notebooks/01-basic-autoencoder.ipynb

test-jax: $(VENV)/.jax
	$(MAKE) --no-print-directory backend-check BACKEND=jax

test-torch: $(VENV)/.torch
	$(MAKE) --no-print-directory backend-check BACKEND=torch

# Quick runs start from scratch every time, so that the tests always train.
notebooks: data $(VENV)/.jax
	rm -rf runs/quick
	AE_PROFILE=quick $(BIN)/python -m pytest --nbval-lax -p no:cacheprovider notebooks/

twins: $(STAMP)
	$(BIN)/python -m pytest tests/test_twins.py

test: data unit notebooks test-jax build-offline site

# Training ships each model as it finishes; the pages are then made from the shipped models,
# as every reader sees them, and the results page from their records. The appendix runs
# on JAX, hence its wheel.
full: data $(VENV)/.jax
	@[ -n "$(NOTEBOOKS)" ] || { echo "No notebook matches CHAPTER=$(CHAPTER). The chapters are:"; \
		ls notebooks/*.ipynb | sed 's|notebooks/||; s|\.ipynb||'; exit 1; }
	$(BIN)/python tools/execute_notebooks.py --profile full $(NOTEBOOKS)
	$(MAKE) --no-print-directory pages

pages: data $(VENV)/.jax
	$(BIN)/python tools/execute_notebooks.py --profile reference $(sort $(NOTEBOOKS) notebooks/99-results.ipynb)

sync: $(STAMP)
	$(BIN)/jupytext --sync notebooks/*.md

clean:
	rm -rf _build
