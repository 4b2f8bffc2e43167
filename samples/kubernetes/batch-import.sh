#!/usr/bin/env bash
# Overnight batch: import every archive under a directory, two at a time,
# keeping a JSON report per night (and printing it as the last line of the
# output, for the cron mail or the journal). Exit status: 0 all imported,
# 1 some item failed (see the report), 2 a usage or configuration error,
# 3 an archive was unreadable or unsafe.
#   PPA_IMPORT_REGISTRY=us.icr.io PPA_IMPORT_USERNAME=iamapikey \
#   PPA_IMPORT_PASSWORD=... samples/kubernetes/batch-import.sh /srv/ppa portal_prod
# The Kubernetes variant is the Helm chart in samples/kubernetes/chart/.
set -euo pipefail
dir="${1:?usage: batch-import.sh ARCHIVE_DIR NAMESPACE}"
ns="${2:?usage: batch-import.sh ARCHIVE_DIR NAMESPACE}"
report="ppa-import-$(date +%Y%m%d).json"
exec ppa-import load "$dir" --namespace "$ns" --parallel-archives 2 --json "$report" --json - -q
