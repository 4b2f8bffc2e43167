#!/usr/bin/env bash
# Side-by-side benchmark: ppa-import vs the skopeo path (`tar xzf` +
# `skopeo copy docker-archive:... docker://...` per image). Prints every row
# of the benchmark table of bench/RESULTS.md in one run.
#
#   bench/run.sh [--corpus main|skopeo|all] [--scale N] [--rounds R] [--cache DIR]
#                [--ppa-import BIN] [--sign] [--save|--save-only] [-- EXTRA ppa-import FLAGS]
#
# --corpus main uses bench/make_corpus.sh's corpus at --scale N (default 1);
# --corpus skopeo the differently made one of bench/make_corpus_skopeo.sh;
# --corpus all (the default) both, one after the other.
#
# Per corpus, round and tool (the same order every round: ppa-import from the
# file, ppa-import from a pipe, the skopeo path), a fresh Debian
# docker-registry on loopback with an empty storage folder:
#  - ppa:    a cold import (skopeo's blob cache /var/lib/containers/cache and
#            ppa-import's caches removed first), then a warm one (the same
#            import again, into the same registry, caches kept);
#  - pipe:   a cold import of `cat ARCHIVE | ppa-import load - ...` (only when
#            the binary reads an archive from standard input; probed first);
#  - skopeo: cold, then warm, as for ppa;
#  - signed: with --sign only, a cold import of the file that also signs
#            every image both ways (--sign-by with a key of a private
#            GnuPG home, --sign-key with a P-256 key, into a lookaside in the
#            cache folder): the signing row is its time over ppa's cold one;
#  - save:   with --save only, the other direction: the corpus is loaded
#            once (untimed) into the registry, then `ppa-import save` writes
#            one archive of its images and, side by side, `skopeo copy --all
#            docker://... oci-archive:...` writes one archive per image
#            (the rows "save" and "save bytes": time and output bytes);
#            --save-only runs these rows alone.
# Each run is timed by /usr/bin/time -v (wall time, peak RSS of the largest
# process). While it runs, the allocated bytes of its work directory tree
# (du --block-size=1) are sampled every 0.2 s. After the warm run, the bytes
# the registry stores (du -sb of its storage). Prints the medians, the ratios
# and each round's ratios; the raw rows stay in DIR/runs-*/results.txt.
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
scale=1
corpus_kind=all
rounds=2
cache=/tmp/ppa-bench
ppa_import="$here/../build-perf/importer/ppa-import"
extra=()
sign=0
save=0
save_only=0
usage="usage: $0 [--corpus main|skopeo|all] [--scale N] [--rounds R] [--cache DIR] [--ppa-import BIN] [--sign] [--save|--save-only] [-- FLAGS]"
while [ $# -gt 0 ]; do
  case "$1" in
    --scale) scale="$2"; shift 2 ;;
    --corpus) corpus_kind="$2"; shift 2 ;;
    --rounds) rounds="$2"; shift 2 ;;
    --cache) cache="$2"; shift 2 ;;
    --ppa-import) ppa_import="$2"; shift 2 ;;
    --sign) sign=1; shift ;;
    --save) save=1; shift ;;
    --save-only) save=1; save_only=1; shift ;;
    --) shift; extra=("$@"); break ;;
    *) echo "$usage" >&2; exit 2 ;;
  esac
done
case "$corpus_kind" in
  main) kinds=(main) ;;
  skopeo) kinds=(skopeo) ;;
  all) kinds=(main skopeo) ;;
  *) echo "unknown corpus '$corpus_kind' (main, skopeo, all)" >&2; exit 2 ;;
esac
ppa_import="$(readlink -f "$ppa_import")"
[ -x "$ppa_import" ] || { echo "no ppa-import binary at $ppa_import (build build-perf first)" >&2; exit 2; }
mkdir -p "$cache"

source "$here/../scripts/registry.sh"
sampler_pid=""
cleanup() {
  [ -n "$sampler_pid" ] && kill "$sampler_pid" 2>/dev/null
  ppa_registry_stop >/dev/null 2>&1 || true
}
trap cleanup EXIT

# Does this binary read an archive from standard input (`load -`)? A dry run
# of the demo sample through a pipe tells.
probe_stdin() {
  local gen="${PPA_MAKE_SAMPLE:-$(dirname "$ppa_import")/../samples/ppa-make-sample}"
  local sample="$cache/probe-sample.tgz"
  [ -s "$sample" ] || "$gen" sample "$sample" >/dev/null 2>&1 || return 1
  cat "$sample" | "$ppa_import" load - --namespace bench --dry-run \
    --workdir "$cache/probe-work" -q >/dev/null 2>&1
  local rc=$?
  rm -rf "$cache/probe-work"
  return $rc
}
if probe_stdin; then stdin_ok=1; else stdin_ok=0; fi

