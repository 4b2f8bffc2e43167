#!/usr/bin/env bash
# The whole test suite in one command: installs what is missing, builds into
# build/, runs ctest (unit and integration tests against real servers on
# 127.0.0.1). Non-zero on any failure.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/setup.sh"

ppa_install_packages
ppa_build RelWithDebInfo

cd "$PPA_BUILD_DIR"
ctest --output-on-failure -j "$(nproc)" --timeout 900
