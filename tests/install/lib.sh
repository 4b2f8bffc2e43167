#!/usr/bin/env bash
# Shared preamble and cleanup of the tests/install/*_test.sh scripts. Source
# it (it is not a test itself: its name does not end in _test.sh):
#   source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
#   ppa_test_args "$@"              # sets build and source_dir
#   ppa_test_not_sanitized "REASON" # exit 77 in a sanitizer build, even in CI
#   ppa_test_require_root "REASON"
#   ppa_test_require_tools TOOL...
#   ppa_test_require_namespaces
#   ppa_test_remove_tree DIR        # in the EXIT trap: refuses leaked mounts
#   ppa_test_start NAME             # tmp, version, scripts/registry.sh, the trap
#   fail MESSAGE / must MESSAGE / pass MESSAGE   # count a failure / stop / note
#   expect_same_lines EXPECTED ACTUAL PASS_MESSAGE FAIL_MESSAGE
#
# A test that cannot run here exits 77 (skipped, the reason printed) outside
# CI. When the environment variable CI is set and not "false" or "0" (CI runs
# `CI=true bash .ci/run` as root), a missing capability is a failure (exit 1,
# the reason printed): a skip there would hide that the check never ran. A
# sanitizer build is the one skip kept in CI (it is not what is shipped).

# ppa_test_in_ci: true when CI is set to anything but "", "false" or "0".
ppa_test_in_ci() {
  case "${CI:-}" in
    '' | false | 0) return 1 ;;
    *) return 0 ;;
  esac
}

# ppa_test_cannot_run REASON: skips the test (exit 77) outside CI, fails it
# (exit 1) in CI.
ppa_test_cannot_run() {
  if ppa_test_in_ci; then
    echo "FAIL: $1"
    echo "Hint: CI is set ($CI), where this test must run, so this is a failure, not a skip;" \
         "scripts/setup.sh installs the tools; run as root where mount and PID namespaces are allowed"
    exit 1
  fi
  echo "skipped: $1"
  exit 77
}

# ppa_test_args "$@": reads --build BUILD_DIR --source SOURCE_DIR into the
# variables build and source_dir; anything else is a usage error (exit 2).
ppa_test_args() {
  build=""
  source_dir=""
  local usage="usage: $0 --build BUILD_DIR --source SOURCE_DIR"
  while [ $# -gt 0 ]; do
    case "$1" in
      --build) build="${2:-}"; shift 2 || { echo "$usage" >&2; exit 2; } ;;
      --source) source_dir="${2:-}"; shift 2 || { echo "$usage" >&2; exit 2; } ;;
      *) echo "$usage" >&2; exit 2 ;;
    esac
  done
  [ -n "$build" ] && [ -n "$source_dir" ] || { echo "$usage" >&2; exit 2; }
}

# ppa_test_not_sanitized REASON: exit 77 when PPA_SANITIZE=1 (in CI too: the
# sanitizer pass of CI runs the same suite on a build that is never shipped).
ppa_test_not_sanitized() {
  if [ "${PPA_SANITIZE:-0}" = 1 ]; then
    echo "skipped: $1"
    exit 77
  fi
}

# ppa_test_require_root FOR: root is needed for FOR.
ppa_test_require_root() {
  [ "$(id -u)" -eq 0 ] || ppa_test_cannot_run "not root (needed for $1)"
}

