#!/usr/bin/env bash
# A long import through faults, for manual runs: `ppa-import load` pushes an
# archive through ppa-fault-proxy (503s, 429s with Retry-After, request
# bodies cut half-way, connections reset) into a fresh Debian docker-registry
# on loopback, must exit 0, and then every image is verified against the
# registry directly (not through the proxy) with skopeo: `inspect`, and
# `copy` to a dir: (which checks every blob's digest); for a manifest list,
# every platform image. Prints the proxy's fault counts and a PASS/FAIL line.
#
#   tests/stress/large_fault_import.sh [--build DIR] [--namespace NS]
#       [--faults "PROXY FLAGS"] [--keep] [ARCHIVE] [-- EXTRA ppa-import FLAGS]
#
# ARCHIVE defaults to the benchmark corpus at scale 2
# (bench/make_corpus.sh --scale 2: /tmp/ppa-bench/corpus-2.tgz, built once
# and reused; several GiB and a long run). --build is the build folder
# holding importer/ppa-import, tests/ppa-fault-proxy and
# samples/ppa-make-sample (default: build/). --keep leaves the temporary
# folder (logs, registry storage) in place. Exit status 0 on PASS, 1 on
# FAIL, 2 on a usage or set-up error.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
build="$root/build"
namespace=stress
faults="--status 503:every=7 --status 429:every=11:retry-after=1 --reset-body every=13:after=1048576 --refuse every=29"
keep=0
archive=""
extra=()
usage() {
  sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//' >&2
  exit 2
}
while [ $# -gt 0 ]; do
  case "$1" in
    --build) build="$2"; shift 2 ;;
    --namespace) namespace="$2"; shift 2 ;;
    --faults) faults="$2"; shift 2 ;;
    --keep) keep=1; shift ;;
    -h|--help) usage ;;
    --) shift; extra=("$@"); break ;;
    -*) echo "unknown flag: $1" >&2; usage ;;
    *) [ -z "$archive" ] || usage; archive="$1"; shift ;;
  esac
done
build="$(cd "$build" && pwd)"
ppa_import="$build/importer/ppa-import"
proxy_bin="$build/tests/ppa-fault-proxy"
for bin in "$ppa_import" "$proxy_bin"; do
  [ -x "$bin" ] || { echo "missing $bin: build it first (ninja -C $build ppa-import ppa-fault-proxy)" >&2; exit 2; }
done
for tool in docker-registry skopeo curl python3; do
  command -v "$tool" >/dev/null || { echo "missing $tool: run scripts/setup.sh" >&2; exit 2; }
done
if [ -z "$archive" ]; then
  echo "No archive given: building (or reusing) the bench corpus at scale 2."
  archive="$(PPA_MAKE_SAMPLE="$build/samples/ppa-make-sample" "$root/bench/make_corpus.sh" --scale 2 | tail -1)"
fi
[ -r "$archive" ] || { echo "cannot read archive '$archive'" >&2; exit 2; }
archive="$(readlink -f "$archive")"

tmp="$(mktemp -d /tmp/ppa-stress.XXXXXX)"
proxy_pid=""
# shellcheck source=scripts/registry.sh
source "$root/scripts/registry.sh"
# shellcheck disable=SC2317  # called by the EXIT trap
cleanup() {
  if [ -n "$proxy_pid" ]; then
    kill "$proxy_pid" 2>/dev/null || true
    wait "$proxy_pid" 2>/dev/null || true
  fi
  ppa_registry_stop >/dev/null 2>&1 || true
  if [ "$keep" = 1 ]; then echo "kept: $tmp"; else rm -rf "$tmp"; fi
}
trap cleanup EXIT

# skopeo with a private policy and registries.conf, never the user's.
printf '{"default":[{"type":"insecureAcceptAnything"}]}\n' >"$tmp/policy.json"
printf 'unqualified-search-registries = []\n' >"$tmp/registries.conf"
sk() {
  CONTAINERS_REGISTRIES_CONF="$tmp/registries.conf" REGISTRY_AUTH_FILE="$tmp/auth.json" \
    skopeo --policy "$tmp/policy.json" "$@"
}

ppa_registry_start
registry="$PPA_REGISTRY_HOST"
registry_port="${registry##*:}"
# A flag set of "--status 503:every=7 ..." is split into words on purpose.
# shellcheck disable=SC2086
"$proxy_bin" --upstream-port "$registry_port" --listen-port 0 $faults \
  >"$tmp/proxy.out" 2>"$tmp/proxy.err" &
proxy_pid=$!
proxy=""
for _ in $(seq 1 100); do
  proxy="$(head -n 1 "$tmp/proxy.out" 2>/dev/null || true)"
  [ -n "$proxy" ] && break
  kill -0 "$proxy_pid" 2>/dev/null || break
  sleep 0.1
done
if [ -z "$proxy" ]; then
  echo "ppa-fault-proxy did not start:" >&2
  cat "$tmp/proxy.err" >&2
  exit 2
fi
echo "archive:  $archive ($(du -h "$archive" | cut -f1))"
echo "registry: $registry (storage $PPA_REGISTRY_DIR)"
echo "proxy:    $proxy  faults: $faults"

# The images the archive should produce (tags of platform images, and of
# the manifest lists the archive names), from `ppa-import inspect --json`.
expected="$tmp/expected.txt"
if "$ppa_import" inspect --json --workdir "$tmp/inspect-work" "$archive" >"$tmp/inspect.json" \
     2>"$tmp/inspect.err"; then
  python3 - "$tmp/inspect.json" >"$expected" <<'PY'
