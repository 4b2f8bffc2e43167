{{/*
The URL mode's init container script (POSIX sh + curl). Arguments: the URLs,
sorted (sortAlpha: byte order, as ppa-import sorts archive paths). Pod
JOB_COMPLETION_INDEX of SHARD_COUNT downloads the URLs at positions
JOB_COMPLETION_INDEX, JOB_COMPLETION_INDEX + SHARD_COUNT, ... (every
SHARD_COUNT-th, as --shard-count selects archives) into ARCHIVE_DIR, each
named by its position and the last path segment of its URL, and lists them in
ARCHIVE_DIR/archives.list for `load --from-list` (an empty list when the shard
has no URL: the import then succeeds at once). URLs are never printed: they
may carry access tokens. The kubelet expands $(NAME) of the container's
variables and turns $$ into $ in a command: the script has neither (a test
checks it reaches sh unchanged); the URLs are written with $$ for each $
(ppa-import.literal), so they reach curl as given.
*/}}
{{- define "ppa-import.downloadScript" -}}
set -eu
case "$JOB_COMPLETION_INDEX" in ''|*[!0-9]*) echo "Error: JOB_COMPLETION_INDEX '$JOB_COMPLETION_INDEX' is not an index" >&2; exit 2 ;; esac
list="$ARCHIVE_DIR/archives.list"
: > "$list.partial"
position=0
for url in "$@"; do
  if [ $((position % SHARD_COUNT)) -eq "$JOB_COMPLETION_INDEX" ]; then
    base="${url%%[?#]*}"
    base="${base##*/}"
    file="$ARCHIVE_DIR/$(printf '%06d' "$position")-${base:-archive}"
    echo "Downloading archive $position of $# to '$file'..."
    curl --fail --silent --show-error --location --proto '=https,http' \
      --retry "$RETRIES" --retry-connrefused --connect-timeout 30 \
      --output "$file" "$url"
    echo "$file" >> "$list.partial"
  fi
  position=$((position + 1))
done
mv "$list.partial" "$list"
echo "Shard $JOB_COMPLETION_INDEX of $SHARD_COUNT: $(wc -l < "$list") archive(s) downloaded."
{{- end -}}
