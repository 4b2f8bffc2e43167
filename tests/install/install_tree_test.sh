#!/usr/bin/env bash
# What `cmake --install` puts where (cmake/PpaInstall.cmake, README "Install"):
#   1. `cmake --install BUILD --prefix TMP/usr` installs exactly the expected
#      files, one man page per command of `ppa-import --help` but `help`;
#      with DESTDIR and the prefix /usr/local the zsh completion goes to
#      site-functions instead of vendor-completions (each in Debian zsh's
#      default $fpath for its prefix);
#   2. every man page renders without a groff warning, and lists as options
#      exactly the flags `ppa-import CMD --help` lists (both ways); every long
#      flag any page mentions is one the program knows;
#   3. the installed bash completion, found by bash-completion's own loader
#      in `bash --norc`, completes commands, flags per command, enumerated
#      values, file names, directory names only after --cert-dir, nothing
#      after a flag that takes a free value;
#   4. the installed zsh completion: `zsh -n`, autoloaded through $fpath and
#      compinit, bound to ppa-import, and driven in a zpty (a pseudo-terminal)
#      for real completions;
#   5. the uninstall note: `xargs rm < BUILD/install_manifest.txt` leaves no
#      installed file behind.
#
#   bash install_tree_test.sh --build BUILD_DIR --source SOURCE_DIR
# Without help2man, bash-completion or zsh: skipped (exit 77), a failure in
# CI (tests/install/lib.sh).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
ppa_test_args "$@"
build="$(cd "$build" && pwd)"
ppa_test_require_tools help2man zsh
[ -f /usr/share/bash-completion/bash_completion ] ||
  ppa_test_cannot_run "bash-completion is not installed (scripts/setup.sh installs it)"

ppa_test_start install-tree

# The man pages and completion scripts are ALL targets; make sure they are
# current for this build (a no-op after `cmake --build`).
cmake --build "$build" --target ppa_completion ppa_man_pages >/dev/null

# --- 1. the installed tree ---------------------------------------------------
prefix="$tmp/usr"
cmake --install "$build" --prefix "$prefix" >"$tmp/install.log"
cp "$build/install_manifest.txt" "$tmp/manifest.txt"
bin="$prefix/bin/ppa-import"

commands=$("$bin" --help | sed -n '/^Subcommands:/,$p' | awk 'NR > 1 && /^  [a-z]/ {print $1}')
[ -n "$commands" ] || fail "no commands read from 'ppa-import --help'"
expected="bin/ppa-import
share/bash-completion/completions/ppa-import
share/doc/ppa-import/README.md
share/doc/ppa-import/config.example.yaml
share/doc/ppa-import/copyright
share/man/man1/ppa-import.1.gz
share/zsh/vendor-completions/_ppa-import"
for cmd in $commands; do
  [ "$cmd" = help ] || expected+=$'\n'"share/man/man1/ppa-import-$cmd.1.gz"
done
expected="$(sort <<<"$expected")"
actual="$(cd "$prefix" && find . -type f -o -type l | sed 's|^\./||' | sort)"
expect_same_lines "$expected" "$actual" \
  "cmake --install --prefix .../usr installs exactly $(wc -l <<<"$expected") files" \
  "installed files differ from the expected list:"
if [ "$(sort "$tmp/manifest.txt")" = "$(sed "s|^|$prefix/|" <<<"$expected" | sort)" ]; then
  pass "install_manifest.txt names every installed file"
else
  fail "install_manifest.txt does not match the installed files"
fi
"$bin" version | grep -qx 'ppa-import [0-9.]*' && pass "installed binary runs" ||
  fail "installed 'ppa-import version' does not print its version"
cmp -s <("$bin" completion bash) "$prefix/share/bash-completion/completions/ppa-import" &&
  cmp -s <("$bin" completion zsh) "$prefix/share/zsh/vendor-completions/_ppa-import" &&
  pass "installed completions are what 'ppa-import completion bash|zsh' prints" ||
  fail "installed completions differ from 'ppa-import completion bash|zsh'"
for shell in fish ""; do
  rc=0; err="$("$bin" completion $shell 2>&1 >/dev/null)" || rc=$?
  [ "$rc" = 2 ] && grep -q '^Error: ' <<<"$err" && grep -q '^Hint: ' <<<"$err" &&
    pass "'ppa-import completion $shell' is a usage error (exit 2, Error/Hint)" ||
    fail "'ppa-import completion $shell': exit $rc, $err"
