{{/* The release's full name, at most 63 characters. */}}
{{- define "ocsp-stapler.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "ocsp-stapler.selectorLabels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "ocsp-stapler.labels" -}}
{{ include "ocsp-stapler.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{- define "ocsp-stapler.serviceAccountName" -}}
{{- default (include "ocsp-stapler.fullname" .) .Values.serviceAccount.name -}}
{{- end -}}

{{/* Leader election is forced on with more than one replica: two writers must never run. */}}
{{- define "ocsp-stapler.leaderElect" -}}
{{- if or .Values.leaderElection.enabled (gt (int .Values.replicas) 1) -}}true{{- end -}}
{{- end -}}

{{/* What the operator does with Secrets: read TLS Secrets, write only its companions (by label, in code). */}}
{{- define "ocsp-stapler.namespacedRules" -}}
- apiGroups: [""]
  resources: ["secrets"]
  verbs: ["get", "list", "watch", "create", "patch", "delete"]
- apiGroups: [""]
  resources: ["events"]
  verbs: ["create"]
- apiGroups: ["ocsp-stapler.io"]
  resources: ["stapleconfigs"]
  verbs: ["get", "list", "watch"]
- apiGroups: ["ocsp-stapler.io"]
  resources: ["stapleconfigs/status"]
  verbs: ["patch"]
{{- end -}}
