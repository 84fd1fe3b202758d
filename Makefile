# Dissecting Perturbations: `make book` builds the book, `make test` runs every check.
# Both set up .venv themselves on a fresh machine (Python 3.11, CPU torch first).

SHELL := /bin/bash
.DEFAULT_GOAL := book

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
KERNEL := perturbkit
# The chapters, in book order, from _toc.yml (tools/chapters.py is the one registry)
CHAPTERS := $(shell $(PYTHON) tools/chapters.py)
EXEC := _executed
MODE ?= full
PARAMS ?=
# Chapters executed at once by `make book` and `make test` (each kernel uses one BLAS/torch
# thread, pk.book.setup): on 2 cores two chapters side by side take the time of the longest
JOBS ?= 2

# Public data: the offline mirror beside the repository when it exists, else downloads.
MIRROR := $(abspath $(wildcard ../shared/data))
ifneq ($(MIRROR),)
export PERTURBKIT_DATA_MIRROR ?= $(MIRROR)
endif
export PERTURBKIT_RESULTS_DIR := $(CURDIR)/_build/results

LIB := $(shell find src -name '*.py' 2>/dev/null)
MANIFESTS := $(wildcard data_manifests/*.yaml)
STAMP := $(VENV)/.installed
TORCH_INDEX ?=
PYTEST := $(PY) -m pytest -p no:cacheprovider --disable-socket --allow-unix-socket \
	--allow-hosts=127.0.0.1,::1,localhost

.PHONY: book test notebooks pages html chapter unit booktest lint benchmarks clean chromium sweep reruns course crosscheck-env

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@$(PY) -c 'import sys; assert sys.version_info[:2] == (3, 11), "perturbkit needs Python 3.11, got " + sys.version'
	$(PY) -m pip install -q --upgrade pip
	# torch first, the pinned CPU build (a CUDA build from PyPI is several GB): TORCH_INDEX names
	# the index that serves it (the workflow passes PyTorch's CPU index; empty = pip's configured
	# indexes, which on the project's CI machines hold the CPU wheel)
	$(PY) -m pip install -q torch==2.13.0 $(TORCH_INDEX)
	$(PY) -m pip install -q -e '.[book,test,spatial,scale,causal,bayes]'
	$(PY) -m ipykernel install --sys-prefix --name $(KERNEL) --display-name "perturbkit (Python 3.11)" >/dev/null
	@touch $@

# A mode stamp: switching between smoke and full re-executes every chapter.
$(EXEC)/.mode-$(MODE):
	@mkdir -p $(EXEC)
	@rm -f $(EXEC)/.mode-*
	@touch $@

# Re-execute a chapter only when its source, the library, a manifest or the mode changed.
$(EXEC)/%.ipynb: book/%.md $(LIB) $(MANIFESTS) $(EXEC)/.mode-$(MODE) | $(STAMP)
	$(RUN) $(PY) tools/run_chapter.py $* --mode $(MODE)

notebooks: $(CHAPTERS:%=$(EXEC)/%.ipynb)

pages: | $(STAMP)
	$(PY) tools/course.py check
	$(PY) tools/course.py page --out $(EXEC)/course.md
	$(PY) tools/build_summary.py --out $(EXEC)/build_summary.md
	$(PY) tools/methods_map.py --book $(EXEC) --out $(EXEC)/methods_map.md --check --status _build/status

html: | $(STAMP)
	$(VENV)/bin/jupyter-book build . --quiet
	@echo "Book: $(CURDIR)/_build/html/index.html"

# A failing chapter still gets its page (marked failed in the summary), then make fails.
book: $(STAMP)
	@rc=0; $(MAKE) -k -j$(JOBS) notebooks || rc=$$?; $(MAKE) pages html && exit $$rc

# Rerun one chapter with other parameters, e.g. make chapter CH=dose_response PARAMS='-p seed 1'
# Exits non-zero (after rebuilding the pages) when the chapter fails, in every mode.
chapter: | $(STAMP)
	@test -n "$(CH)" || { echo "usage: make chapter CH=<$(CHAPTERS)> [PARAMS='-p name value']"; exit 2; }
	@rc=0; $(PY) tools/run_chapter.py $(CH) --mode $(MODE) $(PARAMS) || rc=$$?; \
	  $(MAKE) pages html && exit $$rc

unit: | $(STAMP)
	$(PYTEST) -m "not book" tests

lint: | $(STAMP)
	$(VENV)/bin/ruff check .

# The browser check needs Debian's chromium; installing it needs root, so it is a step of its
# own (CI: `make chromium` as root, then `make test` as the user), never inside `make test`.
chromium:
	@command -v chromium >/dev/null || { apt-get update -qq && apt-get install -y -qq chromium >/dev/null; }

booktest: | $(STAMP)
	$(PYTEST) -m book tests/book

# Unit tests, then every chapter with its smoke parameters (no network but loopback),
# then the HTML and a real-browser check of every chapter page.
test: $(STAMP)
	@command -v chromium >/dev/null || command -v chromium-browser >/dev/null || \
	  { echo "make test: chromium is missing for the browser check; run 'make chromium' (as root) first"; exit 2; }
	$(MAKE) lint
	$(MAKE) unit
	$(MAKE) -j$(JOBS) notebooks MODE=smoke RUN=tools/offline
	$(MAKE) pages html
	$(MAKE) booktest

# The course pack (issue #13): student notebooks without solutions, teacher notebooks, both
# HTML editions, verified data with SHA256SUMS and a locked environment, in _build/course.
course: $(STAMP)
	$(MAKE) book
	$(PY) tools/course.py pack --out _build/course
	$(PYTEST) -m book tests/book/test_course_html.py -k student

# Chapters over a parameter grid on Dask (a LocalCluster, or DASK_SCHEDULER_ADDRESS), resumable:
# make sweep SWEEP=sweeps/principles_holdout.yaml [WORKERS=2]  -> _build/sweeps/<name>/
SWEEP ?= sweeps/principles_holdout.yaml
WORKERS ?= 2
sweep: | $(STAMP)
	$(PY) tools/sweep.py $(SWEEP) --workers $(WORKERS)

# Every chapter in smoke mode with seeds 0, 1, 2, documented alternative parameter values
# and the README's rerun examples (tools/reruns.py); fails on any unexpected failure.
# Results: _build/reruns/summary.md. RERUNS='--jobs 2 --only screens' passes options.
RERUNS ?=
reruns: | $(STAMP)
	tools/offline $(PY) tools/reruns.py $(RERUNS)

# The side environment for cross-checks against pertpy (JAX; needs scikit-learn < 1.8, so not
# the book's environment): benchmarks/mixscape.py and benchmarks/augur.py find it here.
crosscheck-env: .venv-crosscheck/.installed
.venv-crosscheck/.installed: pyproject.toml
	@test -x .venv-crosscheck/bin/python || $(PYTHON) -m venv .venv-crosscheck
	.venv-crosscheck/bin/python -m pip install -q torch==2.13.0 $(TORCH_INDEX)
	.venv-crosscheck/bin/python -m pip install -q -e '.[crosscheck]'
	@touch $@

benchmarks: | $(STAMP)
	$(PY) benchmarks/run_all.py

clean:
	rm -rf _build $(EXEC)
