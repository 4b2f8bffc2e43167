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

{{/* URL mode: archives.urls is set (else the archives come from archives.claimName). */}}
{{- define "ppa-import.urlMode" -}}
{{- $urls := .Values.archives.urls | default list -}}
{{- $claim := .Values.archives.claimName | default "" -}}
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
