{{/* The Job's name: the release name, with the chart's name unless it holds it. */}}
{{- define "ppa-import.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 52 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 52 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "ppa-import.labels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{/* Paths inside the pods. */}}
{{- define "ppa-import.archiveDir" -}}/archives{{- end -}}
{{- define "ppa-import.workDir" -}}/work{{- end -}}
{{- define "ppa-import.reportDir" -}}/reports{{- end -}}
{{- define "ppa-import.authDir" -}}/etc/ppa-import/auth{{- end -}}

{{/*
A value as the string it stands for; argument: (list VALUE NAME). --set and
YAML make an all-digit value (a namespace 2024, an image tag, the name of a
claim or Secret) a number: an int renders as its digits; a float64 (a number
from a values file) as its digits, unless it has more than 15 (a float64 may
have lost some: the template fails, naming NAME); null renders as "".
*/}}
{{- define "ppa-import.string" -}}
{{- $value := index . 0 -}}
{{- if kindIs "invalid" $value -}}
{{- else if kindIs "float64" $value -}}
{{- if or (ge $value 1e15) (le $value -1e15) -}}
{{- fail (printf "%s: the number %v is too long to be kept exactly: write it in quotes (or use --set-string)" (index . 1) $value) -}}
{{- else if eq $value (floor $value) -}}
{{- printf "%.0f" $value -}}
{{- else -}}
{{- toString $value -}}
{{- end -}}
{{- else -}}
{{- toString $value -}}
{{- end -}}
{{- end -}}

{{/*
A user's value placed in a container's command, args or env, as it must be
written for the kubelet to pass it on unchanged: the kubelet expands
$(NAME) of the container's variables and turns $$ into $ there, so every $
is written $$. Argument: (list VALUE NAME), as ppa-import.string.
*/}}
{{- define "ppa-import.literal" -}}
{{- include "ppa-import.string" . | replace "$" "$$" -}}
{{- end -}}

{{/* URL mode: archives.urls is set (else the archives come from archives.claimName). */}}
{{- define "ppa-import.urlMode" -}}
{{- $urls := .Values.archives.urls | default list -}}
{{- $claim := include "ppa-import.string" (list .Values.archives.claimName "archives.claimName") -}}
{{- if and $urls $claim -}}
{{- fail "set either archives.claimName (a PVC of archives) or archives.urls (archives to download), not both" -}}
{{- end -}}
{{- if not (or $urls $claim) -}}
{{- fail "archives: set archives.claimName (a PVC holding the archives) or archives.urls (a list of URLs)" -}}
{{- end -}}
{{- if $urls -}}true{{- end -}}
{{- end -}}

{{/* JOB_COMPLETION_INDEX from the pod's annotation (the Job controller sets it too; this works in every container). */}}
{{- define "ppa-import.indexEnv" -}}
- name: JOB_COMPLETION_INDEX
  valueFrom:
    fieldRef:
      fieldPath: metadata.annotations['batch.kubernetes.io/job-completion-index']
{{- end -}}

{{/* The security context of every container: non-root, nothing gained, read-only root. */}}
{{- define "ppa-import.containerSecurityContext" -}}
allowPrivilegeEscalation: false
readOnlyRootFilesystem: true
capabilities:
  drop: ["ALL"]
{{- end -}}
