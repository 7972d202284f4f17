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
BOOK_FLAGS := -W -n --keep-going

.PHONY: help setup data mathjax test unit-test book book-smoke browser-check benchmarks pretrained clean

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
	$(BIN)/python -c "import vaelib, torchvision; print('vaelib', vaelib.__version__, 'torchvision', torchvision.__version__)"
	touch $@

# Copy the offline data sets (if this checkout has ../shared/data beside it) into the data folder.
data:
	@if [ -d "$(SHARED_DATA)" ]; then \
		mkdir -p "$(DATA_DIR)" && cp -rn "$(SHARED_DATA)"/. "$(DATA_DIR)"/ && chmod -R u+w "$(DATA_DIR)" && \
		echo "data: $(SHARED_DATA) -> $(DATA_DIR)"; \
	else echo "data: no $(SHARED_DATA); data sets download into $(DATA_DIR) when first used"; fi

# MathJax 3 from npm (version pinned in package.json / package-lock.json), served by the book itself.
MATHJAX_DIR := book/_static/mathjax
mathjax: $(MATHJAX_DIR)/tex-chtml.js

$(MATHJAX_DIR)/tex-chtml.js: package.json package-lock.json
	@command -v npm >/dev/null || { echo "npm is needed to vendor MathJax: install Node.js (apt-get install npm)"; exit 1; }
	npm ci --no-audit --no-fund --loglevel=error
	rm -rf $(MATHJAX_DIR) && mkdir -p $(MATHJAX_DIR)/output
	cp -r node_modules/mathjax/es5/tex-chtml.js node_modules/mathjax/es5/input node_modules/mathjax/es5/a11y \
		node_modules/mathjax/es5/ui node_modules/mathjax/es5/adaptors $(MATHJAX_DIR)/
	cp -r node_modules/mathjax/es5/output/chtml node_modules/mathjax/es5/output/chtml.js $(MATHJAX_DIR)/output/

test: setup data
	VAELIB_SMOKE=1 $(BIN)/python -m pytest --nbval-lax --nbval-current-env tests notebooks

unit-test: setup
	$(BIN)/python -m pytest tests

book: setup data mathjax
	$(BIN)/jupyter-book build . $(BOOK_FLAGS)

book-smoke: setup data mathjax
	VAELIB_SMOKE=1 $(BIN)/jupyter-book build . $(BOOK_FLAGS) --path-output _build-smoke

browser-check: setup
	$(BIN)/python tests/browser_check.py _build-smoke/_build/html --screenshots build-artifacts/screenshots

benchmarks: setup data
	$(BIN)/python benchmarks/run_all.py

pretrained: setup data
	$(BIN)/python benchmarks/train_pretrained.py

clean:
	rm -rf _build _build-smoke build-artifacts $(MATHJAX_DIR)
