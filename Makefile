# The two commands of the README:  `make chat` (run the chat)  and  `make test` (run the tests).
# Both create the virtual environment on first use and install everything, including Debian's chromium
# for the browser tests (when running as root or with password-less sudo).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
INDEX ?= .rag-index

.PHONY: chat test index browser setup clean reader

setup: $(STAMP)

# torch first, pinned to the CPU build, so sentence-transformers does not pull the CUDA build (several GB).
$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install torch==2.13.0
	$(BIN)/python -m pip install -e '.[ui,dev,milvus]'
	touch $@

index: $(STAMP)
	@test -f $(INDEX)/manifest.json || $(BIN)/rag index seeds/ --index $(INDEX)

chat: index
	$(BIN)/rag chat --index $(INDEX)

test: $(STAMP) browser
	$(BIN)/python -m pytest

# Regenerate the reader from the SQuAD training articles (../shared/data): the cross reader's adapters, then the
# first stage, second stage and decline models (README, "The learned reader"). About 70 minutes on 2 cores.
reader: $(STAMP)
	$(BIN)/python scripts/train_cross_reader.py
	$(BIN)/python scripts/train_reader.py --keep-features --report .bench/reader-report.json

browser:
	@if command -v chromium >/dev/null 2>&1; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then \
	  sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	else echo "chromium is not installed and cannot be installed here; browser tests will be skipped"; fi

clean:
	rm -rf $(VENV) $(INDEX)
