#!/bin/bash
# Runs one of the viewer's Python tests with Debian's python3 (where
# python3-selenium is installed), the paths it needs in the environment.
# Usage: run_python_test.sh TEST.py KILN_HEAP VIEWER_TEST_HEAP TESTDATA_FILE
set -euo pipefail
script=$1
export KILN_HEAP=$PWD/$2 VIEWER_TEST_HEAP=$PWD/$3 VIEWER_TESTDATA=$PWD/$(dirname "$4")
export PYTHONPATH=$PWD/$(dirname "$script")
exec /usr/bin/python3 -B "$script"
