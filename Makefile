# `make demo` and `make test` set everything up on a fresh machine.
PY ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# the exact set installed here (CPU-only torch); setup.py holds the ranges
LOCK ?= requirements/lock-cpu.txt
STAMP := $(VENV)/.installed
# the oldest set the registry offers for Python 3.11 (numpy 1.x, opencv 4.x)
COMPAT ?= .venv-compat
COMPAT_LOCK ?= requirements/lock-compat.txt
COMPAT_STAMP := $(COMPAT)/.installed
# what building the wheel reads: it is built from a copy of these in
# work_dirs/, so that no build/ or *.egg-info lands in the checkout
WHEEL_SRC := setup.py README.md requirements mmaction_aosa
DIST := work_dirs/dist

.PHONY: install demo test test-zoo test-compat wheel check-clean bench clean

# $(1): the venv, $(2): its lock. The lock is for CPython 3.11 (its torch
# is a cp311 CPU wheel). The checkout is installed editable without its
# dependencies, then `pip check` holds the lock against setup.py's ranges.
# A .pth file sets sys.dont_write_bytecode in the venv, so that running the
# checkout writes no __pycache__ into it (the bytecode pip compiled for the
# installed packages is still read; the checkout's modules compile in memory).
define make_venv
	@$(PY) -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))' || { \
	  echo "$(2) is for Python 3.11; give one with PY=python3.11 (other Pythons: README, Install into your own environment)" >&2; exit 1; }
	rm -rf $(1)
	$(PY) -m venv $(1)
	$(1)/bin/python -m pip install -q -r $(2)
	echo 'import sys; sys.dont_write_bytecode = True' > $$($(1)/bin/python -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')/zz_no_bytecode.pth
	$(1)/bin/python -m pip install -q --no-deps --no-build-isolation -e .
	$(1)/bin/python -m pip check
	touch $(1)/.installed
endef

$(STAMP): $(LOCK) setup.py requirements/runtime.txt
	$(call make_venv,$(VENV),$(LOCK))

$(COMPAT_STAMP): $(COMPAT_LOCK) setup.py requirements/runtime.txt
	$(call make_venv,$(COMPAT),$(COMPAT_LOCK))

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/python tools/demo.py

test: $(STAMP)
	$(BIN)/python -m pytest -q tests

# the model-zoo families (configs/zoo) with every method: a few minutes
test-zoo: $(STAMP)
	$(BIN)/python -m pytest -q -m slow tests/test_zoo.py

# the wheel, built from a copy of the sources, and twine's check of it
wheel: $(STAMP)
	rm -rf work_dirs/wheel-src $(DIST)
	mkdir -p work_dirs/wheel-src
	cp -r $(WHEEL_SRC) work_dirs/wheel-src/
	$(BIN)/python -m pip wheel -q --no-deps --no-build-isolation -w $(DIST) ./work_dirs/wheel-src
	rm -rf work_dirs/wheel-src
	$(BIN)/python -m twine check --strict $(DIST)/*.whl

# numpy 1.26, opencv 4.8, av 12, mmengine 0.8.5, mmcv-lite 2.0 (requirements/
# lock-compat.txt): the wheel, installed --no-deps there, explains a clip
# from outside the checkout; then the tests of `make test` run there
test-compat: $(COMPAT_STAMP) wheel
	$(COMPAT)/bin/python -m pip install -q --no-deps --force-reinstall $(DIST)/*.whl
	$(COMPAT)/bin/python tools/check_wheel.py --python $(COMPAT)/bin/python
	$(COMPAT)/bin/python -m pip install -q --no-deps --no-build-isolation -e .
	$(COMPAT)/bin/python -m pytest -q tests

# nothing in the checkout but work_dirs/ and the venvs (run after the others)
check-clean:
	@left=$$(git status --porcelain --ignored | grep -vE '^(!!|\?\?) (work_dirs/|\.venv/|\.venv-compat/)' || true); \
	if [ -n "$$left" ]; then echo "changed or left in the checkout:"; echo "$$left"; exit 1; fi; \
	echo "checkout clean (outside work_dirs/ and the venvs)"

bench: $(STAMP)
	$(BIN)/python tools/benchmark.py

clean:
	rm -rf $(VENV) $(COMPAT) work_dirs *.egg-info build