# Each tool is a function run under /usr/bin/time -v: tool_<name> HOST WORKDIR.
tool_ppa() {
  local host="$1" work="$2"
  "$ppa_import" load "$corpus" --namespace bench --registry "$host" --plain-http \
    --workdir "$work" -q "${extra[@]}"
}
tool_pipe() {
  local host="$1" work="$2"
  cat "$corpus" | "$ppa_import" load - --namespace bench --registry "$host" --plain-http \
    --workdir "$work" -q "${extra[@]}"
}
tool_signed() {
  local host="$1" work="$2"
  rm -rf "$sign_dir/sigstore"
  "$ppa_import" load "$corpus" --namespace bench --registry "$host" --plain-http \
    --workdir "$work" -q --sign-by "$sign_fpr" --sign-key "$sign_dir/cosign.key" \
    --registries.d "$sign_dir/registries.d" "${extra[@]}"
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
# --save: both write the images of the corpus, loaded into HOST, as archives
# in WORKDIR (their bytes are counted before it is removed: save_bytes).
tool_save_ppa() {
  local host="$1" work="$2" refs=()
  while read -r tarball ref transport; do refs+=("$host/bench/$ref"); done <"$images"
  "$ppa_import" save --plain-http -q -o "$work/saved.tgz" "${refs[@]}" || return 1
  du -sb "$work" | cut -f1 >"$work/../save_ppa.bytes"
}
tool_save_skopeo() {
  local host="$1" work="$2" n=0
  while read -r tarball ref transport; do
    n=$((n + 1))
    skopeo copy -q --all --src-tls-verify=false "docker://$host/bench/$ref" \
      "oci-archive:$work/image-$n.tar" >/dev/null || return 1
  done <"$images"
  du -sb "$work" | cut -f1 >"$work/../save_skopeo.bytes"
}
# --sign: the keys, made once in the cache folder (unprotected: the bench
# measures signing, not typing).
sign_dir="$cache/sign"
sign_fpr=""
if [ "$sign" = 1 ]; then
  export GNUPGHOME="$sign_dir/gnupg"
  mkdir -p "$GNUPGHOME" "$sign_dir/registries.d" && chmod 700 "$GNUPGHOME"
  if ! gpg --batch --list-secret-keys bench@example.com >/dev/null 2>&1; then
    gpg --batch --pinentry-mode loopback --passphrase '' \
      --quick-gen-key "Bench <bench@example.com>" ed25519 sign never >/dev/null 2>&1
  fi
  sign_fpr="$(gpg --batch --with-colons --list-secret-keys bench@example.com | awk -F: '/^fpr/ {print $10; exit}')"
  [ -s "$sign_dir/cosign.key" ] ||
    openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$sign_dir/cosign.key"
  printf 'default-docker:\n  lookaside-staging: file://%s/sigstore\n' "$sign_dir" \
    >"$sign_dir/registries.d/bench.yaml"
fi
export ppa_import sign_dir sign_fpr
export extra_flags="${extra[*]:-}"

# timed CORPUS NAME PHASE HOST: runs the tool; appends
# "corpus name phase seconds rss_kib peak_workdir_bytes" to $results.
timed() {
  local kind="$1" name="$2" phase="$3" host="$4" work="$runs/work-$2"
  rm -rf "$work"
  mkdir -p "$work"
  sync
  # This machine's page cache drops parts of the corpus between runs (even
  # with most memory free): read it again, untimed, so that no run of either
  # tool pays for the disk alone.
  cat "$corpus" >/dev/null
  # The work directory's allocated bytes, every 0.2 s, until killed.
  local samples="$runs/$name-$phase.du"
  : >"$samples"
  ( while :; do du -s --block-size=1 "$work" 2>/dev/null | cut -f1 >>"$samples"; sleep 0.2; done ) &
  sampler_pid=$!
  local rc=0
  corpus="$corpus" images="$images" /usr/bin/time -v -o "$runs/time.txt" \
    bash -c "$(declare -f tool_$name); extra=(\$extra_flags); tool_$name $host $work" \
    >"$runs/$name-$phase.out" 2>&1 || rc=$?
  kill "$sampler_pid" 2>/dev/null || true
  wait "$sampler_pid" 2>/dev/null || true
  sampler_pid=""
  if [ "$rc" -ne 0 ]; then
    echo "$name $phase failed (exit $rc):" >&2
    tail -20 "$runs/$name-$phase.out" >&2
    exit 1
  fi
  local wall rss peak
  wall=$(awk -F': ' '/Elapsed \(wall clock\)/ {n = split($2, t, ":"); s = 0; for (i = 1; i <= n; i++) s = s * 60 + t[i]; print s}' "$runs/time.txt")
  rss=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$runs/time.txt")
  peak=$(sort -n "$samples" | tail -1)
  rm -rf "$work"
  echo "$kind $name $phase $wall $rss ${peak:-0}" | tee -a "$results"
}

# fresh_caches: what a cold run must not find.
fresh_caches() {
  rm -rf /var/lib/containers/cache "${XDG_CACHE_HOME:-$HOME/.cache}/ppa-import"
}

all_results="$cache/results-all.txt"
: >"$all_results"
sizes=()
for kind in "${kinds[@]}"; do
  case "$kind" in
    main)
      corpus="$("$here/make_corpus.sh" --scale "$scale" --cache "$cache" | tail -1)"
      images="$cache/corpus-$scale.images"
      runs="$cache/runs-$scale" ;;
    skopeo)
      corpus="$("$here/make_corpus_skopeo.sh" --cache "$cache" | tail -1)"
      images="$cache/corpus-skopeo.images"
      runs="$cache/runs-skopeo" ;;
  esac
  rm -rf "$runs" && mkdir -p "$runs"
  results="$runs/results.txt"
  : >"$results"
  sizes+=("$kind=$(stat -c %s "$corpus")")
  for round in $(seq 1 "$rounds"); do
    for name in ppa pipe skopeo signed; do
      [ "$save_only" = 1 ] && continue
      [ "$name" = pipe ] && [ "$stdin_ok" = 0 ] && continue
      [ "$name" = signed ] && [ "$sign" = 0 ] && continue
      ppa_registry_start
      fresh_caches
      timed "$kind" "$name" cold "$PPA_REGISTRY_HOST"
      if [ "$name" != pipe ] && [ "$name" != signed ]; then
        timed "$kind" "$name" warm "$PPA_REGISTRY_HOST"
        echo "$kind $name bytes $(du -sb "$PPA_REGISTRY_DIR/data" | cut -f1) 0 0" | tee -a "$results"
      fi
      ppa_registry_stop
    done
    if [ "$save" = 1 ]; then
      ppa_registry_start
      "$ppa_import" load "$corpus" --namespace bench --registry "$PPA_REGISTRY_HOST" \
        --plain-http --workdir "$runs/work-seed" -q >/dev/null
      for name in save_ppa save_skopeo; do
        fresh_caches
        timed "$kind" "$name" cold "$PPA_REGISTRY_HOST"
        echo "$kind $name bytes $(cat "$runs/$name.bytes") 0 0" | tee -a "$results"
      done
      ppa_registry_stop
    fi
  done
  cat "$results" >>"$all_results"
