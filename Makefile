# Two commands set everything up on a fresh machine: `make chat` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
TEST_STAMP := $(VENV)/.installed-test

DICTIONARY := /usr/share/dictd/freedict-eng-ara.index

.PHONY: chat test index install bench clean dictionary

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e .
	touch $@

$(TEST_STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@ $(STAMP)

install: $(STAMP)

# FreeDict's English-Arabic dictionary, which English questions use (rag/lexicon.py): Debian's
# package, installed where apt can (as root); elsewhere one line says how. Never required.
dictionary:
	@test -e $(DICTIONARY) || { \
	  if command -v apt-get >/dev/null && [ "$$(id -u)" = 0 ]; then \
	    apt-get install -y -q dict-freedict-eng-ara >/dev/null 2>&1 || \
	    { apt-get update -q >/dev/null 2>&1; apt-get install -y -q dict-freedict-eng-ara >/dev/null 2>&1; } || \
	    echo "note: could not install dict-freedict-eng-ara; English questions use meaning alone"; \
	  else \
	    echo "note: for better English questions: sudo apt-get install dict-freedict-eng-ara (or set SANAD_DICTIONARY)"; \
	  fi; }

index: $(STAMP) dictionary
	$(BIN)/sanad index --corpus corpus

chat: index
	$(BIN)/sanad chat --corpus corpus

test: $(TEST_STAMP) dictionary
	$(BIN)/python -m pytest

bench: $(TEST_STAMP) dictionary
	$(BIN)/python bench/run_all.py

clean:
	rm -rf .sanad build *.egg-info
