#!/usr/bin/env bash
# Side-by-side benchmark: ppa-import vs the skopeo path (`tar xzf` +
# `skopeo copy docker-archive:... docker://...` per image).
#
#   bench/run.sh [--scale N | --corpus skopeo] [--rounds R] [--cache DIR] [--ppa-import BIN]
#                [-- EXTRA ppa-import FLAGS]
#
# --scale N uses bench/make_corpus.sh's corpus (default 1); --corpus skopeo
# the differently made one of bench/make_corpus_skopeo.sh.
#
# Per round and tool (alternating A B A B): a fresh Debian docker-registry on
# loopback with an empty storage folder; a cold import (skopeo's blob cache
# /var/lib/containers/cache and ppa-import's blob cache removed first), then
# a warm one (the same import again, into the same registry, caches kept).
# Each run is timed by /usr/bin/time -v (wall time, peak RSS). Prints the
# medians, bytes stored by the registry (du of its storage) and the ratios.
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
scale=1
corpus_kind=main
rounds=2
cache=/tmp/ppa-bench
ppa_import="$here/../build-perf/importer/ppa-import"
extra=()
while [ $# -gt 0 ]; do
  case "$1" in
    --scale) scale="$2"; shift 2 ;;
    --corpus) corpus_kind="$2"; shift 2 ;;
    --rounds) rounds="$2"; shift 2 ;;
    --cache) cache="$2"; shift 2 ;;
    --ppa-import) ppa_import="$2"; shift 2 ;;
    --) shift; extra=("$@"); break ;;
    *) echo "usage: $0 [--scale N | --corpus skopeo] [--rounds R] [--cache DIR] [--ppa-import BIN] [-- FLAGS]" >&2; exit 2 ;;
  esac
done
ppa_import="$(readlink -f "$ppa_import")"
case "$corpus_kind" in
  main)
    corpus="$("$here/make_corpus.sh" --scale "$scale" --cache "$cache" | tail -1)"
    images="$cache/corpus-$scale.images"
    runs="$cache/runs-$scale" ;;
  skopeo)
    corpus="$("$here/make_corpus_skopeo.sh" --cache "$cache" | tail -1)"
    images="$cache/corpus-skopeo.images"
    scale=skopeo
    runs="$cache/runs-skopeo" ;;
  *) echo "unknown corpus '$corpus_kind' (main, skopeo)" >&2; exit 2 ;;
esac
rm -rf "$runs" && mkdir -p "$runs"
results="$runs/results.txt"
: >"$results"

source "$here/../scripts/registry.sh"
trap 'ppa_registry_stop >/dev/null 2>&1 || true' EXIT

# Each tool is a function run under /usr/bin/time -v: tool_<name> HOST WORKDIR.
tool_ppa() {
  local host="$1" work="$2"
  "$ppa_import" load "$corpus" --namespace bench --registry "$host" --plain-http \
    --workdir "$work" -q "${extra[@]}"
}
tool_skopeo() {
  local host="$1" work="$2"
  mkdir -p "$work"
  tar -C "$work" -xzf "$corpus"
  while read -r tarball ref transport; do
    skopeo copy -q --dest-tls-verify=false "${transport:-docker-archive}:$work/$tarball" \
      "docker://$host/bench/$ref" >/dev/null
  done <"$images"
}
export -f tool_ppa tool_skopeo
export corpus images ppa_import
export extra_flags="${extra[*]:-}"

# timed NAME PHASE HOST: runs the tool, appends "name phase seconds rss_kib".
timed() {
  local name="$1" phase="$2" host="$3" work="$runs/work-$name"
  rm -rf "$work"
  sync
  # This machine's page cache drops parts of the corpus between runs (even
  # with most memory free): read it again, untimed, so that no run of either
  # tool pays for the disk alone.
  cat "$corpus" >/dev/null
  /usr/bin/time -v -o "$runs/time.txt" bash -c "$(declare -f tool_$name); extra=(\$extra_flags); tool_$name $host $work" \
    >"$runs/$name-$phase.out" 2>&1 || { echo "$name $phase failed:" >&2; tail -20 "$runs/$name-$phase.out" >&2; exit 1; }
  local wall rss
  wall=$(awk -F': ' '/Elapsed \(wall clock\)/ {n = split($2, t, ":"); s = 0; for (i = 1; i <= n; i++) s = s * 60 + t[i]; print s}' "$runs/time.txt")
  rss=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$runs/time.txt")
  rm -rf "$work"
  echo "$name $phase $wall $rss" | tee -a "$results"
}

for round in $(seq 1 "$rounds"); do
  for name in ppa skopeo; do
    ppa_registry_start
    rm -rf /var/lib/containers/cache "${XDG_CACHE_HOME:-$HOME/.cache}/ppa-import"
    timed "$name" cold "$PPA_REGISTRY_HOST"
    timed "$name" warm "$PPA_REGISTRY_HOST"
    echo "$name bytes $(du -sb "$PPA_REGISTRY_DIR/data" | cut -f1) 0" | tee -a "$results"
    ppa_registry_stop
  done
done

python3 - "$results" "$corpus" "$scale" <<'PY'
import os, statistics, sys
rows = [l.split() for l in open(sys.argv[1]) if l.strip()]
def med(tool, phase, col):
    v = [float(r[col]) for r in rows if r[0] == tool and r[1] == phase]
    return statistics.median(v) if v else float("nan")
def peak(tool):
    return max(int(r[3]) for r in rows if r[0] == tool and r[1] in ("cold", "warm"))
t = {}
for tool in ("ppa", "skopeo"):
    t[tool] = dict(cold=med(tool, "cold", 2), warm=med(tool, "warm", 2),
                   bytes=med(tool, "bytes", 2), rss=peak(tool) / 1024)
print(f"corpus: {sys.argv[2]} ({os.path.getsize(sys.argv[2]) / 2**20:.0f} MiB), scale {sys.argv[3]}, "
      f"{sum(1 for r in rows if r[0] == 'ppa' and r[1] == 'cold')} round(s)")
print(f"| {'':22} | {'ppa-import':>12} | {'skopeo path':>12} | {'ratio':>26} |")
print(f"|{'-'*24}|{'-'*14}|{'-'*14}|{'-'*28}|")
def line(label, key, fmt, speedup):
    a, b = t["ppa"][key], t["skopeo"][key]
    ratio = f"{b / a:.2f}x faster" if speedup else f"{a / b:.3f}x skopeo's"
    print(f"| {label:22} | {fmt(a):>12} | {fmt(b):>12} | {ratio:>26} |")
line("cold wall (median, s)", "cold", lambda v: f"{v:.2f}", True)
line("warm wall (median, s)", "warm", lambda v: f"{v:.2f}", True)
line("bytes stored (MiB)", "bytes", lambda v: f"{v / 2**20:.0f}", False)
line("peak RSS (MiB)", "rss", lambda v: f"{v:.0f}", False)
# The spread: the skopeo path / ppa-import ratio of each round, in order.
def per_round(phase):
    a = [float(r[2]) for r in rows if r[0] == "ppa" and r[1] == phase]
    b = [float(r[2]) for r in rows if r[0] == "skopeo" and r[1] == phase]
    return " ".join(f"{y / x:.2f}x" for x, y in zip(a, b))
print(f"each round: cold {per_round('cold')}; warm {per_round('warm')}")
PY