done

python3 - "$all_results" "$scale" "$rounds" "$stdin_ok" "$ppa_import" "${sizes[@]}" <<'PY'
import statistics, sys
path, scale, rounds, stdin_ok, binary = sys.argv[1:6]
size = {k: int(v) for k, v in (a.split("=") for a in sys.argv[6:])}
rows = [l.split() for l in open(path) if l.strip()]
MiB = 2**20
def vals(kind, tool, phase, col):
    return [float(r[col]) for r in rows if r[0] == kind and r[1] == tool and r[2] == phase]
def med(kind, tool, phase, col=3):
    v = vals(kind, tool, phase, col)
    return statistics.median(v) if v else float("nan")
def peak(kind, tool, col):
    v = [float(r[col]) for r in rows if r[0] == kind and r[1] == tool and r[2] in ("cold", "warm")]
    return max(v) if v else float("nan")
label = {"main": f"main corpus, scale {scale}", "skopeo": "skopeo corpus"}
print(f"ppa-import: {binary}; {rounds} round(s) per corpus")
for k in size:
    print(f"{label[k]}: {size[k] / MiB:.0f} MiB archive")
out = []
def row(measure, a, b, result, goal, met):
    if "nan" in a + b:  # a row of runs this invocation skipped (--save-only)
        return
    out.append((measure, a, b, result, goal, "yes" if met else "no"))
