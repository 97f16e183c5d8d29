# pagefan — one entry point for a fresh machine: `make demo` and `make test` set themselves up.
#
# .venv holds the project and its development tools (pinned by constraints.txt);
# .venv-tools holds the SAM CLI and checkov (pinned by tools-requirements.txt), whose own pins clash with moto's.

PYTHON ?= python3
VENV := .venv
TOOLS := .venv-tools
BIN := $(VENV)/bin
export SAM_CLI_TELEMETRY := 0
export AWS_DEFAULT_REGION ?= us-east-1

.PHONY: demo test lint build bench bench-large tools clean renderers

# Debian packages the tests need: poppler (pdftoppm, pdftocairo and pdftotext read the sources and the
# rebuilt PDFs), librsvg (rsvg-convert renders the SVGs), the Liberation fonts (Helvetica, Times and
# Courier metrics) that cairo draws the SVGs' generic families with, and Noto for Arabic, Hebrew and CJK
# (cairo draws a run in one font, with no fallback per glyph). Installed only when one is missing.
DEBIAN_PACKAGES := poppler-utils librsvg2-bin fonts-liberation2 fonts-noto-core fonts-noto-cjk

# The deployer's options, all set, for the scan of that variant (the values only need to be well formed).
LINT_OPTIONS := KmsKeyArn=arn:aws:kms:us-east-1:123456789012:key/0f0e0d0c-1111-4222-8333-444455556666 \
	SubnetIds=subnet-0a1b2c3d4e5f60718 SecurityGroupIds=sg-0123456789abcdef0 AlarmEmail=operations@example.com

$(BIN)/.installed: pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check --upgrade pip
	$(BIN)/pip install --quiet --disable-pip-version-check -c constraints.txt -e ".[dev]"
	touch $@

# The functions' Runtime (python3.13), with the same pins: the local runtime starts their environments
# with it, and `make test` runs the fast tier on it. pyenv's python3.13 shim answers only when 3.13 is one
# of pyenv's selected versions: name it.
PYTHON_3_13 ?= $(shell PYENV_VERSION=$$(pyenv latest 3.13 2>/dev/null) python3.13 -c 'import sys; print(sys.executable)' 2>/dev/null)
VENV_3_13 := .venv-3.13

$(VENV_3_13)/bin/.installed: pyproject.toml constraints.txt
	@test -n "$(PYTHON_3_13)" || { echo "Python 3.13 not found: install it, or set PYTHON_3_13" >&2; exit 1; }
	$(PYTHON_3_13) -m venv $(VENV_3_13)
	$(VENV_3_13)/bin/pip install --quiet --disable-pip-version-check --upgrade pip
	$(VENV_3_13)/bin/pip install --quiet --disable-pip-version-check -c constraints.txt -e ".[dev]"
	touch $@

$(TOOLS)/.installed: tools-requirements.txt
	$(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/pip install --quiet --disable-pip-version-check -r tools-requirements.txt
	touch $@

tools: $(TOOLS)/.installed

renderers:
	@missing=$$(for package in $(DEBIAN_PACKAGES); do dpkg -s $$package >/dev/null 2>&1 || echo $$package; done); \
	if [ -n "$$missing" ]; then \
		sudo=$$([ "$$(id -u)" = 0 ] || echo sudo); \
		echo "Installing Debian packages:" $$missing; \
		$$sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$sudo apt-get install -y -qq \
			--no-install-recommends $$missing >/dev/null; \
	fi

demo: $(BIN)/.installed
	$(BIN)/pagefan run samples/sample.pdf --out pagefan-out
	@echo "Gallery: file://$(CURDIR)/pagefan-out/sample/index.html"

# Both cores, a test file per worker (module fixtures boot their emulated account once): about 10 minutes
# here against 20 on one core. Each worker is its own process, with its own moto backends and ports.
test: $(BIN)/.installed $(VENV_3_13)/bin/.installed renderers
	$(BIN)/pytest -n 2 --dist loadfile
	@# The fast tier again with the runtime itself on the functions' Python (the Runtime's, 3.13).
	$(VENV_3_13)/bin/pytest -m "not slow" -n 2

# Measures and writes benchmarks/results.json and benchmarks/RESULTS.md (7 to 9 min on 2 cores), then the
# graphics figures into benchmarks/GRAPHICS.md (about 4 min); not a test.
bench: $(BIN)/.installed renderers
	$(BIN)/python benchmarks/bench.py
	$(BIN)/python benchmarks/engine.py > benchmarks/GRAPHICS.md
	$(BIN)/python benchmarks/large_document.py

# One document of 10,000 pages end to end (`pagefan run`, MaxPages raised): benchmarks/LARGE.md. The last step
# of `make bench`, alone here.
bench-large: $(BIN)/.installed
	$(BIN)/python benchmarks/large_document.py

lint: $(BIN)/.installed tools
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks
	@# 3.13 too, the functions' Runtime; less ruff's upgrades to syntax that 3.11 lacks.
	$(BIN)/ruff check --target-version py313 --extend-ignore UP src tests benchmarks
	$(BIN)/mypy
	$(BIN)/mypy --python-version 3.13
	$(BIN)/cfn-lint template.yaml
	$(TOOLS)/bin/sam validate --lint
	$(TOOLS)/bin/checkov -f template.yaml --framework cloudformation --compact --quiet --skip-download
	@# checkov skips policies that hold an Fn::If: scan each variant with its conditions decided as well.
	@mkdir -p .aws-sam/lint
	$(BIN)/python -m pagefan.local.emulator.template_variants template.yaml .aws-sam/lint/defaults.yaml
	$(BIN)/python -m pagefan.local.emulator.template_variants template.yaml .aws-sam/lint/options.yaml $(LINT_OPTIONS)
	$(TOOLS)/bin/checkov -f .aws-sam/lint/defaults.yaml -f .aws-sam/lint/options.yaml --framework cloudformation \
		--compact --quiet --skip-download

build: tools
	$(TOOLS)/bin/sam build

clean:
	rm -rf .aws-sam pagefan-out .pytest_cache .mypy_cache .ruff_cache

# Re-resolves constraints.txt: the newest versions pyproject.toml allows, the SAM CLI's translator kept, installed
# in a scratch venv and frozen. tests/test_versions.py then names each layer pin to bring to the same version.
.PHONY: constraints
constraints:
	rm -rf .venv-constraints
	$(PYTHON) -m venv .venv-constraints
	grep '^aws-sam-translator==' tools-requirements.txt > .venv-constraints/sam-translator.txt
	.venv-constraints/bin/pip install --quiet --disable-pip-version-check --upgrade pip
	.venv-constraints/bin/pip install --quiet --disable-pip-version-check -c .venv-constraints/sam-translator.txt -e ".[dev]"
	.venv-constraints/bin/pip freeze --exclude-editable > constraints.txt
	rm -rf .venv-constraints
