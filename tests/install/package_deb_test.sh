#!/usr/bin/env bash
# The Debian package (and the RPM, when rpmbuild is installed) as a user gets
# it from scripts/package.sh:
#   1. scripts/package.sh --build BUILD --out TMP builds them and lintian finds
#      no error (the warnings are printed; the accepted ones are listed below);
#   2. the .deb's files, owners and modes; its Depends computed by
#      dpkg-shlibdeps; the RPM's file list and computed Requires;
#   3. a fresh root made of exactly the packages the .deb's Depends close over
#      (their files and dpkg status copied from this host), where
#      `dpkg --root -i` must succeed without --force-depends, and must fail
#      once one of those packages is missing;
#   4. the installed binary run in that root with chroot (private /proc and
#      /dev in a new mount namespace): `version`, then a real `load` of the
#      sample archive into a loopback docker-registry, each image checked from
#      the host with skopeo; with one library of the closure removed it no
#      longer runs (the root, not the host, provides the libraries).
#
# Lintian warnings accepted (package.sh fails only on errors; this test also
# fails on any warning not listed here, so a new one is judged, not ignored):
#   - initial-upload-closes-no-bugs: Debian's archive wants the first upload of
#     a package to close its ITP bug; this package is not uploaded to Debian,
#     so there is no bug to close.
#
#   bash package_deb_test.sh --build BUILD_DIR --source SOURCE_DIR
# Exit 77 (skipped) in a sanitizer build. Without root, without
# dpkg-deb/lintian/unshare/skopeo/docker-registry, or where mount and PID
# namespaces cannot be made (an unprivileged container): exit 77 with the
# reason, but exit 1 when CI is set (tests/install/lib.sh).
set -euo pipefail
accepted_warnings='initial-upload-closes-no-bugs'  # a regex: one|two
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

ppa_test_args "$@"
ppa_test_not_sanitized "a sanitizer build is not a package"
ppa_test_require_root "the fresh-root install (dpkg --root, chroot, mount namespaces)"
ppa_test_require_tools dpkg-deb dpkg-query lintian unshare chroot skopeo docker-registry curl readelf
ppa_test_require_namespaces

ppa_test_start package
root="$tmp/root"  # the fresh root (its /dev is bound from the host in a namespace)

# dep_names "Depends field": the first installed alternative of each entry,
# without version or architecture qualifiers.
dep_names() {
  tr ',' '\n' <<<"$1" | while read -r entry; do
    [ -n "$entry" ] || continue
    local alt name
    IFS='|' read -ra alts <<<"$entry"
    for alt in "${alts[@]}"; do
      name="$(sed 's/^ *//; s/[ (].*//; s/:.*//' <<<"$alt")"
      if installed_name "$name" >/dev/null; then
        installed_name "$name"
        break
      fi
    done
  done
}
# installed_name NAME: the installed package NAME is, or the installed package
# providing the virtual package NAME.
installed_name() {
  if [ "$(dpkg-query -W -f='${Status}' "$1" 2>/dev/null)" = "install ok installed" ]; then
    echo "$1"
    return 0
  fi
  local provider
  provider="$(dpkg-query -W -f='${Package} ${Status} ${Provides}\n' 2>/dev/null |
              awk -v v="$1" '$2 == "install" && $4 == "installed" {
                               for (i = 5; i <= NF; i++) { p = $i; sub(/,$/, "", p); if (p == v) { print $1; exit } } }')"
  [ -n "$provider" ] || return 1
  echo "$provider"
}

# --- 1. build and lintian ---------------------------------------------------
echo "== scripts/package.sh --build $build --out $tmp/dist"
# Under a umask that would make the directories 0700 (the modes are checked below).
if ! (umask 077 && bash "$source_dir/scripts/package.sh" --build "$build" --out "$tmp/dist") >"$tmp/paths" 2>"$tmp/package.log"; then
  cat "$tmp/package.log"
  must "scripts/package.sh failed"
fi
deb="$(grep '\.deb$' "$tmp/paths" || true)"
rpm="$(grep '\.rpm$' "$tmp/paths" || true)"
[ -f "$deb" ] || { cat "$tmp/package.log"; must "package.sh printed no .deb path: $(cat "$tmp/paths")"; }
echo "built: $(tr '\n' ' ' <"$tmp/paths")"
[ -z "$(find "$tmp/dist" -mindepth 1 -maxdepth 1 -name '_CPack_Packages')" ] ||
  fail "CPack's scratch was left in the output folder"

