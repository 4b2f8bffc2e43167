#!/usr/bin/env bash
# The daemonless container image (scripts/build-image.sh) is self-contained:
#   1. built from BUILD (no network), pushed with skopeo to a loopback
#      docker-registry, its config read back there: numeric non-root User,
#      Entrypoint, Cmd, WorkingDir, Env and the version label, each equal to
#      the Containerfile's final stage;
#   2. pulled back into a new OCI layout and its root filesystem unpacked: only
#      the binary, its libraries, the CA bundle, passwd/group/nsswitch.conf,
#      /tmp, the home and work directories (no shell, no package manager);
#   3. run inside that root with chroot as the image's user (private /proc and
#      /dev in a new mount and PID namespace, nothing left mounted), with the
#      image's environment: `ppa-import version`, then a real `load` of the
#      sample archive (copied into the work directory) into the loopback
#      registry, each image read back from the host with skopeo;
#   4. TLS through the image's own CA bundle: a loopback docker-registry
#      serving HTTPS with a certificate for 127.0.0.1 that a throwaway test CA
#      signs; a `load` in the root with no --plain-http, --insecure, --ca-file
#      or --cert-dir fails (exit 1, a certificate error) with the bundle as
#      built, and succeeds once the CA is appended to the root's
#      /etc/ssl/certs/ca-certificates.crt, as an admin's derived image would
#      do (the pushed images then read back over verified TLS);
#   5. the checks can fail: a /bin/sh planted in the root is reported as an
#      extra, and with one library removed the binary no longer starts.
#
#   bash image_chroot_test.sh --build BUILD_DIR --source SOURCE_DIR
# Exit 77 (skipped) in a sanitizer build. Without root, without umoci,
# skopeo, docker-registry, unshare, curl or openssl, or where mount and PID
# namespaces cannot be made: exit 77 with the reason, but exit 1 when CI is
# set (tests/install/lib.sh).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

ppa_test_args "$@"
ppa_test_not_sanitized "a sanitizer build is not shipped in an image"
ppa_test_require_root "chroot, mount namespaces and the image's file owners"
ppa_test_require_tools umoci skopeo docker-registry unshare chroot curl openssl
ppa_test_require_namespaces

ppa_test_start image
root="$tmp/rootfs"  # the image's root file system, unpacked

# --- 1. build, push, read the config back ------------------------------------
# One time stamp for both builds below (a commit landing in between would
# otherwise change the default, the last commit's time).
export SOURCE_DATE_EPOCH="${SOURCE_DATE_EPOCH:-$(git -C "$source_dir" log -1 --format=%ct 2>/dev/null || echo 0)}"
echo "== scripts/build-image.sh --build $build --out $tmp/oci --archive $tmp/image.tar"
if ! bash "$source_dir/scripts/build-image.sh" --build "$build" --out "$tmp/oci" \
       --archive "$tmp/image.tar" >"$tmp/build.log" 2>&1; then
  cat "$tmp/build.log"
  must "scripts/build-image.sh failed"
fi
cat "$tmp/build.log"
digest="$(skopeo inspect --format '{{.Digest}}' "oci:$tmp/oci:$version")" || must "no image oci:$tmp/oci:$version"
[ "$(skopeo inspect --format '{{.Digest}}' "oci-archive:$tmp/image.tar:$version")" = "$digest" ] ||
  fail "the oci-archive does not hold the layout's image $digest"
# Same binary and libraries, same image: a second build gives the same
# digest, also under a builder's umask that would hide directories from
# the image's user.
(umask 077 && bash "$source_dir/scripts/build-image.sh" --build "$build" --out "$tmp/oci2") >/dev/null 2>&1 ||
  must "the second scripts/build-image.sh failed"
[ "$(skopeo inspect --format '{{.Digest}}' "oci:$tmp/oci2:$version")" = "$digest" ] ||
  fail "a second build gave another image than $digest (not reproducible)"