done
for page in "$prefix"/share/man/man1/*.gz; do
  gzip -t "$page" || fail "$page is not gzip"
  # gzip -9n: no name and no time stamp (bytes 4-7 of the header are zero).
  [ "$(od -An -tx1 -j3 -N5 "$page" | tr -d ' ')" = 0000000000 ] || fail "$page keeps a name or time stamp (gzip -n)"
done

# The same build for /usr/local, through DESTDIR: zsh's site-functions.
DESTDIR="$tmp/destdir" cmake --install "$build" --prefix /usr/local >/dev/null
if [ -f "$tmp/destdir/usr/local/share/zsh/site-functions/_ppa-import" ] &&
   [ ! -e "$tmp/destdir/usr/local/share/zsh/vendor-completions" ] &&
   [ -f "$tmp/destdir/usr/local/bin/ppa-import" ]; then
  pass "DESTDIR with --prefix /usr/local: zsh completion in share/zsh/site-functions"
else
  fail "DESTDIR with --prefix /usr/local: zsh completion not in share/zsh/site-functions"
  (cd "$tmp/destdir" && find . -type f | sed 's/^/    /')
fi
fpath_dirs="$(zsh -f -c 'print -l $fpath')"
for dir in /usr/share/zsh/vendor-completions /usr/local/share/zsh/site-functions; do
  grep -qx "$dir" <<<"$fpath_dirs" || fail "$dir is not in this zsh's default \$fpath"
done

# --- 2. man pages --------------------------------------------------------------
# Flags listed as options: the first field of each option line, split at ','.
help_options() {  # the option lines of --help: "  -h,--help   Print..."
  awk '/^  -/ {print $1}' | tr ',' '\n' | sort -u
}
man_options() {  # the tags of the OPTIONS section of a rendered page
  awk '/^[A-Z]/ {in_opts = ($0 == "OPTIONS")} in_opts && /^       -/ {print $1}' |
    tr ',' '\n' | sort -u
}
long_flags() { grep -oE -- '(^|[^[:alnum:]-])--[a-z][a-z0-9-]*' | sed 's/^[^-]*//' | sort -u; }
render() { LC_ALL=C.UTF-8 MANWIDTH=1000 man --nh --nj -l "$1" 2>/dev/null | col -b; }