for k in size:
    a, b = med(k, "ppa", "cold"), med(k, "skopeo", "cold")
    row(f"cold ({label[k]})", f"{a:.2f} s", f"{b:.2f} s", f"{b / a:.2f}x faster", ">= 4x", b / a >= 4)
for k in size:
    a, b = med(k, "ppa", "warm"), med(k, "skopeo", "warm")
    row(f"warm re-import ({label[k]})", f"{a:.2f} s", f"{b:.2f} s", f"{b / a:.2f}x faster", ">= 10x", b / a >= 10)
for k in size:
    # ppa-import's peak over its runs from the file and from the pipe.
    a = max([peak(k, "ppa", 5)] + vals(k, "pipe", "cold", 5))
    b = peak(k, "skopeo", 5)
    row(f"peak work dir ({label[k]})", f"{a / MiB:.0f} MiB", f"{b / MiB:.0f} MiB",
        f"{a / size[k]:.3f}x the archive", "<= 0.25x", a / size[k] <= 0.25)
for k in size:
    a = max([peak(k, "ppa", 4)] + vals(k, "pipe", "cold", 4)) / 1024
    b = peak(k, "skopeo", 4) / 1024
    row(f"peak RSS ({label[k]})", f"{a:.0f} MiB", f"{b:.0f} MiB", f"{a:.0f} MiB", "<= 256 MiB", a <= 256)
for k in size:
    a, b = med(k, "ppa", "bytes"), med(k, "skopeo", "bytes")
    row(f"bytes stored ({label[k]})", f"{a / MiB:.0f} MiB", f"{b / MiB:.0f} MiB",
        f"{a / b:.3f}x skopeo's", "<= 1.1x", a / b <= 1.1)
for k in size:
    s, f = vals(k, "signed", "cold", 3), vals(k, "ppa", "cold", 3)
    if s:
        s, f = statistics.median(s), statistics.median(f)
        row(f"cold with signing ({label[k]})", f"{s:.2f} s", f"unsigned {f:.2f} s",
            f"{s / f:.3f}x the unsigned time", "<= 1.05x", s / f <= 1.05)
for k in size:
    a, b = vals(k, "save_ppa", "cold", 3), vals(k, "save_skopeo", "cold", 3)
    if a and b:
        a, b = statistics.median(a), statistics.median(b)
        row(f"save ({label[k]})", f"{a:.2f} s", f"{b:.2f} s", f"{b / a:.2f}x faster", ">= 2x",
            b / a >= 2)
        a, b = med(k, "save_ppa", "bytes"), med(k, "save_skopeo", "bytes")
        row(f"save bytes ({label[k]})", f"{a / MiB:.0f} MiB", f"{b / MiB:.0f} MiB",
            f"{a / b:.3f}x skopeo's", "<= 1.01x", a / b <= 1.01)
for k in size:
    if stdin_ok != "1":
        out.append((f"`load -` from a pipe ({label[k]})", "-", "-",
                    "not supported by this binary", "same as file", "-"))
        continue
    p, f = med(k, "pipe", "cold"), med(k, "ppa", "cold")
    row(f"`load -` from a pipe ({label[k]})", f"{p:.2f} s", f"file {f:.2f} s",
        f"{p / f:.2f}x the file's time", "same as file", p / f <= 1.10)
head = ("measure", "ppa-import", "skopeo path", "result", "goal", "met")
w = [max(len(str(r[i])) for r in out + [head]) for i in range(6)]
fmt = lambda r: "| " + " | ".join(str(c).ljust(w[i]) for i, c in enumerate(r)) + " |"
print(fmt(head))
print("|" + "|".join("-" * (n + 2) for n in w) + "|")
for r in out:
    print(fmt(r))
# The spread: each round's ratio, in order.
def per_round(k, phase):
    a, b = vals(k, "ppa", phase, 3), vals(k, "skopeo", phase, 3)
    return " ".join(f"{y / x:.2f}x" for x, y in zip(a, b))
for k in size:
    if not vals(k, "ppa", "cold", 3):
        continue
    line = f"each round, {label[k]}: cold {per_round(k, 'cold')}; warm {per_round(k, 'warm')}"
    if stdin_ok == "1":
        p, f = vals(k, "pipe", "cold", 3), vals(k, "ppa", "cold", 3)
        line += "; pipe/file " + " ".join(f"{x / y:.2f}x" for x, y in zip(p, f))
    print(line)
PY
