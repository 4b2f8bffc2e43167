#!/usr/bin/env bash
# Builds the ppa-import container image without a daemon and without network:
# the files `cmake --install` puts under /usr (stripped), the shared libraries
# the binary loads (its ldd closure and the dynamic loader, at their real
# paths), the host's CA bundle, /etc/passwd and /etc/group with the non-root
# user, /etc/nsswitch.conf, /tmp, the home and work directories; no shell, no
# package manager. One layer, written with umoci as an OCI image layout tagged
# with the project version. The image config (user, entrypoint, cmd, working
# directory, environment, labels) is read from the final stage of the
# Containerfile, so both images agree.
#
#   scripts/build-image.sh [--build DIR] [--out DIR] [--archive FILE]
#     --build DIR     a built build directory to take the binary from (default:
#                     a Release build into build-image/, made by setup.sh's ppa_build)
#     --out DIR       the OCI layout to write (default: BUILD/oci; an old layout
#                     there is replaced, any other non-empty directory refused)
#     --archive FILE  also write the layout as an oci-archive tarball
#   skopeo copy oci:BUILD/oci:0.1.0 docker://registry.example.com/tools/ppa-import:0.1.0
#
# Timestamps come from SOURCE_DATE_EPOCH (default: the last commit's time), so
# the same binary and libraries give the same layer and image digests.
# No /etc/ld.so.cache: Debian's loader searches /lib/<triplet> and
# /usr/lib/<triplet> without one (`LD_DEBUG=libs` shows them as the "system
# search path"). The layer's owners are set by tar (root; the user for its
# home and work directories), whoever runs the script.
set -euo pipefail
# Modes in what is built must not depend on who builds it: directories 0755
# and files as installed, whatever the caller's umask.
umask 022

PPA_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
IMAGE_USER_NAME=ppa-import

die() {
  echo "Error: $1" >&2
  [ -z "${2:-}" ] || echo "Hint: $2" >&2
  exit 1
}

# usage EXIT_STATUS
usage() {
  sed -n '/^#   scripts\/build-image.sh \[/,/^#     --archive/p' "${BASH_SOURCE[0]}" | sed 's/^#//'
  exit "$1"
}

# ---- The Containerfile's final stage ----------------------------------------

# Prints the instructions of FILE's final stage, one per line (continuation
# lines joined, comments and blank lines dropped).
final_stage_instructions() {
  awk '
    /^[[:space:]]*#/ && cont == "" { next }
    /^[[:space:]]*$/ { next }
    {
      line = $0
      if (sub(/\\[[:space:]]*$/, "", line)) { cont = cont line " "; next }
      line = cont line; cont = ""
      sub(/^[[:space:]]+/, "", line)
      if (toupper(substr(line, 1, 5)) == "FROM ") { n = 0; delete stage }
      stage[n++] = line
    }
    END { for (i = 0; i < n; i++) print stage[i] }
  ' "$1"
}

