#!/usr/bin/env bash
# Builds the ppa-import packages in one command: the Debian package (checked
# with lintian) and, where rpmbuild is installed, the RPM, both by CPack from
# the project's install rules (cmake/PpaPackaging.cmake).
#
#   scripts/package.sh [--build DIR] [--out DIR] [--no-rpm]
#
#   --build DIR  package this existing, already built build directory (it is
#                not rebuilt; a sanitizer build is refused). Default: a
#                Release build in build-package/, configured and brought up to
#                date by this script (tests off).
#   --out DIR    where the packages go, and CPack's scratch (removed after);
#                created if missing. Default: dist/.
#   --no-rpm     the Debian package only.
#
# Installs what is missing first (scripts/setup.sh). Progress, the CPack log
# and lintian's findings go to stderr; stdout carries only the absolute paths
# of the packages built, one per line, the .deb first:
#   deb="$(scripts/package.sh --no-rpm --out /tmp/pkg | grep '\.deb$')"
# Exit status: 0 built and lintian found no error; 1 a step failed (lintian
# errors included); 2 usage.
set -euo pipefail
# Modes in what is built must not depend on who builds it: directories 0755
# and files as installed, whatever the caller's umask.
umask 022
source "$(dirname "${BASH_SOURCE[0]}")/setup.sh"

usage() {
  echo "usage: scripts/package.sh [--build DIR] [--out DIR] [--no-rpm]" >&2
  exit 2
}

build=""
out="$PPA_ROOT/dist"
rpm=1
while [ $# -gt 0 ]; do
  case "$1" in
    --build) [ $# -ge 2 ] || usage; build="$2"; shift 2 ;;
    --out) [ $# -ge 2 ] || usage; out="$2"; shift 2 ;;
    --no-rpm) rpm=0; shift ;;
    *) usage ;;
  esac
done

# What building and checking a package needs: the build packages and lintian
# where setup.sh names them apart (PPA_BUILD_PACKAGES), else everything.
if declare -p PPA_BUILD_PACKAGES >/dev/null 2>&1; then
  ppa_install_packages "${PPA_BUILD_PACKAGES[@]}" lintian >&2
else
  ppa_install_packages >&2
fi

if [ -n "$build" ]; then
  if [ ! -f "$build/CPackConfig.cmake" ]; then
    echo "Error: $build is not a configured ppa-import build (no CPackConfig.cmake)" >&2
    echo "Hint: leave out --build to let scripts/package.sh build one in build-package/" >&2
    exit 2
  fi
  build="$(cd "$build" && pwd)"
  if grep -q '^PPA_SANITIZE:BOOL=ON$' "$build/CMakeCache.txt"; then
    echo "Error: $build is a sanitizer build (PPA_SANITIZE=ON), not something to ship" >&2
    echo "Hint: leave out --build to package a Release build from build-package/" >&2
    exit 2
  fi
else
  build="$PPA_ROOT/build-package"
  echo "Building (Release) in $build..." >&2
  PPA_BUILD_DIR="$build"
  ppa_build Release -DPPA_BUILD_TESTS=OFF -DCMAKE_DISABLE_FIND_PACKAGE_benchmark=ON >&2
fi

mkdir -p "$out"
out="$(cd "$out" && pwd)"
generators=(DEB)
if [ "$rpm" = 1 ]; then
  if command -v rpmbuild >/dev/null; then
    generators+=(RPM)
  else
    echo "rpmbuild is not installed: no RPM" >&2
  fi
fi

built=()
for generator in "${generators[@]}"; do
  echo "cpack -G $generator into $out..." >&2
  # -B: the packages and CPack's scratch (_CPack_Packages) go to $out, never
  # into the build directory, which other runs may be packaging from too.
  log="$(cpack --config "$build/CPackConfig.cmake" -G "$generator" -B "$out" 2>&1)" ||
    { echo "$log" >&2; echo "Error: cpack -G $generator failed" >&2; exit 1; }
  echo "$log" >&2
  # CPack names what it wrote: "CPack: - package: PATH generated."
  package="$(sed -n 's/^CPack: - package: \(.*\) generated\.$/\1/p' <<<"$log" | tail -1)"
  if [ -z "$package" ] || [ ! -f "$package" ]; then
    echo "Error: cpack -G $generator named no package it generated" >&2
    exit 1
  fi
  built+=("$package")
done
rm -rf "$out/_CPack_Packages"

echo "lintian ${built[0]}:" >&2
# Errors fail the run; warnings are shown (tests/install/package_deb_test.sh
# says which are accepted and why).
if ! lintian --fail-on error --tag-display-limit 0 "${built[0]}" >&2; then
  echo "Error: lintian found errors in ${built[0]}" >&2
  exit 1
fi

printf '%s\n' "${built[@]}"
