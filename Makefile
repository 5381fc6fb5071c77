# Shortcuts; each target calls tasks.py, which needs nothing but python3.
PYTHON ?= python3

.PHONY: install demo test check lint bench
install:
	$(PYTHON) -c "import tasks; tasks.ensure_venv('requirements-dev.txt'); tasks.ensure_env_file()"
demo:
	$(PYTHON) tasks.py demo
test:
	$(PYTHON) tasks.py test
check lint:
	$(PYTHON) tasks.py check
bench:
	$(PYTHON) tasks.py bench