# package.sh already failed on any E:; read lintian's findings again for the
# record (warnings are printed, never silently dropped).
lintian --tag-display-limit 0 "$deb" >"$tmp/lintian" 2>&1 || true
echo "lintian says:"; sed 's/^/  /' "$tmp/lintian"
grep -q '^E: ' "$tmp/lintian" && fail "lintian reports errors"
grep '^W: ' "$tmp/lintian" | grep -vE ": ($accepted_warnings)( |\$)" >"$tmp/lintian_new" || true
[ ! -s "$tmp/lintian_new" ] || fail "lintian warnings not accepted in this test: $(cat "$tmp/lintian_new")"

# --- 2. contents and metadata ------------------------------------------------
field() { dpkg-deb -f "$deb" "$1"; }
[ "$(field Package)" = ppa-import ] || fail "Package is '$(field Package)'"
case "$(field Version)" in
  "$version"-*) ;;
  *) fail "Version '$(field Version)' is not the project's $version with a Debian revision" ;;
esac
[ "$(field Architecture)" = "$(dpkg --print-architecture)" ] || fail "Architecture is '$(field Architecture)'"
[ "$(field Recommends)" = "ca-certificates, gnupg" ] || fail "Recommends is '$(field Recommends)'"
[ -n "$(field Section)" ] && [ -n "$(field Priority)" ] || fail "Section or Priority missing"
depends="$(field Depends)"
echo "Depends: $depends"
# The versions come from the libraries' symbols files (dpkg-shlibdeps).
for lib in 'libc6 (>= ' 'libstdc++6 (>= ' 'libcurl4 (>= ' 'libarchive13 (>= ' 'libssl3 (>= ' \
           'libyaml-cpp0.7 (>= ' 'libsqlite3-0 (>= ' 'libzstd1 (>= '; do
  case ", $depends" in
    *", $lib"*) ;;
    *) fail "Depends lacks '$lib...' (dpkg-shlibdeps did not compute it?)" ;;
  esac
done
dpkg-deb -I "$deb" md5sums >/dev/null 2>&1 || fail "no md5sums control file"

dpkg-deb -c "$deb" >"$tmp/contents"
# Every entry root:root, directories 0755, no group- or world-writable file.
awk '$2 != "root/root" { print "owner " $2 ": " $6 }' "$tmp/contents" >"$tmp/bad_owner"
[ ! -s "$tmp/bad_owner" ] || fail "entries not owned by root/root: $(cat "$tmp/bad_owner")"
awk '$1 ~ /^d/ && $1 != "drwxr-xr-x" { print $1 " " $6 }' "$tmp/contents" >"$tmp/bad_dir"
[ ! -s "$tmp/bad_dir" ] || fail "directories not 0755: $(cat "$tmp/bad_dir")"
awk '$1 ~ /^-/ && ($1 ~ /^-....w/ || $1 ~ /^-.......w/) { print $1 " " $6 }' "$tmp/contents" >"$tmp/bad_file"
[ ! -s "$tmp/bad_file" ] || fail "group- or world-writable files: $(cat "$tmp/bad_file")"
# expect_entry MODE PATH_REGEX: a regular file (or symlink, mode 'l') matching
expect_entry() {
  local mode="$1" path="$2"
  awk -v m="$mode" -v p="^\\./${path}\$" '$1 ~ ("^" m) && $6 ~ p { found = 1 } END { exit !found }' \
    "$tmp/contents" || fail "no $mode entry matching /$path in the .deb"
}
expect_entry '-rwxr-xr-x' 'usr/bin/ppa-import'
expect_entry '-rw-r--r--' 'usr/share/man/man1/ppa-import\.1\.gz'
expect_entry '-rw-r--r--' 'usr/share/man/man1/ppa-import-load\.1\.gz'
expect_entry '-rw-r--r--' 'usr/share/bash-completion/completions/ppa-import'
expect_entry '-rw-r--r--' 'usr/share/zsh/(vendor-completions|site-functions)/_ppa-import'
expect_entry '-rw-r--r--' 'usr/share/doc/ppa-import/copyright'
expect_entry '-rw-r--r--' 'usr/share/doc/ppa-import/changelog\.Debian\.gz'
expect_entry '-rw-r--r--' 'usr/share/doc/ppa-import/README\.md(\.gz)?'
# Nothing outside /usr (CPACK_PACKAGING_INSTALL_PREFIX), nothing of the build.
awk '$6 !~ /^\.\/(usr\/.*)?$/ { print $6 }' "$tmp/contents" >"$tmp/outside"
[ ! -s "$tmp/outside" ] || fail "entries outside /usr: $(cat "$tmp/outside")"
# The binary is stripped (CPACK_STRIP_FILES).
dpkg-deb -x "$deb" "$tmp/unpacked"
readelf -S "$tmp/unpacked/usr/bin/ppa-import" >"$tmp/sections"
if grep -qE '\.(symtab|debug_info)' "$tmp/sections"; then
  fail "usr/bin/ppa-import is not stripped"
