#!/usr/bin/env bash
# Builds a second benchmark corpus, made differently from make_corpus.sh, to
# check that the speed-up is not an artefact of our own generator:
#
#   bench/make_corpus_skopeo.sh [--cache DIR]
#
# Writes DIR/corpus-skopeo.tgz and DIR/corpus-skopeo.images (DIR defaults to
# /tmp/ppa-bench; the corpus never goes into the repository). Use it with
#   bench/run.sh --corpus skopeo
#
# Differences from the main corpus:
#  - other content: whole /usr trees (headers, Python, LLVM, GCC, binaries,
#    docs and locales) instead of a file list from /usr/lib and /usr/share;
#  - images assembled as skopeo `dir:` images and written by skopeo itself:
#    two as `docker-archive` (uncompressed layers, skopeo's layout) and two as
#    `oci-archive` with gzip layers compressed by skopeo (ppa-import pushes
#    those as they are);
#  - the older manifest.json dialect instead of manifest.yaml;
#  - the outer archive compressed by single-threaded `gzip -6`, not pigz.
# About 1.8 GB of distinct layers; one ~240 MB base layer shared by all.
set -euo pipefail
cache=/tmp/ppa-bench
while [ $# -gt 0 ]; do
  case "$1" in
    --cache) cache="$2"; shift 2 ;;
    *) echo "usage: $0 [--cache DIR]" >&2; exit 2 ;;
  esac
done
out="$cache/corpus-skopeo.tgz"
list="$cache/corpus-skopeo.images"
if [ -s "$out" ] && [ -s "$list" ]; then
  echo "$out"
  exit 0
fi
command -v skopeo >/dev/null || { echo "skopeo is needed (scripts/setup.sh installs it)" >&2; exit 1; }
mkdir -p "$cache"
work="$(mktemp -d "$cache/skopeo-corpus.XXXXXX")"
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/layers" "$work/tree/images" "$work/tree/charts"

# layer NAME PATH...: a reproducible GNU tar of the given /usr trees.
layer() {
  local name="$1"; shift
  tar --sort=name --mtime=@1704067200 --owner=0 --group=0 --numeric-owner \
    -C / -cf "$work/layers/$name.tar" "$@" 2>/dev/null || true
  [ -s "$work/layers/$name.tar" ] || { echo "layer $name is empty" >&2; exit 1; }
}
layer base usr/include usr/lib/python3 usr/lib/python3.11
layer llvm usr/lib/llvm-14
layer gcc usr/lib/gcc usr/libexec
layer bin usr/bin
layer docs usr/share/doc usr/share/locale usr/share/man

hex() { sha256sum "$1" | cut -d' ' -f1; }

# image NAME ARCH LAYER...: a skopeo dir: image with an OCI manifest and
# uncompressed layers in $work/dir-NAME.
image() {
  local name="$1" arch="$2"; shift 2
  local dir="$work/dir-$name" diff_ids="" layers="" h size
  mkdir -p "$dir"
  printf 'Directory Transport Version: 1.1\n' >"$dir/version"
  for l in "$@"; do
    h=$(hex "$work/layers/$l.tar")
    size=$(stat -c %s "$work/layers/$l.tar")
    ln -f "$work/layers/$l.tar" "$dir/$h"
    diff_ids="$diff_ids${diff_ids:+,}\"sha256:$h\""
    layers="$layers${layers:+,}{\"mediaType\":\"application/vnd.oci.image.layer.v1.tar\",\"digest\":\"sha256:$h\",\"size\":$size}"
  done
  printf '{"architecture":"%s","os":"linux","created":"2024-01-01T00:00:00Z","config":{"Cmd":["/bin/sh"]},"rootfs":{"type":"layers","diff_ids":[%s]}}' \
    "$arch" "$diff_ids" >"$work/config.json"
  h=$(hex "$work/config.json")
  size=$(stat -c %s "$work/config.json")
  mv "$work/config.json" "$dir/$h"
  printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:%s","size":%s},"layers":[%s]}' \
    "$h" "$size" "$layers" >"$dir/manifest.json"
}

: >"$list.tmp"
entries=""
# emit NAME TAG TRANSPORT: skopeo writes images/NAME.tar from dir-NAME.
emit() {
  local name="$1" tag="$2" transport="$3" flags=()
  [ "$transport" = oci-archive ] && flags=(--dest-compress --dest-compress-format gzip)
  skopeo copy -q "${flags[@]}" "dir:$work/dir-$name" \
    "$transport:$work/tree/images/$name.tar:ibmcom/$name:$tag" >/dev/null
  echo "images/$name.tar ibmcom/$name:$tag $transport" >>"$list.tmp"
  entries="$entries${entries:+,}{\"image\":\"ibmcom/$name\",\"tag\":\"$tag\",\"archive\":\"images/$name.tar\"}"
}
image compiler amd64 base llvm
image toolchain amd64 base gcc
image tools amd64 base bin
image docs amd64 base docs
emit compiler 2.0.0-amd64 docker-archive
emit toolchain 2.0.0-amd64 docker-archive
emit tools 2.0.0-amd64 oci-archive
emit docs 2.0.0-amd64 oci-archive
rm -rf "$work"/dir-* "$work/layers"

# A chart beside the images, taken from the main corpus's generator.
here="$(cd "$(dirname "$0")" && pwd)"
main_corpus="$("$here/make_corpus.sh" --scale 1 --cache "$cache" | tail -1)"
tar -xzf "$main_corpus" -C "$work/tree" charts
chart="$(cd "$work/tree" && ls charts/*.tgz | head -1)"
printf '{"manifest-revision":"1.0","images":[%s],"charts":[{"archive":"%s","images":[]}]}\n' \
  "$entries" "$chart" >"$work/tree/manifest.json"

tar --sort=name --mtime=@1704067200 --owner=0 --group=0 --numeric-owner -C "$work/tree" \
  -cf - manifest.json images charts | gzip -6 >"$out.tmp"
mv "$out.tmp" "$out"
mv "$list.tmp" "$list"
echo "$out"
