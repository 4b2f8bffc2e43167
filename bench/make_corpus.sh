#!/usr/bin/env bash
# Builds the benchmark PPA archive from real files under /usr, so layers
# compress like those of real images.
#
#   bench/make_corpus.sh --scale N [--cache DIR]
#
# Writes DIR/corpus-N.tgz (DIR defaults to /tmp/ppa-bench) and
# DIR/corpus-N.images (one "tarball-path repository:tag" line per image, for
# the skopeo path). Reuses an existing corpus of the same scale.
#
# Contents at scale N: 6*N image tarballs (legacy `docker save` layout,
# uncompressed inside the gzip-compressed outer archive); every image has the
# shared base layer (~100 MB) and two layers of its own (~170 MB + ~90 MB);
# two of the tarballs are the amd64 and ppc64le images of one multi-arch
# image; the two charts of the bundled demo sample. About 1.6 GiB of distinct
# layers at scale 1.
#
# Layers are GNU tar archives with sorted names, fixed mtime and owner, of a
# fixed list of files (regular files under /usr/lib and /usr/share, taken in
# order, wrapping around), each layer under its own top directory.
set -euo pipefail

scale=1
cache=/tmp/ppa-bench
while [ $# -gt 0 ]; do
  case "$1" in
    --scale) scale="$2"; shift 2 ;;
    --cache) cache="$2"; shift 2 ;;
    *) echo "usage: $0 --scale N [--cache DIR]" >&2; exit 2 ;;
  esac
done
here="$(cd "$(dirname "$0")" && pwd)"
out="$cache/corpus-$scale.tgz"
list="$cache/corpus-$scale.images"
if [ -s "$out" ] && [ -s "$list" ]; then
  echo "$out"
  exit 0
fi
mkdir -p "$cache"

# The file list is made once and kept, so every scale draws from the same files.
files="$cache/usr-files.txt"
if [ ! -s "$files" ]; then
  (cd / && find usr/lib usr/share -xdev -type f -size -32M -readable -printf '%s\t%p\n' 2>/dev/null) |
    LC_ALL=C sort -t$'\t' -k2 >"$files"
fi
total_files=$(wc -l <"$files")
cursor=0

stage="$(mktemp -d "$cache/stage.XXXXXX")"
trap 'rm -rf "$stage"' EXIT

# make_layer NAME BYTES -> $stage/layers/NAME.tar from the next files of the list.
make_layer() {
  local name="$1" want="$2" sel="$stage/sel.txt"
  cursor=$(awk -F'\t' -v start="$cursor" -v want="$want" -v n="$total_files" -v sel="$sel" '
    { size[NR-1] = $1; path[NR-1] = $2 }
    END {
      got = 0; i = start
      while (got < want) { print path[i] > sel; got += size[i]; i = (i + 1) % n }
      print i
    }' "$files")
  mkdir -p "$stage/layers"
  tar -C / --sort=name --mtime=@1704067200 --owner=0 --group=0 --numeric-owner \
    --format=gnu --no-recursion --verbatim-files-from --transform "s,^,$name/," -T "$sel" \
    -cf "$stage/layers/$name.tar"
}

# make_image TARBALL REPO:TAG ARCH LAYER... -> legacy docker save tarball.
make_image() {
  local tarball="$1" ref="$2" arch="$3"; shift 3
  local dir="$stage/img" diff_ids=() layers=() l hex
  rm -rf "$dir" && mkdir -p "$dir"
  for l in "$@"; do
    hex=$(sha256sum "$stage/layers/$l.tar" | cut -d' ' -f1)
    mkdir -p "$dir/$hex"
    ln "$stage/layers/$l.tar" "$dir/$hex/layer.tar"
    diff_ids+=("\"sha256:$hex\"")
    layers+=("\"$hex/layer.tar\"")
  done
  local ids layer_list config cfg_hex
  ids=$(IFS=,; echo "${diff_ids[*]}")
  layer_list=$(IFS=,; echo "${layers[*]}")
  config="{\"architecture\":\"$arch\",\"config\":{\"Cmd\":[\"/bin/sh\"]},\"created\":\"2024-01-01T00:00:00Z\",\"os\":\"linux\",\"rootfs\":{\"diff_ids\":[$ids],\"type\":\"layers\"}}"
  cfg_hex=$(printf '%s' "$config" | sha256sum | cut -d' ' -f1)
  printf '%s' "$config" >"$dir/$cfg_hex.json"
  printf '[{"Config":"%s.json","RepoTags":["%s"],"Layers":[%s]}]' "$cfg_hex" "$ref" "$layer_list" \
    >"$dir/manifest.json"
  mkdir -p "$stage/ppa/images"
  tar -C "$dir" --sort=name --mtime=@1704067200 --owner=0 --group=0 --numeric-owner \
    --hard-dereference -cf "$stage/ppa/images/$tarball" .
  echo "images/$tarball $ref" >>"$stage/images.txt"
}

make_layer base $((100 << 20))
: >"$stage/images.txt"
yaml="$stage/manifest.yaml"
{
  echo "# PPA archive manifest (bench corpus, scale $scale)"
  echo "charts:"
  echo "  - archive: charts/ibm-portal-prod-1.0.0.tgz"
  echo "    repository-keys:"
  echo "      - image.repository"
  echo "images:"
} >"$yaml"
singles=$((6 * scale - 2))
for i in $(seq 1 "$singles"); do
  make_layer "app$i-a" $((170 << 20))
  make_layer "app$i-b" $((90 << 20))
  make_image "app$i-1.0.0.tar" "ibmcom/app$i:1.0.0-amd64" amd64 base "app$i-a" "app$i-b"
  rm -f "$stage/layers/app$i-a.tar" "$stage/layers/app$i-b.tar"
  cat >>"$yaml" <<YAML
  - image: ibmcom/app$i:1.0.0
    references:
      - repository: ibmcom/app$i:1.0.0-amd64
        platform:
          os: linux
          architecture: amd64
        archive: images/app$i-1.0.0.tar
YAML
done
echo "  - image: ibmcom/platform:1.0.0" >>"$yaml"
echo "    references:" >>"$yaml"
for arch in amd64 ppc64le; do
  make_layer "platform-$arch-a" $((170 << 20))
  make_layer "platform-$arch-b" $((90 << 20))
  make_image "platform-1.0.0-$arch.tar" "ibmcom/platform:1.0.0-$arch" "$arch" base \
    "platform-$arch-a" "platform-$arch-b"
  rm -f "$stage/layers/platform-$arch-a.tar" "$stage/layers/platform-$arch-b.tar"
  cat >>"$yaml" <<YAML
      - repository: ibmcom/platform:1.0.0-$arch
        platform:
          os: linux
          architecture: $arch
        archive: images/platform-1.0.0-$arch.tar
YAML
done
cp "$yaml" "$stage/ppa/manifest.yaml"

# Charts: those of the bundled demo sample.
gen="${PPA_MAKE_SAMPLE:-$here/../build-perf/samples/ppa-make-sample}"
"$gen" sample "$stage/demo.tgz"
mkdir -p "$stage/demo"
tar -C "$stage/demo" -xzf "$stage/demo.tgz" charts
mkdir -p "$stage/ppa/charts"
cp "$stage/demo/charts/ibm-portal-prod-1.0.0.tgz" "$stage/ppa/charts/"

tar -C "$stage/ppa" --sort=name --mtime=@1704067200 --owner=0 --group=0 --numeric-owner \
  -cf - manifest.yaml charts images | pigz -6 -n >"$out.tmp"
mv "$out.tmp" "$out"
mv "$stage/images.txt" "$list"
echo "$out"