fi
# Depends names exactly the packages of the libraries the binary needs
# (NEEDED -> the host's library -> dpkg -S), no more, no fewer.
readelf -d "$tmp/unpacked/usr/bin/ppa-import" >"$tmp/dynamic"
sed -n 's/.*(NEEDED).*\[\(.*\)\]$/\1/p' "$tmp/dynamic" >"$tmp/needed"
[ -s "$tmp/needed" ] || fail "the binary needs no shared library?"
ldconfig -p >"$tmp/ldcache"
: >"$tmp/needed_pkgs"
while read -r soname; do
  path="$(awk -v s="$soname" '$1 == s { print $NF; exit }' "$tmp/ldcache")"
  [ -n "$path" ] || { fail "$soname is not in the host's ld.so cache"; continue; }
  real="$(readlink -f "$path")"
  owner=""
  for candidate in "$path" "$real" "${path#/usr}" "/usr${path}" "${real#/usr}" "/usr${real}"; do
    owner="$(dpkg-query -S "$candidate" 2>/dev/null | head -1 | sed 's/:.*//')" || true
    [ -n "$owner" ] && break
  done
  [ -n "$owner" ] || { fail "no package owns $path ($soname)"; continue; }
  echo "$owner" >>"$tmp/needed_pkgs"
done <"$tmp/needed"
needed_pkgs="$(sort -u "$tmp/needed_pkgs")"
depends_pkgs="$(dep_names "$depends" | sort -u)"
[ "$needed_pkgs" = "$depends_pkgs" ] ||
  fail "Depends ($(echo $depends_pkgs)) is not the packages of the needed libraries ($(echo $needed_pkgs))"

# The changelog is gzip -9n (no name, no time stamp) and its entry is this version.
gzip -lv "$tmp/unpacked/usr/share/doc/ppa-import/changelog.Debian.gz" >/dev/null ||
  fail "changelog.Debian.gz is not gzip"
[ "$(od -An -tx1 -N8 "$tmp/unpacked/usr/share/doc/ppa-import/changelog.Debian.gz")" = " 1f 8b 08 00 00 00 00 00" ] ||
  fail "changelog.Debian.gz carries a name or a time stamp (not gzip -n)"
zcat "$tmp/unpacked/usr/share/doc/ppa-import/changelog.Debian.gz" >"$tmp/changelog"
[ "$(sed -n '1s/ .*//p; 1q' "$tmp/changelog") $(sed -n '1s/^[^ ]* \(([^)]*)\).*/\1/p; 1q' "$tmp/changelog")" = "ppa-import ($(field Version))" ] ||
  fail "changelog.Debian.gz's first entry is not $(field Version)"
grep -q 'All rights reserved' "$tmp/unpacked/usr/share/doc/ppa-import/copyright" ||
  fail "copyright does not state that all rights are reserved"