import json, sys
doc = json.load(open(sys.argv[1]))
refs = set()
for image in doc.get("images", []):
    if image.get("manifest_list"):
        refs.add(image["image"])
    for ref in image.get("references", []):
        refs.add(ref["name"])
print("\n".join(sorted(refs)))
PY
else
  echo "warning: 'ppa-import inspect' failed; only what landed is verified:" >&2
  tail -5 "$tmp/inspect.err" >&2
  : >"$expected"
fi
rm -rf "$tmp/inspect-work"

echo
echo "== ppa-import load through the proxy"
start=$(date +%s)
rc=0
"$ppa_import" load "$archive" --namespace "$namespace" --registry "$proxy" --plain-http \
  --workdir "$tmp/work" "${extra[@]}" >"$tmp/import.out" 2>"$tmp/import.err" || rc=$?
elapsed=$(( $(date +%s) - start ))
tail -n 20 "$tmp/import.out"
if [ "$rc" != 0 ]; then
  echo "-- stderr (last 40 lines):"
  tail -n 40 "$tmp/import.err"
fi
echo "exit status $rc after ${elapsed}s"
rm -rf "$tmp/work"

kill "$proxy_pid" 2>/dev/null || true
wait "$proxy_pid" 2>/dev/null || true
proxy_pid=""
echo
echo "== faults injected by the proxy"
tail -n +2 "$tmp/proxy.out"
injected=$(sed -n 's/^injected total \([0-9]*\).*/\1/p' "$tmp/proxy.out")

echo
echo "== verifying against the registry directly ($registry)"
failures=0
# Every tag under the namespace ("repo:tag" without the namespace), from
# the registry's catalog (paged: Distribution answers at most 1000 a page).
landed="$tmp/landed.txt"
if ! python3 - "$registry" "$namespace" >"$landed" 2>"$tmp/catalog.err" <<'PY'
import json, sys, urllib.parse, urllib.request
registry, namespace = sys.argv[1], sys.argv[2]
def get(path):
    with urllib.request.urlopen(f"http://{registry}{path}", timeout=60) as r:
        return json.load(r)
repos, last = [], ""
while True:
    page = get("/v2/_catalog?n=1000" + ("&last=" + urllib.parse.quote(last) if last else ""))
    names = page.get("repositories") or []
    repos += names
    if len(names) < 1000:
        break
    last = names[-1]
out = []
for repo in repos:
    if not repo.startswith(namespace + "/"):
        continue
    for tag in get(f"/v2/{repo}/tags/list").get("tags") or []:
        out.append(repo[len(namespace) + 1:] + ":" + tag)
print("\n".join(sorted(out)))
PY
then
  echo "cannot list the registry's catalog:" >&2
  cat "$tmp/catalog.err" >&2
  : >"$landed"
  failures=1
fi

verified=0
fail() { echo "FAIL  $*"; failures=$((failures + 1)); }
while read -r ref; do
  [ -n "$ref" ] || continue
  if ! grep -qxF "$ref" "$landed"; then
    fail "$ref: not in the registry"
  fi
done <"$expected"
while read -r ref; do
  [ -n "$ref" ] || continue
  src="docker://$registry/$namespace/$ref"
  if ! sk inspect --tls-verify=false "$src" >/dev/null 2>"$tmp/sk.err"; then
    fail "$ref: skopeo inspect: $(tail -n 1 "$tmp/sk.err")"
    continue
  fi
  raw="$(sk inspect --tls-verify=false --raw "$src" 2>"$tmp/sk.err")" || { fail "$ref: skopeo inspect --raw: $(tail -n 1 "$tmp/sk.err")"; continue; }
  # A manifest list / index: copy every platform image by digest.
  instances="$(printf '%s' "$raw" | python3 -c '
import json, sys
doc = json.load(sys.stdin)
if "manifests" in doc:
    print("\n".join(m["digest"] for m in doc["manifests"]))
')"
  targets=()
  if [ -n "$instances" ]; then
    repo="${ref%:*}"
    for digest in $instances; do targets+=("docker://$registry/$namespace/$repo@$digest"); done
  else
    targets=("$src")
  fi
  ok=1
  for target in "${targets[@]}"; do
    rm -rf "$tmp/copy"
    if ! sk copy --quiet --src-tls-verify=false "$target" "dir:$tmp/copy" 2>"$tmp/sk.err"; then
      fail "$ref: skopeo copy ${target#docker://}: $(tail -n 1 "$tmp/sk.err")"
      ok=0
      break
    fi
  done
  rm -rf "$tmp/copy"
  if [ "$ok" = 1 ]; then
    verified=$((verified + 1))
    echo "ok    $ref (${#targets[@]} image(s) copied, digests checked)"
  fi
done <"$landed"

echo
summary="exit status $rc, $verified of $(wc -l <"$landed") tag(s) verified, $(wc -l <"$expected") expected, ${injected:-0} fault(s) injected, ${elapsed}s"
if [ "$rc" = 0 ] && [ "$failures" = 0 ] && [ "$verified" -gt 0 ]; then
  [ "${injected:-0}" -gt 0 ] || echo "warning: no fault fired (a small archive, or a schedule too sparse)"
  echo "PASS: $summary"
  exit 0
fi
echo "FAIL: $summary ($failures failure(s))"
exit 1
