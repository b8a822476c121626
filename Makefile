# `make demo` and `make test` set everything up on a fresh machine.
PY ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install demo test test-zoo bench clean

$(STAMP): requirements.txt setup.py
	@$(PY) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || { \
	  echo "mmaction-aosa needs Python >= 3.11 (numpy 2.4.6 of the pins); give one with PY=python3.11" >&2; exit 1; }
	$(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q -r requirements.txt
	$(BIN)/python -m pip install -q --no-deps --no-build-isolation -e .
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/python tools/demo.py

test: $(STAMP)
	$(BIN)/python -m pytest -q tests

# the model-zoo families (configs/zoo) with every method: a few minutes
test-zoo: $(STAMP)
	$(BIN)/python -m pytest -q -m slow tests/test_zoo.py

bench: $(STAMP)
	$(BIN)/python tools/benchmark.py

clean:
	rm -rf $(VENV) work_dirs *.egg-info
