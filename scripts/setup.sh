#!/usr/bin/env bash
# Installs what ppa-import needs to build and test on Debian 12 (only what is
# missing), then configures and builds into build/.
#   scripts/setup.sh            # Release build
#   BUILD_TYPE=Debug scripts/setup.sh
# Sourced by demo.sh and test.sh; safe to run again.
set -euo pipefail

PPA_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PPA_BUILD_DIR="${PPA_BUILD_DIR:-$PPA_ROOT/build}"

# What a Release build of ppa-import and its .deb need (the Containerfile's
# build stage installs only these: -DPPA_BUILD_TESTS=OFF).
PPA_BUILD_PACKAGES=(
  build-essential cmake ninja-build pkg-config file
  libarchive-dev libcurl4-openssl-dev libyaml-cpp-dev nlohmann-json3-dev
  libspdlog-dev libfmt-dev libssl-dev libcli11-dev
  zlib1g-dev libzstd-dev libisal-dev libsqlite3-dev libgpgme-dev
  libsodium-dev
  help2man
)
# What the tests, the demo and the benchmark add.
PPA_TEST_PACKAGES=(
  git ca-certificates curl
  libgtest-dev libgmock-dev libcpp-httplib-dev libbenchmark-dev
  docker-registry skopeo apache2-utils tar gzip xz-utils zstd bzip2 time pigz
  lintian rpm umoci zsh bash-completion openssl gnupg
)
PPA_PACKAGES=("${PPA_BUILD_PACKAGES[@]}" "${PPA_TEST_PACKAGES[@]}")

# ppa_install_packages [PACKAGE...]: installs those missing (default: PPA_PACKAGES).
ppa_install_packages() {
  local missing=()
  local wanted=("$@")
  [ ${#wanted[@]} -gt 0 ] || wanted=("${PPA_PACKAGES[@]}")
  for p in "${wanted[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  if [ ${#missing[@]} -eq 0 ]; then
    return 0
  fi
  echo "Installing: ${missing[*]}"
  local sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# ppa_build BUILD_TYPE [extra cmake args...] [-- TARGET...]
# Without targets, builds everything.
ppa_build() {
  local type="$1"; shift
  local werror=OFF
  [ -n "${CI:-}" ] && werror=ON
  local args=() targets=()
  while [ $# -gt 0 ] && [ "$1" != "--" ]; do args+=("$1"); shift; done
  [ $# -gt 0 ] && shift && targets=("$@")
  cmake -S "$PPA_ROOT" -B "$PPA_BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE="$type" \
    -DPPA_WERROR="$werror" "${args[@]}" >/dev/null
  if [ ${#targets[@]} -gt 0 ]; then
    cmake --build "$PPA_BUILD_DIR" -j "$(nproc)" --target "${targets[@]}"
  else
    cmake --build "$PPA_BUILD_DIR" -j "$(nproc)"
  fi
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
  ppa_install_packages
  ppa_build "${BUILD_TYPE:-Release}"
fi