# The RPM, from the same CPack configuration.
if command -v rpmbuild >/dev/null; then
  if [ ! -f "$rpm" ]; then
    fail "rpmbuild is installed but package.sh built no RPM"
  else
    rpm -qpl "$rpm" 2>/dev/null >"$tmp/rpm_files"
    for f in /usr/bin/ppa-import /usr/share/doc/ppa-import/copyright /usr/share/man/man1/ppa-import.1.gz; do
      grep -qxF "$f" "$tmp/rpm_files" || fail "the RPM lacks $f"
    done
    grep -q 'changelog.Debian' "$tmp/rpm_files" && fail "the RPM carries the Debian changelog"
    # Only its own files and its doc folder: directories other packages own
    # (/usr/share/man/man1, the completion folders...) are not the RPM's.
    grep -vE '^/usr/(bin/ppa-import|share/man/man1/ppa-import(-[a-z]+)?\.1\.gz|share/bash-completion/completions/ppa-import|share/zsh/(vendor-completions|site-functions)/_ppa-import|share/doc/ppa-import(/.*)?)$' \
      "$tmp/rpm_files" >"$tmp/rpm_foreign" || true
    [ ! -s "$tmp/rpm_foreign" ] || fail "the RPM owns paths not its own: $(tr '\n' ' ' <"$tmp/rpm_foreign")"
    rpm -qpR "$rpm" 2>/dev/null >"$tmp/rpm_requires"
    echo "RPM Requires: $(grep -v '^rpmlib(' "$tmp/rpm_requires" | tr '\n' ' ')"
    for soname in 'libcurl.so.4()(64bit)' 'libarchive.so.13()(64bit)' 'libc.so.6(GLIBC_'; do
      grep -qF "$soname" "$tmp/rpm_requires" || fail "the RPM's Requires lack $soname (AutoReq off?)"
    done
    [ "$(rpm -qp --qf '%{VERSION}' "$rpm" 2>/dev/null)" = "$version" ] || fail "the RPM's version is not $version"
  fi
fi

