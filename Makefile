# ketqua — one-command set-up on a fresh Debian machine (as root).
#   make run    the service on its embedded default (SQLite, folder, development keys)
#   make test   install everything the suite needs, then ruff, mypy --strict, and pytest on
#               SQLite and on PostgreSQL
#   make test-fast  the same checks, and the tests that start no service or server (under 2 min)
#   make fuzz   a coverage-guided fuzzing campaign on the parsers of public input (atheris)
#   make bench  signing throughput against stock pyHanko and the QR mask against the
#               full search, as ratios; where one signature's time goes; the service end to end;
#               emails per second with connection reuse on and off; the verifier and the portal
#               routes under wrk; 1, 2 and 4 signer processes on one PostgreSQL, and SQLite
#               against PostgreSQL

PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
DEBIAN_TOOLS := poppler-utils mupdf-tools qpdf zbar-tools softhsm2 opensc libnss3-tools fonts-dejavu-core postfix chromium postgresql
# the command each Debian package brings, to skip apt-get when all are there
DEBIAN_CMDS  := pdfsig mutool qpdf zbarimg softhsm2-util pkcs11-tool certutil postfix chromium

# axe-core, the accessibility engine the page tests inject into Chromium (from npm, pinned;
# the registry is npm's own configuration on this machine; no lock file, which would name it)
AXE_VERSION := 4.14.1
AXE := build/axe/node_modules/axe-core/axe.min.js

.PHONY: run test test-fast lint typecheck pytest bench fuzz examples debian-tools venv clean axe

venv: $(STAMP)

$(STAMP): pyproject.toml
	@# Debian's python3 has no ensurepip until python3-venv is installed
	@$(PYTHON) -c 'import ensurepip' 2>/dev/null || { apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends python3-venv >/dev/null; }
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[test,bench,fuzz]'
	touch $(STAMP)

debian-tools:
	@missing=0; for c in $(DEBIAN_CMDS); do command -v $$c >/dev/null || missing=1; done; \
	ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || missing=1; \
	if [ $$missing = 1 ]; then \
	  echo "installing Debian tools: $(DEBIAN_TOOLS)"; \
	  echo "postfix postfix/main_mailer_type select Local only" | debconf-set-selections; \
	  echo "postfix postfix/mailname string localhost" | debconf-set-selections; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
	    --no-install-recommends $(DEBIAN_TOOLS) >/dev/null; \
	fi

axe: $(AXE)

$(AXE):
	@command -v npm >/dev/null || { apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends npm >/dev/null; }
	mkdir -p build/axe
	npm install --prefix build/axe --no-package-lock --no-save --no-audit --no-fund --silent \
	  axe-core@$(AXE_VERSION)
	test -f $(AXE)

lint: venv
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

typecheck: venv
	$(VENV)/bin/mypy

# the whole suite twice: on the embedded SQLite, then on a throwaway PostgreSQL cluster
pytest: venv debian-tools axe
	$(VENV)/bin/pytest -n 2 -q
	$(VENV)/bin/pytest -n 2 -q --registry=postgresql

test: debian-tools venv lint typecheck pytest

# the developer's loop: lint, types and the tests that start no service (SQLite, no PostgreSQL)
test-fast: venv debian-tools axe lint typecheck
	$(VENV)/bin/pytest -n 2 -q -m "not slow"

run: venv
	@# a development API key for the curl below, made once and kept (0600) in var/
	@test -s var/dev-api-key || { mkdir -p var && umask 077 && \
	  $(VENV)/bin/ketqua apikey create --name "dev-$$(date +%s)" --home var | tail -n 1 > var/dev-api-key; }
	@# and a development administrator for the console, its first password kept (0600) in var/
	@test -s var/dev-admin-password || { mkdir -p var && umask 077 && \
	  $(VENV)/bin/ketqua user add --name dev.admin --role admin --home var | tail -n 1 > var/dev-admin-password; }
	@echo "signer API (internal): http://127.0.0.1:8081   verifier (public): http://127.0.0.1:8080"
	@echo "back-office console: http://127.0.0.1:8081/ as dev.admin, first password in var/dev-admin-password"
	@echo "submit the bundled example result, then follow its Location:"
	@echo "  curl -i -H \"Authorization: Bearer $$(cat var/dev-api-key)\" \\"
	@echo "    -F metadata=@examples/ket-qua-mau.json -F document=@examples/ket-qua-mau.pdf \\"
	@echo "    http://127.0.0.1:8081/api/v1/results"
	exec $(VENV)/bin/ketqua serve --home var

# each benchmark adds its main figure to the summary printed at the end
bench: export KETQUA_BENCH_SUMMARY = $(CURDIR)/var/bench-summary.jsonl
bench: venv
	@mkdir -p var && rm -f $(KETQUA_BENCH_SUMMARY)
	$(PY) bench/signing.py
	$(PY) bench/qr.py
	$(PY) bench/breakdown.py
	$(PY) bench/service.py
	$(PY) bench/mail.py
	@command -v wrk >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends wrk >/dev/null; }
	$(PY) bench/verify.py
	$(PY) bench/portal.py
	$(PY) bench/back_office.py
	$(PY) bench/scale.py
	$(PY) bench/quarter.py
	$(PY) bench/quarter.py --smtp
	$(PY) bench/quarter.py --postgres
	$(PY) bench/summary.py

# the bundled example decisions (Decree 30/2020 layout), one page and three
examples: venv
	$(PY) -m tests.decision examples

# a coverage-guided campaign (atheris) on the parsers of public input, one target after the
# other; FUZZ_SECONDS bounds each target. A crash stops it and leaves the input (crash-*).
FUZZ_SECONDS ?= 300
fuzz: venv
	$(PY) fuzz/run.py seal --runs 2000000 --seconds $(FUZZ_SECONDS)
	$(PY) fuzz/run.py metadata --runs 2000000 --seconds $(FUZZ_SECONDS)
	$(PY) fuzz/run.py query --runs 2000000 --seconds $(FUZZ_SECONDS)
	$(PY) fuzz/run.py pdf --runs 300000 --seconds $(FUZZ_SECONDS)
	$(PY) fuzz/run.py upload --runs 30000 --seconds $(FUZZ_SECONDS)

clean:
	rm -rf $(VENV) var .mypy_cache .pytest_cache .ruff_cache