ppa_registry_start
image="$PPA_REGISTRY_HOST/tools/ppa-import:$version"
echo "== skopeo copy oci:$tmp/oci:$version docker://$image"
skopeo copy -q --dest-tls-verify=false "oci:$tmp/oci:$version" "docker://$image" ||
  must "skopeo could not push the image"

# config FIELD_TEMPLATE: one value of the pushed image's config, read by skopeo.
config() { skopeo inspect --config --tls-verify=false --format "$1" "docker://$image"; }
user="$(config '{{.Config.User}}')"
workdir="$(config '{{.Config.WorkingDir}}')"
# As a JSON array of strings, the form the Containerfile writes.
entrypoint="$(config '[{{range $i, $e := .Config.Entrypoint}}{{if $i}}, {{end}}"{{$e}}"{{end}}]')"
cmd="$(config '[{{range $i, $e := .Config.Cmd}}{{if $i}}, {{end}}"{{$e}}"{{end}}]')"
mapfile -t env < <(config '{{range .Config.Env}}{{println .}}{{end}}' | sed '/^$/d')
label_version="$(config '{{index .Config.Labels "org.opencontainers.image.version"}}')"
echo "config: User=$user WorkingDir=$workdir Entrypoint=$entrypoint Cmd=$cmd Env=[${env[*]}]"

# The Containerfile's final stage, read here independently of build-image.sh.
final_stage="$(awk 'toupper($1) == "FROM" { n = 0; delete s } { s[n++] = $0 } END { for (i = 0; i < n; i++) print s[i] }' \
               "$source_dir/Containerfile")"
# cf INSTRUCTION: its arguments in the final stage, one line per occurrence.
cf() { sed -n "s/^$1 *//p" <<<"$final_stage"; }
[ "$user" = "$(cf USER)" ] || fail "User '$user' is not the Containerfile's '$(cf USER)'"
[[ "$user" =~ ^[1-9][0-9]*:[0-9]+$ ]] || fail "User '$user' is not a numeric non-root UID:GID"
[ "$workdir" = "$(cf WORKDIR)" ] || fail "WorkingDir '$workdir' is not the Containerfile's '$(cf WORKDIR)'"
[ "$entrypoint" = '["ppa-import"]' ] || fail "Entrypoint is $entrypoint, not [\"ppa-import\"]"
[ "$entrypoint" = "$(cf ENTRYPOINT)" ] || fail "Entrypoint $entrypoint is not the Containerfile's $(cf ENTRYPOINT)"
[ "$cmd" = "$(cf CMD)" ] || fail "Cmd $cmd is not the Containerfile's $(cf CMD)"
[ "$label_version" = "$version" ] || fail "label org.opencontainers.image.version '$label_version' is not $version"
while IFS= read -r kv; do
  kv="$(sed 's/="\(.*\)"$/=\1/' <<<"$kv")"
  printf '%s\n' "${env[@]}" | grep -qxF "$kv" || fail "Env lacks the Containerfile's $kv"