# --- 3. a fresh root of exactly the Depends closure --------------------------
echo "== fresh root: the closure of the Depends field"
declare -A seen=()
queue=($(dep_names "$depends"))
closure=()
while [ ${#queue[@]} -gt 0 ]; do
  pkg="${queue[0]}"; queue=("${queue[@]:1}")
  [ -z "${seen[$pkg]:-}" ] || continue
  seen[$pkg]=1
  closure+=("$pkg")
  more="$(dpkg-query -W -f='${Depends}, ${Pre-Depends}' "$pkg")"
  queue+=($(dep_names "$more"))
done
echo "${#closure[@]} packages: ${closure[*]}"
[ ${#closure[@]} -ge 5 ] || must "the closure is implausibly small: ${closure[*]}"

mkdir -p "$root"
# The host's merged-/usr links (/lib -> usr/lib, ...) are no package's files.
for d in bin sbin lib lib32 lib64 libx32; do
  if [ -L "/$d" ]; then
    ln -s "$(readlink "/$d")" "$root/$d"
    mkdir -p "$root/$(readlink "/$d")"
  fi
done
mkdir -p "$root/var/lib/dpkg/info" "$root/var/lib/dpkg/updates" "$root/var/lib/dpkg/triggers" \
         "$root/proc" "$root/dev" "$root/tmp"
chmod 1777 "$root/tmp"
: >"$root/var/lib/dpkg/available"
: >"$root/var/lib/dpkg/status"
for pkg in "${closure[@]}"; do
  name="$(dpkg-query -W -f='${binary:Package}' "$pkg")"
  dpkg-query -L "$name" | grep '^/' | while read -r f; do
    [ -e "$f" ] || [ -L "$f" ] && echo "${f#/}"
  done >>"$tmp/files"
  dpkg-query -s "$name" >>"$root/var/lib/dpkg/status"
  echo >>"$root/var/lib/dpkg/status"
  for ext in list md5sums conffiles; do
    [ -f "/var/lib/dpkg/info/$name.$ext" ] && cp "/var/lib/dpkg/info/$name.$ext" "$root/var/lib/dpkg/info/"
  done
done
tar -C / --no-recursion -cf - -T "$tmp/files" | tar -C "$root" --keep-directory-symlink -xf -
echo "root: $(du -sh "$root" | cut -f1)"

# Negative first: in a throwaway root whose dpkg database is this one minus
# one package of the closure, dpkg must refuse to configure the package and
# name it (the Depends are checked against the database, not assumed).
missing_pkg="$(dep_names "$depends" | grep '^libarchive')"
neg="$tmp/neg-root"
mkdir -p "$neg/var/lib"
cp -a "$root/var/lib/dpkg" "$neg/var/lib/"
awk -v p="$missing_pkg" 'BEGIN { RS = ""; ORS = "\n\n" } $0 !~ ("^Package: " p "\n")' \
  "$root/var/lib/dpkg/status" >"$neg/var/lib/dpkg/status"
if dpkg --root="$neg" -i "$deb" >"$tmp/dpkg_neg.log" 2>&1; then
  fail "dpkg --root -i accepted the package with $missing_pkg missing from the root"
elif ! grep -q "depends on $missing_pkg" "$tmp/dpkg_neg.log"; then
  cat "$tmp/dpkg_neg.log"
  fail "dpkg refused without naming the missing $missing_pkg"
else
  echo "without $missing_pkg in its database, dpkg refuses: $(grep -m1 "depends on $missing_pkg" "$tmp/dpkg_neg.log")"
fi
rm -rf "$neg"

echo "== dpkg --root $root -i $(basename "$deb")"
if ! dpkg --root="$root" -i "$deb" >"$tmp/dpkg.log" 2>&1; then
  cat "$tmp/dpkg.log"
  must "dpkg --root -i failed in the fresh root"
fi
sed 's/^/  /' "$tmp/dpkg.log"
grep -qi 'warning' "$tmp/dpkg.log" && fail "dpkg warned while installing into the fresh root"
[ "$(dpkg-query --admindir="$root/var/lib/dpkg" -W -f='${Status}' ppa-import)" = "install ok installed" ] ||
  fail "ppa-import is not 'install ok installed' in the root"

# --- 4. run it in the root ----------------------------------------------------
# in_root ARGS...: runs /usr/bin/ppa-import ARGS in the root, with a private
# /proc (new PID namespace) and /dev, in /tmp, in a new mount namespace that
# ends with it (nothing stays mounted).
in_root() {
  unshare --mount --pid --fork --propagation private -- \
    bash -c 'root="$1"; shift
             mount -t proc proc "$root/proc" && mount --rbind /dev "$root/dev" &&
             exec env -i HOME=/tmp PATH=/usr/bin:/bin unshare --root="$root" --wd=/tmp /usr/bin/ppa-import "$@"' \
    in_root "$root" "$@"
}

out="$(in_root version 2>&1)" || must "ppa-import version failed in the root: $out"
echo "in the root: ppa-import version: $out"
grep -qF "$version" <<<"$out" || fail "'ppa-import version' printed '$out', not $version"

"$build/samples/ppa-make-sample" sample "$tmp/sample.tgz" >/dev/null
cp "$tmp/sample.tgz" "$root/tmp/sample.tgz"
# What the archive holds, read by the build's own binary on the host.
"$build/importer/ppa-import" inspect --json "$tmp/sample.tgz" >"$tmp/inspect.json"
ppa_registry_start
echo "== load in the root into $PPA_REGISTRY_HOST"
if ! in_root load --archive /tmp/sample.tgz --namespace pkg_ns --registry "$PPA_REGISTRY_HOST" \
       --plain-http --workdir /tmp/work >"$tmp/load.log" 2>&1; then
  cat "$tmp/load.log"
  must "ppa-import load failed in the root"
fi
tail -1 "$tmp/load.log"
grep -q '^OK (' "$tmp/load.log" || fail "load's verdict is not OK"
# Each image the archive holds, read back from the host with skopeo.
# (the image tags and each platform's tag: "image"/"name" values with a tag)
images="$(grep -oE '"(image|name)": *"[^"]*:[^"]*"' "$tmp/inspect.json" | sed -E 's/.*": *"//; s/"$//' | sort -u)"
[ -n "$images" ] || must "inspect --json named no image: $(head -c 400 "$tmp/inspect.json")"
for image in $images; do
  if ! skopeo inspect --tls-verify=false --raw "docker://$PPA_REGISTRY_HOST/pkg_ns/$image" >/dev/null 2>&1; then
    fail "skopeo finds no $PPA_REGISTRY_HOST/pkg_ns/$image"
  fi
done
echo "skopeo found $(wc -w <<<"$images") image tag(s) in the registry"

# The root's libraries are the ones used: without one, the binary cannot start.
lib="$(find "$root" -name 'libarchive.so.13*' -type f | head -1)"
[ -n "$lib" ] || must "no libarchive.so.13 in the root"
mv "$lib" "$lib.away"
if in_root version >/dev/null 2>&1; then
  fail "ppa-import ran in the root without its libarchive (the host's libraries leak in?)"
fi
mv "$lib.away" "$lib"

# The namespaces' mounts ended with them.
leaked="$(ppa_test_mounts_under "$root")"
[ -z "$leaked" ] || fail "mounts of the root outlived the namespace: $(tr "\n" " " <<<"$leaked")"

if [ "$failures" -ne 0 ]; then
  echo "$failures check(s) failed"
  exit 1
fi
echo "PASS"