# ppa_test_require_tools TOOL...: each TOOL is a command on PATH.
ppa_test_require_tools() {
  local tool missing=()
  for tool in "$@"; do
    command -v "$tool" >/dev/null || missing+=("$tool")
  done
  [ ${#missing[@]} -eq 0 ] || ppa_test_cannot_run "not installed: ${missing[*]}"
}

# ppa_test_require_namespaces: new mount and PID namespaces can be made (not
# in an unprivileged container).
ppa_test_require_namespaces() {
  local err
  err="$(unshare --mount --pid --fork --propagation private true 2>&1)" ||
    ppa_test_cannot_run "no mount and PID namespaces here (unshare --mount --pid: ${err:-failed})"
}

# ppa_test_mounts_under DIR: prints the mount points at or under DIR that are
# still mounted in this mount namespace (/proc/self/mountinfo, field 5).
ppa_test_mounts_under() {
  awk -v d="$1" '$5 == d || index($5, d "/") == 1 { print $5 }' /proc/self/mountinfo
}

# ppa_test_remove_tree DIR: removes DIR, never crossing into another file
# system; with anything still mounted at or under DIR (a chroot's /dev bound
# to the host's, which rm -rf would empty), it prints a FAIL line, leaves DIR
# in place and returns 1. Call it from the EXIT trap as
#   ppa_test_remove_tree "$tmp" || exit 1
ppa_test_remove_tree() {
  local dir="$1" mounts
  [ -n "$dir" ] && [ -d "$dir" ] || return 0
  mounts="$(ppa_test_mounts_under "$dir")"
  if [ -n "$mounts" ]; then
    echo "FAIL: mounts under $dir outlived their namespace ($(tr "\n" " " <<<"$mounts")); $dir left in place"
    return 1
  fi
  rm -rf --one-file-system "$dir"
}

# ppa_test_make_tls DIR: a throwaway test CA (DIR/ca.crt, DIR/ca.key) and a
# server certificate it signs for 127.0.0.1 (DIR/server.crt, DIR/server.key,
# subjectAltName IP:127.0.0.1, serverAuth), valid one day, P-256 keys.
ppa_test_make_tls() {
  local dir="$1"
  mkdir -p "$dir"
  openssl req -x509 -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 \
    -subj "/CN=ppa-import install test CA" \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
    -keyout "$dir/ca.key" -out "$dir/ca.crt" 2>/dev/null &&
  openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=127.0.0.1" \
    -keyout "$dir/server.key" -out "$dir/server.csr" 2>/dev/null &&
  printf '%s\n' "basicConstraints=critical,CA:FALSE" "keyUsage=critical,digitalSignature" \
    "extendedKeyUsage=serverAuth" "subjectAltName=IP:127.0.0.1" >"$dir/server.ext" &&
  openssl x509 -req -in "$dir/server.csr" -CA "$dir/ca.crt" -CAkey "$dir/ca.key" -CAcreateserial \
    -days 1 -extfile "$dir/server.ext" -out "$dir/server.crt" 2>/dev/null &&
  openssl verify -CAfile "$dir/ca.crt" "$dir/server.crt" >/dev/null
}

# The checks' verdicts: `fail` counts a failure and goes on (the script ends
# with `[ "$failures" -eq 0 ]`), `must` stops at once, `pass` notes a check.
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }
must() { echo "FAIL: $*"; exit 1; }
pass() { echo "ok: $*"; }

# expect_same_lines EXPECTED ACTUAL PASS_MESSAGE FAIL_MESSAGE: the two texts
# are equal line for line, else a failure with their diff (< expected, > actual).
expect_same_lines() {
  if [ "$1" = "$2" ]; then
    pass "$3"
  else
    fail "$4"
    diff <(echo "$1") <(echo "$2") | sed 's/^/    /' || true
  fi
}

# ppa_test_start NAME: after ppa_test_args. Sets tmp (a new folder
# /tmp/ppa-NAME-test.XXXXXX) and version (the project version of $build),
# loads scripts/registry.sh, and on exit stops its registry and removes tmp
# (never through a leaked mount: ppa_test_remove_tree).
ppa_test_start() {
  version="$(sed -n 's/^CMAKE_PROJECT_VERSION:STATIC=//p' "$build/CMakeCache.txt")"
  [ -n "$version" ] || must "no CMAKE_PROJECT_VERSION in $build/CMakeCache.txt"
  tmp="$(mktemp -d "/tmp/ppa-$1-test.XXXXXX")"
  source "$source_dir/scripts/registry.sh"
  trap ppa_test_cleanup EXIT
}

ppa_test_cleanup() {
  ppa_registry_stop
  ppa_test_remove_tree "$tmp" || exit 1
}
