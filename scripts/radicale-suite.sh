#!/usr/bin/env bash
# Run Radicale's own HTTP and storage tests against kalends.storage (Radicale's storage tests via
# scripts/radicale_suite_storage.py; the installed radicale package, the checkout's tests).
#
#   scripts/radicale-suite.sh RADICALE_CHECKOUT [pytest arguments...]
#
# RADICALE_CHECKOUT is a source tree of the Radicale release installed in .venv (the wheel ships
# no tests). Extra arguments go to pytest, e.g. --radicale-storage=multifilesystem for the
# baseline on Radicale's own storage, or -k to select tests.
set -euo pipefail
if [ $# -lt 1 ] || [ ! -f "$1/radicale/tests/test_base.py" ]; then
    echo "usage: $0 RADICALE_CHECKOUT [pytest arguments...]" >&2
    exit 2
fi
scripts=$(cd "$(dirname "$0")" && pwd)
python="$(dirname "$scripts")/.venv/bin/python"
src=$(cd "$1" && pwd)
shift
tests="$src/radicale/tests"
cd "$src"
# -P keeps the checkout's own radicale package off sys.path; no bytecode is written into it.
export PYTHONPATH="$scripts"
export PYTHONDONTWRITEBYTECODE=1
exec "$python" -P -m pytest -p radicale_suite_plugin -p no:cacheprovider -p no:hypothesispytest \
    -c "$src/pyproject.toml" --rootdir "$src" --radicale-src "$src" -q -rfEs \
    "$tests/test_base.py" "$tests/test_expand.py" "$tests/test_rights.py" \
    "$tests/test_sharing.py" "$scripts/radicale_suite_storage.py" "$@"
