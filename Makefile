# The newcomer path: `make demo` and `make test` each set up what they need, then run.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml | cksum | cut -d' ' -f1)

WEB_STAMP := web/node_modules/.installed-$(shell cat web/package-lock.json | cksum | cut -d' ' -f1)
WEB_BUILD := src/xueliang/static/web/index.html
WEB_SOURCES := $(shell find web/src web/public -type f) web/index.html web/vite.config.ts web/tsconfig.json

.PHONY: demo test bench lint system-deps clean web

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit("Python >= 3.11 is required") if sys.version_info < (3, 11) else None'
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	rm -f $(VENV)/.installed-*
	touch $(STAMP)

system-deps:
	@sh scripts/system-deps.sh

# The web UI: Node.js packages from package-lock.json (again when it changes), then a build
# into the Python package whenever a source changed.
$(WEB_STAMP): web/package-lock.json
	@command -v npm >/dev/null || sh scripts/system-deps.sh
	@node -e 'const [a, b] = process.versions.node.split(".").map(Number); if (a < 20 || (a === 20 && b < 19)) { console.error("Node.js >= 20.19 is needed to build the web UI, found " + process.version); process.exit(1) }'
	cd web && npm ci --no-audit --no-fund
	rm -f web/node_modules/.installed-*
	touch $(WEB_STAMP)

$(WEB_BUILD): $(WEB_STAMP) $(WEB_SOURCES)
	cd web && npm run build

web: $(WEB_BUILD)

demo: $(STAMP) web
	$(VENV)/bin/xueliang demo

test: $(STAMP) system-deps web
	cd web && npm test
	$(PY) -m pytest

bench: $(STAMP)
	for script in bench/*.py; do $(PY) $$script || exit 1; done

lint: $(STAMP)
	$(VENV)/bin/ruff check src tests bench

clean:
	rm -rf $(VENV) xueliang-data .pytest_cache web/node_modules src/xueliang/static/web