done < <(cf ENV)
while IFS= read -r kv; do
  key="${kv%%=*}"; value="$(sed 's/^[^=]*="\(.*\)"$/\1/' <<<"$kv")"
  [ "$(config "{{index .Config.Labels \"$key\"}}")" = "$value" ] || fail "label $key is not '$value'"
done < <(cf LABEL)
home=""
for kv in "${env[@]}"; do [ "${kv%%=*}" = HOME ] && home="${kv#HOME=}"; done
[ -n "$home" ] || fail "Env sets no HOME"
layers="$(skopeo inspect --tls-verify=false --format '{{len .Layers}}' "docker://$image")"
[ "$layers" = 1 ] || fail "the image has $layers layers, not 1"
created="$(config '{{.Created.UTC.Unix}}')"
[ "$created" = "$SOURCE_DATE_EPOCH" ] || fail "created is $created, not SOURCE_DATE_EPOCH $SOURCE_DATE_EPOCH"

# --- 2. pull into a new layout, unpack, look at every path -------------------
echo "== skopeo copy docker://$image oci:$tmp/pulled:$version; umoci raw unpack"
skopeo copy -q --src-tls-verify=false "docker://$image" "oci:$tmp/pulled:$version" ||
  must "skopeo could not pull the image back"
umoci raw unpack --image "$tmp/pulled:$version" "$root" >/dev/null 2>&1 ||
  must "umoci could not unpack the pulled image"
echo "unpacked: $(du -sh "$root" | cut -f1), $(find "$root" -type f | wc -l) files"

# extras ROOT: the paths of ROOT that are none of what the image may hold.
allowed='(lib|lib64|usr|usr/bin|usr/bin/ppa-import|usr/lib|usr/lib64|usr/lib64/ld-linux[^/]*\.so\.[0-9]+'
allowed+='|usr/lib/[a-z0-9_]+-linux-gnu[a-z]*|usr/lib/[a-z0-9_]+-linux-gnu[a-z]*/[^/]+\.so(\.[0-9]+)*'
allowed+='|usr/share|usr/share/bash-completion|usr/share/bash-completion/completions'
allowed+='|usr/share/bash-completion/completions/ppa-import|usr/share/zsh'
allowed+='|usr/share/zsh/(vendor-completions|site-functions)|usr/share/zsh/(vendor-completions|site-functions)/_ppa-import'
allowed+='|usr/share/doc|usr/share/doc/ppa-import|usr/share/doc/ppa-import/copyright'
allowed+='|etc|etc/passwd|etc/group|etc/nsswitch\.conf|etc/ssl|etc/ssl/certs|etc/ssl/certs/ca-certificates\.crt'
allowed+="|tmp|home|${home#/}|${workdir#/})"
extras() { (cd "$1" && find . -mindepth 1 -printf '%P\n' | grep -vxE "$allowed" || true); }

found="$(extras "$root")"
[ -z "$found" ] || fail "the image holds more than it should: $(tr '\n' ' ' <<<"$found")"
for f in bin/sh usr/bin/sh bin/bash usr/bin/bash usr/bin/apt-get usr/bin/dpkg bin/busybox; do
  [ ! -e "$root/$f" ] && [ ! -L "$root/$f" ] || fail "the image has /$f"
done
[ "$(stat -c %a "$root/tmp")" = 1777 ] || fail "/tmp is $(stat -c %a "$root/tmp"), not 1777"
[ "$(stat -c %u:%g "$root$workdir")" = "$user" ] || fail "$workdir is owned by $(stat -c %u:%g "$root$workdir"), not $user"
[ "$(stat -c %u:%g "$root$home")" = "$user" ] || fail "$home is owned by $(stat -c %u:%g "$root$home"), not $user"
grep -qE "^[^:]+:x:${user%%:*}:${user#*:}:[^:]*:$home:" "$root/etc/passwd" ||
  fail "/etc/passwd has no entry for $user with home $home"
[ -s "$root/etc/ssl/certs/ca-certificates.crt" ] || fail "no CA bundle"
[ ! -e "$root/etc/ld.so.cache" ] || fail "an ld.so.cache (the loader needs none on Debian)"
# The check itself: a planted shell is reported.
touch "$root/usr/bin/sh"
[ "$(extras "$root")" = usr/bin/sh ] || fail "a planted /usr/bin/sh is not reported as an extra"
rm "$root/usr/bin/sh"

# --- 3. run it in the root as the image's user -------------------------------
# Mount points a runtime would add; the check of what the image holds is done.
mkdir "$root/proc" "$root/dev"
# in_root ARGS...: runs the Entrypoint (found through the image's PATH) with
# ARGS in the root as the image's user with the image's environment only; a
# new mount and PID namespace with its own /proc and a /dev of the few nodes a
# runtime gives, gone when it ends. chroot(1) starts in /, so paths are absolute.
in_root() {
  unshare --mount --pid --fork --propagation private -- bash -c '
    root="$1" user="$2" entrypoint="$3" envfile="$4" chroot="$5"; shift 5
    mount -t proc proc "$root/proc"
    mount -t tmpfs -o mode=0755,nosuid tmpfs "$root/dev"
    for node in null zero full random urandom; do
      touch "$root/dev/$node" && mount --bind "/dev/$node" "$root/dev/$node"
    done
    mapfile -t env <"$envfile"
    exec env -i "${env[@]}" "$chroot" --userspec="$user" "$root" "$entrypoint" "$@"
  ' in_root "$root" "$user" ppa-import "$tmp/env" "$(command -v chroot)" "$@"
}
printf '%s\n' "${env[@]}" >"$tmp/env"

out="$(in_root version 2>&1)" || must "ppa-import version failed in the root: $out"
echo "in the root: ppa-import version: $out"
[ "$out" = "ppa-import $version" ] || fail "'ppa-import version' printed '$out'"

"$build/samples/ppa-make-sample" sample "$root$workdir/sample.tgz" >/dev/null
chown "$user" "$root$workdir/sample.tgz"
"$build/importer/ppa-import" inspect --json "$root$workdir/sample.tgz" >"$tmp/inspect.json"
echo "== load in the root into $PPA_REGISTRY_HOST"
if ! in_root load "$workdir/sample.tgz" --namespace image_ns --registry "$PPA_REGISTRY_HOST" \
       --plain-http --workdir "$workdir/ppa-import" --json "$workdir/report.json" >"$tmp/load.log" 2>&1; then
  cat "$tmp/load.log"
  must "ppa-import load failed in the root"
fi
tail -1 "$tmp/load.log"
grep -q '^OK (' "$tmp/load.log" || fail "load's verdict is not OK"
[ -s "$root$workdir/report.json" ] || fail "no JSON report in $workdir"
[ "$(stat -c %u:%g "$root$workdir/report.json")" = "$user" ] || fail "the report is not owned by $user"
# HOME is the user's and writable: the blob cache lands there.
[ -f "$root$home/.cache/ppa-import/blobs.db" ] || fail "no blob cache under HOME ($home)"
images="$(grep -o '"image": *"[^"]*"' "$tmp/inspect.json" | sed 's/.*"image": *"//; s/"$//' | sort -u)"
[ -n "$images" ] || must "inspect --json named no image: $(head -c 400 "$tmp/inspect.json")"
for name in $images; do
  skopeo inspect --tls-verify=false --raw "docker://$PPA_REGISTRY_HOST/image_ns/$name" >/dev/null 2>&1 ||
    fail "skopeo finds no $PPA_REGISTRY_HOST/image_ns/$name"
done
echo "skopeo found $(wc -w <<<"$images") image tag(s) pushed from the root"

# --- 4. TLS trusted through the image's CA bundle only ---------------------
# The load below names no --plain-http, --insecure, --ca-file or --cert-dir,
# the image's Env sets no SSL_CERT_FILE and the root has no certs.d folder:
# only /etc/ssl/certs/ca-certificates.crt (libcurl's default) can make TLS
# to this registry succeed.
for kv in "${env[@]}"; do
  case "$kv" in SSL_CERT_FILE=* | SSL_CERT_DIR=* | CURL_CA_BUNDLE=*) fail "the image's Env sets $kv" ;; esac
done
[ ! -e "$root/etc/containers/certs.d" ] && [ ! -e "$root/etc/docker/certs.d" ] ||
  fail "the image has a certs.d folder"
ppa_test_make_tls "$tmp/tls" || must "openssl could not make the test CA and server certificate"
ppa_registry_stop
PPA_REGISTRY_TLS_CERT="$tmp/tls/server.crt" PPA_REGISTRY_TLS_KEY="$tmp/tls/server.key" ppa_registry_start
[ "$PPA_REGISTRY_SCHEME" = https ] || must "scripts/registry.sh did not start a TLS registry"
# The registry is HTTPS with a certificate of the test CA: trusted with it, refused without.
curl -fsS --cacert "$tmp/tls/ca.crt" "https://$PPA_REGISTRY_HOST/v2/" >/dev/null ||
  must "curl --cacert the test CA cannot reach https://$PPA_REGISTRY_HOST/v2/"
curl -fsS --cacert "$root/etc/ssl/certs/ca-certificates.crt" "https://$PPA_REGISTRY_HOST/v2/" >/dev/null 2>&1 &&
  must "the image's bundle as built already trusts the test registry (the negative below would prove nothing)"
# tls_load NAMESPACE: the load, over TLS with the defaults, in the root.
tls_load() {
  in_root load "$workdir/sample.tgz" --namespace "$1" --registry "$PPA_REGISTRY_HOST" \
    --workdir "$workdir/ppa-import-$1"
}
echo "== load in the root over TLS into $PPA_REGISTRY_HOST, the test CA not in the image's bundle"
if tls_load tls_untrusted >"$tmp/tls_untrusted.log" 2>&1; then
  fail "load over TLS succeeded though the image's bundle lacks the test CA"
else
  status=$?
  sed 's/^/  /' "$tmp/tls_untrusted.log" | tail -3
  [ "$status" = 1 ] || fail "the untrusted TLS load exited $status, not 1"
  grep -q '^Error: .*SSL certificate problem' "$tmp/tls_untrusted.log" ||
    fail "the untrusted TLS load's Error: line names no certificate problem"
  grep -q '^Hint: .*not signed by a CA' "$tmp/tls_untrusted.log" ||
    fail "the untrusted TLS load's Hint: line does not say the CA is unknown"
fi
# As an admin's derived image would: FROM ppa-import, COPY the CA, append it.
cat "$tmp/tls/ca.crt" >>"$root/etc/ssl/certs/ca-certificates.crt"
echo "== load in the root over TLS into $PPA_REGISTRY_HOST, the test CA appended to the bundle"
if ! tls_load tls_ns >"$tmp/tls_load.log" 2>&1; then
  cat "$tmp/tls_load.log"
  fail "load over TLS failed with the test CA in the image's bundle"
else
  tail -1 "$tmp/tls_load.log"
  grep -q '^OK (' "$tmp/tls_load.log" || fail "the TLS load's verdict is not OK"
  # Read back over verified TLS (skopeo trusts the *.crt of --cert-dir).
  mkdir "$tmp/tls/skopeo" && cp "$tmp/tls/ca.crt" "$tmp/tls/skopeo/"
  for name in $images; do
    skopeo inspect --cert-dir "$tmp/tls/skopeo" --raw "docker://$PPA_REGISTRY_HOST/tls_ns/$name" >/dev/null 2>&1 ||
      fail "skopeo finds no $PPA_REGISTRY_HOST/tls_ns/$name over TLS"
  done
  echo "skopeo found $(wc -w <<<"$images") image tag(s) pushed over TLS from the root"
fi

# --- 5. the run check can fail ------------------------------------------------
# The root's libraries are the ones used: without one, the binary cannot start.
lib="$(find "$root/usr/lib" -name 'libcurl.so.4*' -type f | head -1)"
[ -n "$lib" ] || must "no libcurl.so.4 in the root"
mv "$lib" "$tmp/lib.away"
if out="$(in_root version 2>&1)"; then
  fail "ppa-import ran in the root without $(basename "$lib") (the host's libraries leak in?)"
else
  grep -q 'libcurl' <<<"$out" || fail "without libcurl the failure does not name it: $out"
fi
mv "$tmp/lib.away" "$lib"

if [ "$failures" -ne 0 ]; then
  echo "$failures check(s) failed"
  exit 1
fi
echo "PASS"
