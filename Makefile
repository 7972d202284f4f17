# Task runner. The two commands of a fresh machine:
#   make book   set up, then execute every notebook and build the HTML book in _build/html
#   make test   set up, then run the unit tests and execute every notebook under nbval (smoke mode)
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
SHARED_DATA ?= ../shared/data
# Where data sets live: $VAELIB_DATA_DIR if set, else vaelib's per-user cache folder.
DATA_DIR := $(or $(VAELIB_DATA_DIR),$(if $(XDG_CACHE_HOME),$(XDG_CACHE_HOME),$(HOME)/.cache)/vaelib/data)
export VAELIB_DATA_DIR := $(DATA_DIR)
# -q: Sphinx reports warnings (errors, with -W) but not its status lines and configuration dumps.
BOOK_FLAGS := -W -n --keep-going -q

.PHONY: help setup data mathjax explorer test unit-test book book-smoke browser-check benchmarks pretrained clean

help:
	@echo "make book        build the full book (executes every notebook) into _build/html"
	@echo "make test        unit tests + every notebook under nbval in smoke mode"
	@echo "make book-smoke  the book in smoke mode (seconds per notebook) into _build-smoke/"
	@echo "make browser-check  load every page of the smoke book in headless Chromium"
	@echo "make benchmarks  run benchmarks/*.py and write benchmarks/results/*.json"

setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install -qq --progress-bar off -e ".[book,test]"
	# Kernels started by the book build log only errors (not ipykernel's TCP notice, once per notebook).
	mkdir -p $(VENV)/etc/ipython && echo 'c.IPKernelApp.log_level = "ERROR"' > $(VENV)/etc/ipython/ipython_kernel_config.py
	$(BIN)/python -c "import vaelib, torchvision; print('vaelib', vaelib.__version__, 'torchvision', torchvision.__version__)"
	touch $@

# Copy the offline data sets (if this checkout has ../shared/data beside it) into the data folder.
data:
	@if [ -d "$(SHARED_DATA)" ]; then \
		mkdir -p "$(DATA_DIR)" && cp -rn "$(SHARED_DATA)"/. "$(DATA_DIR)"/ && chmod -R u+w "$(DATA_DIR)" && \
		echo "data: $(SHARED_DATA) -> $(DATA_DIR)"; \
	else echo "data: no $(SHARED_DATA); data sets download into $(DATA_DIR) when first used"; fi

# Front-end packages from npm (versions pinned in package.json / package-lock.json).
node_modules/.installed: package.json package-lock.json
	@command -v npm >/dev/null || { echo "npm is needed to vendor MathJax and onnxruntime-web: install Node.js (apt-get install npm)"; exit 1; }
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

# MathJax 3 from npm, served by the book itself.
MATHJAX_DIR := book/_static/mathjax
mathjax: $(MATHJAX_DIR)/tex-chtml.js

$(MATHJAX_DIR)/tex-chtml.js: node_modules/.installed
	rm -rf $(MATHJAX_DIR) && mkdir -p $(MATHJAX_DIR)/output
	cp -r node_modules/mathjax/es5/tex-chtml.js node_modules/mathjax/es5/input node_modules/mathjax/es5/a11y \
		node_modules/mathjax/es5/ui node_modules/mathjax/es5/adaptors $(MATHJAX_DIR)/
	cp -r node_modules/mathjax/es5/output/chtml node_modules/mathjax/es5/output/chtml.js $(MATHJAX_DIR)/output/

# The latent-space explorer of chapter 6 (book/_static/explorer.js): onnxruntime-web's single-file
# WebAssembly build, and the decoders of two pretrained models exported to ONNX with the JSON
# the page needs (vaelib/export.py). Both are derived files, served by the book itself.
ORT_DIR := book/_static/ort
ORT_FILES := ort.wasm.min.js ort-wasm-simd-threaded.mjs ort-wasm-simd-threaded.wasm
EXPLORER_DIR := book/_static/explorer
EXPLORER_MODELS := mnist-2d mnist shapes-beta4
explorer: $(ORT_DIR)/ort.wasm.min.js $(EXPLORER_MODELS:%=$(EXPLORER_DIR)/%.onnx)

$(ORT_DIR)/ort.wasm.min.js: node_modules/.installed
	rm -rf $(ORT_DIR) && mkdir -p $(ORT_DIR)
	cp $(ORT_FILES:%=node_modules/onnxruntime-web/dist/%) $(ORT_DIR)/

$(EXPLORER_DIR)/%.onnx: vaelib/pretrained/%.pt vaelib/export.py vaelib/model.py $(VENV)/.installed | data
	$(BIN)/python -m vaelib.export --out $(EXPLORER_DIR) $*

test: setup data explorer
	VAELIB_SMOKE=1 $(BIN)/python -m pytest --nbval-lax --nbval-current-env tests notebooks

unit-test: setup
	$(BIN)/python -m pytest tests

book: setup data mathjax explorer
	$(BIN)/jupyter-book build . $(BOOK_FLAGS)

book-smoke: setup data mathjax explorer
	VAELIB_SMOKE=1 $(BIN)/jupyter-book build . $(BOOK_FLAGS) --path-output _build-smoke

browser-check: setup
	$(BIN)/python tests/browser_check.py _build-smoke/_build/html --screenshots build-artifacts/screenshots

benchmarks: setup data
	$(BIN)/python benchmarks/run_all.py

pretrained: setup data
	$(BIN)/python benchmarks/train_pretrained.py

clean:
	rm -rf _build _build-smoke build-artifacts $(MATHJAX_DIR) $(ORT_DIR) $(EXPLORER_DIR)