all_help="$("$bin" --help; for cmd in $commands; do "$bin" "$cmd" --help; done)"
known_flags="$(long_flags <<<"$all_help")"
for page in "$prefix"/share/man/man1/*.gz; do
  name="$(basename "$page" .1.gz)"
  cmd="${name#ppa-import}"; cmd="${cmd#-}"
  warnings="$(zcat "$page" | groff -ww -man -z -Tutf8 2>&1)"
  warnings+="$(LC_ALL=C.UTF-8 man --warnings -l "$page" 2>&1 >/dev/null)"
  [ -z "$warnings" ] || fail "$name(1) renders with warnings: $warnings"
  text="$(render "$page")"
  grep -q "^       $name - " <<<"$text" || fail "$name(1) has no NAME line for $name"
  for section in SYNOPSIS DESCRIPTION OPTIONS "SEE ALSO"; do
    grep -qx "$section" <<<"$text" || fail "$name(1) has no $section section"
  done
  if [ "$cmd" != version ] && [ "$cmd" != completion ]; then
    grep -qx "EXIT STATUS" <<<"$text" || fail "$name(1) has no EXIT STATUS section"
  fi
  # shellcheck disable=SC2086  # $cmd is one word or none
  in_help="$("$bin" $cmd --help | help_options)"
  in_man="$(man_options <<<"$text")"
  expect_same_lines "$in_help" "$in_man" \
    "$name(1) lists the $(wc -l <<<"$in_help") flags of 'ppa-import $cmd --help'" \
    "$name(1) and 'ppa-import $cmd --help' list different flags (< help, > man):"
  unknown="$(comm -13 <(echo "$known_flags") <(long_flags <<<"$text"))"
  [ -z "$unknown" ] || fail "$name(1) mentions flags no command has: $unknown"
done

# --- 3. bash completion --------------------------------------------------------
work="$tmp/files"
mkdir -p "$work/certs.d" "$work/charts" "$work/sub dir"
touch "$work/archive.tgz" "$work/archive.tar" "$work/cert.pem" "$work/sub dir/x.tgz"
# Each case: the words of the command line, the last one being completed
# (bash splits at '=' too), then '=>' and the expected COMPREPLY, sorted.
bash_cases=(
  "ppa-import lo => load"
  "ppa-import d => doctor"
  "ppa-import --config c.yaml ins => inspect"
  "ppa-import load --form => --format"
  "ppa-import load --dry => --dry-run"
  "ppa-import inspect --w => --workdir"
  "ppa-import doctor --cert-d => --cert-dir"
  "ppa-import completion --h => --help"
  "ppa-import load --format  => docker oci"
  "ppa-import load --format = o => oci"
  "ppa-import load --compression  => gzip none zstd"
  "ppa-import load --namespace-rules i => ibm"
  "ppa-import load --namespace-rules  => ibm none"
  "ppa-import load --compression =  => gzip none zstd"
  "ppa-import help  => completion doctor help inspect load save verify version"
  "ppa-import help do => doctor"
  "ppa-import completion  => bash zsh"
  "ppa-import load --archive arch => archive.tar archive.tgz"
  "ppa-import load arc => archive.tar archive.tgz"
  "ppa-import load --namespace ns --dry-run arc => archive.tar archive.tgz"
  "ppa-import inspect c => cert.pem certs.d charts"
  "ppa-import load --from-list cert => cert.pem certs.d"
  "ppa-import load --cert-dir c => certs.d charts"
  "ppa-import load --workdir s => sub dir"
  "ppa-import load --json cert => cert.pem certs.d"
  "ppa-import load --namespace  => "
  "ppa-import load --namespace a => "
  "ppa-import load --registry  => "
  "ppa-import version  => "
  "ppa-import inspect archive.tgz  => "
)
printf '%s\n' "${bash_cases[@]}" >"$tmp/bash_cases"
cat >"$tmp/bash_driver.sh" <<'EOF'
# Completes each case of $1 with the function bash-completion loads for
# ppa-import, and prints "case => result" per line.
source /usr/share/bash-completion/bash_completion
__load_completion ppa-import || { echo "bash-completion found no completion for ppa-import"; exit 1; }
spec="$(complete -p ppa-import)"
echo "spec: $spec"
fn="$(sed -E 's/.*-F ([^ ]+) .*/\1/' <<<"$spec")"
while IFS= read -r line; do
  words="${line% => *}"
  read -r -a COMP_WORDS <<<"$words"
  [[ $words == *" " ]] && COMP_WORDS+=("")
  COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
  COMP_LINE="${words// = /=}"  # the line as typed: --format=o
  COMP_POINT=${#COMP_LINE}
  COMPREPLY=()
  "$fn" ppa-import "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD - 1]}"
  # Each candidate must be its own word: one holding several lines is what
  # bash would put on the command line as it is.
  for w in "${COMPREPLY[@]}"; do
    [[ $w == *$'\n'* ]] && { echo "$words => one candidate holds several lines"; continue 2; }
  done
  result="$(printf '%s\n' "${COMPREPLY[@]}" | sed '/^$/d' | sort | paste -sd' ')"
  echo "$words => $result"
done <"$1"
EOF
bash_out="$(cd "$work" && env -i HOME="$tmp" PATH="$prefix/bin:/usr/bin:/bin" \
  XDG_DATA_DIRS="$prefix/share" bash --norc --noprofile "$tmp/bash_driver.sh" "$tmp/bash_cases" 2>&1)" ||
  fail "bash driver failed: $bash_out"
grep -q "^spec: complete -F _ppa_import ppa-import$" <<<"$bash_out" &&
  pass "bash-completion loads the installed script (XDG_DATA_DIRS=PREFIX/share)" ||
  fail "bash-completion did not load the installed completion: $(head -1 <<<"$bash_out")"
for case in "${bash_cases[@]}"; do
  words="${case% => *}"
  got="$(grep -F -x -- "$words => ${case##* => }" <<<"$bash_out" || true)"
  if [ -n "$got" ]; then
    pass "bash: '$words' -> '${case##* => }'"
  else
    fail "bash: '$words' gave '$(grep -F -- "$words => " <<<"$bash_out" | sed 's/.* => //' | head -1)', expected '${case##* => }'"
  fi
done

# --- 4. zsh completion ---------------------------------------------------------
zsh_file="$prefix/share/zsh/vendor-completions/_ppa-import"
zsh -n "$zsh_file" && pass "zsh -n: the zsh completion parses" || fail "zsh -n $zsh_file"
head -1 "$zsh_file" | grep -qx '#compdef ppa-import' || fail "_ppa-import does not start with #compdef ppa-import"
bound="$(zsh -f -c 'fpath=("$1" $fpath); autoload -Uz compinit; compinit -u -d "$2/zcompdump"
  print -r -- "${_comps[ppa-import]} $(whence -w _ppa-import)"' zsh "$(dirname "$zsh_file")" "$tmp")"
[ "$bound" = "_ppa-import _ppa-import: function" ] &&
  pass "compinit binds ppa-import to the autoloaded _ppa-import" ||
  fail "compinit binding of ppa-import: '$bound'"

# A real interactive zsh in a pseudo-terminal: type a line, press Tab, then
# Ctrl-X Ctrl-R, a widget that prints the line as Tab left it between <<< and >>>.
mkdir -p "$tmp/zdot"
cat >"$tmp/zdot/.zshrc" <<EOF
fpath=("$(dirname "$zsh_file")" \$fpath)
autoload -Uz compinit && compinit -u -d "$tmp/zdot/zcompdump"
PS1='%% '
# Ctrl-X Ctrl-R runs the line as a quoted argument of print: the line as Tab
# left it, between <<< and >>> (written as escapes, so the echo of the
# command line does not show them).
_ppa_report() { BUFFER="print -r -- \$'\\\\x3c\\\\x3c\\\\x3c'\${(q)BUFFER}\$'\\\\x3e\\\\x3e\\\\x3e'"; zle .accept-line }
zle -N _ppa_report
bindkey '^X^R' _ppa_report
unsetopt beep
cd "$work"
EOF
cat >"$tmp/zsh_driver.zsh" <<'EOF'
zmodload zsh/zpty || { print "no zpty"; exit 1 }
zpty -b z "env -i HOME=$HOME TERM=dumb PATH=$PATH ZDOTDIR=$ZDOTDIR zsh -i"
zpty -r -m z out '*% ' || { print "no prompt"; exit 1 }
for line in "$@"; do
  zpty -w -n z "$line"$'\t'
  zpty -w -n z $'\C-x\C-r'
  zpty -r -m z out '*<<<*>>>*' || { print "no result for $line"; exit 1 }
  lines=("${(@f)${out//$'\r'/}}")
  result="${lines[(r)*<<<*>>>*]#*<<<}"
  print -r -- "$line => ${result%>>>*}"
done
zpty -d z
EOF
# Each case: what is typed|the line after Tab.
zsh_cases=(
  "ppa-import lo|ppa-import load "
  "ppa-import load --form|ppa-import load --format="
  "ppa-import load --compression z|ppa-import load --compression zstd "
  "ppa-import load --cert-dir ce|ppa-import load --cert-dir certs.d/"
  "ppa-import load --archive archive.tg|ppa-import load --archive archive.tgz "
  "ppa-import help ins|ppa-import help inspect "
  "ppa-import completion z|ppa-import completion zsh "
)
zsh_lines=()
for case in "${zsh_cases[@]}"; do zsh_lines+=("${case%|*}"); done
zsh_out="$(cd "$work" && HOME="$tmp" ZDOTDIR="$tmp/zdot" timeout 60 zsh -f "$tmp/zsh_driver.zsh" "${zsh_lines[@]}" 2>&1)" ||
  fail "zsh zpty driver: $zsh_out"
for case in "${zsh_cases[@]}"; do
  line="${case%|*}"
  want="${case#*|}"
  got="$(grep -F -- "$line => " <<<"$zsh_out" | head -1 | sed 's/.* => //' || true)"
  if [ "$got" = "$want" ]; then
    pass "zsh: '$line<Tab>' -> '$want'"
  else
    fail "zsh: '$line<Tab>' gave '$got', expected '$want'"
  fi
done

# --- 5. uninstall ----------------------------------------------------------------
xargs -d '\n' rm -f -- <"$tmp/manifest.txt"
left="$(find "$prefix" -type f -o -type l)"
[ -z "$left" ] && pass "xargs rm < install_manifest.txt removes every installed file" ||
  fail "files left after the uninstall: $left"

if [ "$failures" -ne 0 ]; then
  echo "$failures check(s) failed"
  exit 1
fi
echo "all install checks passed"