# Splits a JSON array of plain strings (["a", "b"]) into ARRAY_ITEMS.
parse_json_array() {
  local rest="$1"
  ARRAY_ITEMS=()
  [[ "$rest" =~ ^\[[[:space:]]*(.*)\][[:space:]]*$ ]] || return 1
  rest="${BASH_REMATCH[1]}"
  while [ -n "$rest" ]; do
    [[ "$rest" =~ ^\"([^\"\\]*)\"[[:space:]]*(,[[:space:]]*)?(.*)$ ]] || return 1
    ARRAY_ITEMS+=("${BASH_REMATCH[1]}")
    rest="${BASH_REMATCH[3]}"
  done
}

# Reads FILE's final stage into CF_LABELS, CF_ENV (KEY=VALUE each), CF_USER,
# CF_WORKDIR, CF_ENTRYPOINT and CF_CMD. An instruction this script does not
# reproduce is an error, so the two images cannot drift apart silently.
read_containerfile() {
  local file="$1" line instr args
  CF_LABELS=() CF_ENV=() CF_USER="" CF_WORKDIR="" CF_ENTRYPOINT=() CF_CMD=()
  while IFS= read -r line; do
    instr="${line%%[[:space:]]*}"
    args="${line#"$instr"}"
    args="${args#"${args%%[![:space:]]*}"}"
    case "${instr^^}" in
      FROM | RUN) ;;  # the RUN's effects are what this script builds
      LABEL | ENV)
        [[ "$args" =~ ^([A-Za-z0-9._-]+)=\"([^\"]*)\"$ ]] ||
          die "$file: cannot read '$line'" "write one KEY=\"VALUE\" per ${instr^^} line"
        if [ "${instr^^}" = LABEL ]; then
          CF_LABELS+=("${BASH_REMATCH[1]}=${BASH_REMATCH[2]}")
        else
          CF_ENV+=("${BASH_REMATCH[1]}=${BASH_REMATCH[2]}")
        fi
        ;;
      USER) CF_USER="$args" ;;
      WORKDIR) CF_WORKDIR="$args" ;;
      ENTRYPOINT | CMD)
        parse_json_array "$args" ||
          die "$file: cannot read '$line'" "write ${instr^^} as a JSON array of plain strings"
        if [ "${instr^^}" = ENTRYPOINT ]; then
          CF_ENTRYPOINT=("${ARRAY_ITEMS[@]}")
        else
          CF_CMD=("${ARRAY_ITEMS[@]}")
        fi
        ;;
      *) die "$file: the final stage has '${instr^^}', which scripts/build-image.sh does not reproduce" \
             "teach scripts/build-image.sh the instruction, or drop it from the Containerfile" ;;
    esac
  done < <(final_stage_instructions "$file")
  [[ "$CF_USER" =~ ^[0-9]+:[0-9]+$ ]] ||
    die "$file: USER '$CF_USER' is not numeric UID:GID" "Kubernetes' runAsNonRoot needs a numeric user"
  [ -n "$CF_WORKDIR" ] && [ ${#CF_ENTRYPOINT[@]} -gt 0 ] ||
    die "$file: the final stage needs WORKDIR and ENTRYPOINT"
}

# Prints the value of KEY in a KEY=VALUE list.
lookup() {
  local key="$1" kv
  shift
  for kv in "$@"; do
    [ "${kv%%=*}" = "$key" ] && { echo "${kv#*=}"; return 0; }
  done
  return 1
}

# ---- The root filesystem -----------------------------------------------------

# Replicates the host's symlinks among the ancestors of PATH in ROOTFS
# (merged /usr: /lib -> usr/lib, /lib64 -> usr/lib64).
copy_parent_links() {
  local dir prefix=""
  IFS=/ read -ra parts <<<"${1#/}"
  for dir in "${parts[@]:0:${#parts[@]}-1}"; do
    prefix="$prefix/$dir"
    if [ -L "$prefix" ] && [ ! -L "$ROOTFS$prefix" ]; then
      local real_parent
      real_parent="$(realpath -e "$(dirname "$prefix")")"
      mkdir -p "$ROOTFS$real_parent"
      cp -P "$prefix" "$ROOTFS$real_parent/"
      copy_file "$(realpath -e "$prefix")/."  # the directory it points to
    fi
  done
}

# Copies PATH into ROOTFS at its real path: each symlink on the way (a
# library's soname link, the loader's /lib64 link) and the file it ends at.
copy_file() {
  local path="$1"
  [ "${path##*/}" = . ] && { mkdir -p "$ROOTFS${path%/.}"; return 0; }
  copy_parent_links "$path"
  local dir name
  dir="$(realpath -e "$(dirname "$path")")"
  name="$(basename "$path")"
  mkdir -p "$ROOTFS$dir"
  if [ -L "$dir/$name" ]; then
    [ -L "$ROOTFS$dir/$name" ] || cp -P "$dir/$name" "$ROOTFS$dir/"
    local target
    target="$(readlink "$dir/$name")"
    [[ "$target" = /* ]] || target="$dir/$target"
    copy_file "$target"
  elif [ ! -e "$ROOTFS$dir/$name" ]; then
    cp -L --preserve=mode "$dir/$name" "$ROOTFS$dir/$name"
  fi
}

# Prints the absolute paths ldd names for BINARY (libraries and loader).
shared_libraries() {
  local out
  out="$(ldd "$1")" || die "ldd $1 failed" "is it a dynamically linked binary for this machine?"
  if grep -q 'not found' <<<"$out"; then
    die "$1 needs libraries this machine lacks:"$'\n'"$(grep 'not found' <<<"$out")"
  fi
  awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }' <<<"$out" | sort -u
}

make_rootfs() {
  local build="$1" uid="$2" gid="$3" home="$4" workdir="$5"
  DESTDIR="$ROOTFS" cmake --install "$build" --prefix /usr --strip >/dev/null ||
    die "cmake --install $build failed (above)" "is it built? cmake --build $build"
  [ -x "$ROOTFS/usr/bin/ppa-import" ] || die "cmake --install did not install /usr/bin/ppa-import"
  # What debian:12-slim's dpkg leaves out (docs but their copyright, manual
  # pages, translations): the same files as the Containerfile's image.
  rm -rf "$ROOTFS/usr/share/man" "$ROOTFS/usr/share/info" "$ROOTFS/usr/share/locale"
  if [ -d "$ROOTFS/usr/share/doc" ]; then
    find "$ROOTFS/usr/share/doc" -type f ! -name copyright -delete
    find "$ROOTFS/usr/share/doc" -depth -type d -empty -delete
  fi

  local lib
  while IFS= read -r lib; do
    copy_file "$lib"
  done < <(shared_libraries "$ROOTFS/usr/bin/ppa-import")

  local bundle=/etc/ssl/certs/ca-certificates.crt
  [ -s "$bundle" ] || die "no CA bundle at $bundle" "apt-get install ca-certificates"
  install -D -m 0644 "$bundle" "$ROOTFS$bundle"

  mkdir -p "$ROOTFS/etc"
  printf 'root:x:0:0:root:/root:/usr/sbin/nologin\n%s:x:%s:%s:%s:%s:/usr/sbin/nologin\n' \
    "$IMAGE_USER_NAME" "$uid" "$gid" "$IMAGE_USER_NAME" "$home" >"$ROOTFS/etc/passwd"
  printf 'root:x:0:\n%s:x:%s:\n' "$IMAGE_USER_NAME" "$gid" >"$ROOTFS/etc/group"
  # Without it glibc asks DNS before /etc/hosts (Kubernetes hostAliases).
  printf 'passwd: files\ngroup: files\nhosts: files dns\n' >"$ROOTFS/etc/nsswitch.conf"
  chmod 0644 "$ROOTFS/etc/passwd" "$ROOTFS/etc/group" "$ROOTFS/etc/nsswitch.conf"
  install -d -m 1777 "$ROOTFS/tmp"
  install -d -m 0755 "$ROOTFS$home" "$ROOTFS$workdir"
}

# Writes ROOTFS as an uncompressed layer tarball: sorted, fixed times, owned by
# root except the home and work directories (no root needed to build it).
write_layer() {
  local tarball="$1" uid="$2" gid="$3" home="$4" workdir="$5"
  local common=(--format=posix "--pax-option=exthdr.name=%d/PaxHeaders/%f,delete=atime,delete=ctime"
                --sort=name --mtime="@$SOURCE_DATE_EPOCH" --numeric-owner -C "$ROOTFS")
  (cd "$ROOTFS" && find . -mindepth 1 ! -path ".$home" ! -path ".$workdir" -printf '%P\n' |
     LC_ALL=C sort) >"$STAGE/files"
  tar -cf "$tarball" "${common[@]}" --owner=0 --group=0 --no-recursion -T "$STAGE/files"
  tar -rf "$tarball" "${common[@]}" --owner="$uid" --group="$gid" --no-recursion \
    "${home#/}" "${workdir#/}"
}

# The OCI name of this machine's architecture (Debian's names differ for some).
oci_architecture() {
  local arch
  arch="$(dpkg --print-architecture)"
  case "$arch" in
    ppc64el) echo ppc64le ;;
    armhf | armel) echo arm ;;
    i386) echo 386 ;;
    *) echo "$arch" ;;
  esac
}

# ---- Main --------------------------------------------------------------------

main() {
  local build="" out="" archive=""
  while [ $# -gt 0 ]; do
    case "$1" in
      --build) build="$(realpath -m "${2:?}")"; shift 2 ;;
      --out) out="$(realpath -m "${2:?}")"; shift 2 ;;
      --archive) archive="$(realpath -m "${2:?}")"; shift 2 ;;
      -h | --help) usage 0 ;;
      *) echo "Error: unknown argument '$1'" >&2; usage 2 >&2 ;;
    esac
  done
  command -v umoci >/dev/null || die "umoci is not installed" "apt-get install umoci"

  if [ -z "$build" ]; then
    # shellcheck source=setup.sh
    source "$PPA_ROOT/scripts/setup.sh"
    build="$PPA_ROOT/build-image"
    PPA_BUILD_DIR="$build" ppa_build Release -DPPA_BUILD_TESTS=OFF -DCMAKE_DISABLE_FIND_PACKAGE_benchmark=ON
  fi
  [ -f "$build/CMakeCache.txt" ] || die "$build is not a CMake build directory"
  if grep -q '^PPA_SANITIZE:BOOL=ON' "$build/CMakeCache.txt"; then
    die "$build is a sanitizer build" "give a Release build (the default without --build)"
  fi
  local version
  version="$(sed -n 's/^CMAKE_PROJECT_VERSION:STATIC=//p' "$build/CMakeCache.txt")"
  [ -n "$version" ] || die "no project version in $build/CMakeCache.txt"
  out="${out:-$build/oci}"

  read_containerfile "$PPA_ROOT/Containerfile"
  local label_version home
  label_version="$(lookup org.opencontainers.image.version "${CF_LABELS[@]}")" || label_version=""
  [ "$label_version" = "$version" ] ||
    die "the Containerfile's org.opencontainers.image.version is '$label_version', the project's is $version" \
        "set the LABEL in Containerfile to $version"
  home="$(lookup HOME "${CF_ENV[@]}")" || die "the Containerfile's final stage sets no ENV HOME"
  local uid="${CF_USER%%:*}" gid="${CF_USER#*:}"

  if [ -z "${SOURCE_DATE_EPOCH:-}" ]; then
    SOURCE_DATE_EPOCH="$(git -C "$PPA_ROOT" log -1 --format=%ct 2>/dev/null || echo 0)"
  fi
  local created
  created="$(date -u -d "@$SOURCE_DATE_EPOCH" +%Y-%m-%dT%H:%M:%SZ)"

  STAGE="$(mktemp -d /tmp/ppa-build-image.XXXXXX)"
  trap 'rm -rf "$STAGE"' EXIT
  ROOTFS="$STAGE/rootfs"
  mkdir -p "$ROOTFS"
  make_rootfs "$build" "$uid" "$gid" "$home" "$CF_WORKDIR"
  write_layer "$STAGE/layer.tar" "$uid" "$gid" "$home" "$CF_WORKDIR"

  local ref="$out:$version"
  if [ -e "$out" ] && [ ! -f "$out/oci-layout" ] && [ -n "$(ls -A "$out")" ]; then
    die "$out exists and is not an OCI layout; not replacing it" "name a new or empty directory with --out"
  fi
  rm -rf "$out"
  mkdir -p "$(dirname "$out")"
  umoci init --layout "$out"
  umoci new --image "$ref"
  umoci raw add-layer --image "$ref" --history.created "$created" \
    --history.created_by "scripts/build-image.sh" "$STAGE/layer.tar"
  local config=(--created "$created" --architecture "$(oci_architecture)" --os linux
                --config.user "$CF_USER" --config.workingdir "$CF_WORKDIR")
  local kv item
  for kv in "${CF_ENV[@]}"; do config+=("--config.env=$kv"); done
  for kv in "${CF_LABELS[@]}"; do config+=("--config.label=$kv"); done
  for item in "${CF_ENTRYPOINT[@]}"; do config+=("--config.entrypoint=$item"); done
  for item in "${CF_CMD[@]}"; do config+=("--config.cmd=$item"); done
  umoci config --image "$ref" --no-history "${config[@]}"
  umoci gc --layout "$out"

  if [ -n "$archive" ]; then
    mkdir -p "$(dirname "$archive")"
    tar -cf "$archive" --sort=name --mtime="@$SOURCE_DATE_EPOCH" --owner=0 --group=0 \
      --numeric-owner -C "$out" .
  fi
  local size
  size="$(du -sb "$ROOTFS" | cut -f1)"
  echo "Image: oci:$out:$version ($(( size / 1024 / 1024 )) MiB unpacked, $(find "$ROOTFS" -type f | wc -l) files)"
  [ -z "$archive" ] || echo "Archive: oci-archive:$archive:$version"
}

main "$@"
