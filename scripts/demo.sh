#!/usr/bin/env bash
# The main job in one command, on a fresh Debian 12 machine: installs what is
# missing, builds (Release) into build/, starts a throwaway local registry,
# imports the bundled sample PPA archive with `ppa-import load`, shows what
# landed, and stops the registry.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/setup.sh"
source "$PPA_ROOT/scripts/registry.sh"

ppa_install_packages
ppa_build Release

sample_dir="$PPA_ROOT/samples/out"
mkdir -p "$sample_dir"
sample="$sample_dir/ppa-sample.tgz"
"$PPA_BUILD_DIR/samples/ppa-make-sample" sample "$sample"
echo "Sample archive: $sample ($(stat -c %s "$sample") bytes)"

trap ppa_registry_stop EXIT
ppa_registry_start
echo "Registry: $PPA_REGISTRY_HOST (storage $PPA_REGISTRY_DIR)"
echo

cd "$sample_dir"
rc=0
"$PPA_BUILD_DIR/importer/ppa-import" load --archive "$sample" --namespace demo_ns \
  --registry "$PPA_REGISTRY_HOST" --plain-http || rc=$?

echo
echo "What landed (read back with skopeo):"
for repo in $(curl -fsS "http://$PPA_REGISTRY_HOST/v2/_catalog" | sed 's/.*\[//; s/\].*//; s/"//g; s/,/ /g'); do
  for tag in $(skopeo list-tags --tls-verify=false "docker://$PPA_REGISTRY_HOST/$repo" |
               sed -n 's/^ *"\([^"]*\)",\{0,1\}$/\1/p'); do
    digest=$(skopeo inspect --tls-verify=false --format '{{.Digest}}' "docker://$PPA_REGISTRY_HOST/$repo:$tag")
    printf '  %-45s %s\n' "$repo:$tag" "$digest"
  done
done
echo
echo "Charts extracted to $sample_dir/ppa-import/charts:"
ls -1 "$sample_dir/ppa-import/charts" | sed 's/^/  /'
exit "$rc"
