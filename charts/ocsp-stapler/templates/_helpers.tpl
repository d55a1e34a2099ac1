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
{{ include "ocsp-stapler.commonLabels" . }}
{{- end -}}

{{/* The labels every object of the release carries besides its selector labels. */}}
{{- define "ocsp-stapler.commonLabels" -}}
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
{{- if .Values.probe.discover }}
{{- /* Endpoint discovery reads where the selected Secrets are served: read-only, and only when asked. */}}
- apiGroups: ["networking.k8s.io"]
  resources: ["ingresses"]
  verbs: ["get", "list", "watch"]
- apiGroups: ["gateway.networking.k8s.io"]
  resources: ["gateways"]
  verbs: ["get", "list", "watch"]
- apiGroups: [""]
  resources: ["services"]
  verbs: ["get", "list", "watch"]
{{- end }}
{{- end -}}


{{/* The image every pod of the release runs (the controller and the responder are one CLI). */}}
{{- define "ocsp-stapler.image" -}}
{{- printf "%s:%s" .Values.image.repository (.Values.image.tag | default .Chart.AppVersion) | quote -}}
{{- end -}}

{{/* The pods' securityContext: the restricted Pod Security Standard, for the controller and the responder alike. */}}
{{- define "ocsp-stapler.podSecurityContext" -}}
runAsNonRoot: true
runAsUser: 65532
runAsGroup: 65532
seccompProfile: { type: RuntimeDefault }
{{- end -}}

{{/* The containers' securityContext: read-only root, no privilege escalation, no capabilities. */}}
{{- define "ocsp-stapler.containerSecurityContext" -}}
allowPrivilegeEscalation: false
readOnlyRootFilesystem: true
capabilities: { drop: ["ALL"] }
{{- end -}}

{{/* Liveness on /healthz, readiness on /readyz, both on the container port named metrics. */}}
{{- define "ocsp-stapler.probes" -}}
livenessProbe:
  httpGet: { path: /healthz, port: metrics }
  periodSeconds: 20
readinessProbe:
  httpGet: { path: /readyz, port: metrics }
  periodSeconds: 5
{{- end -}}

{{/* The environment of a Node process of the release: a dict with logLevel, nodeOptions and mallocArenaMax (empty: glibc's default). */}}
{{- define "ocsp-stapler.env" -}}
- { name: LOG_LEVEL, value: {{ .logLevel | quote }} }
- { name: NODE_OPTIONS, value: {{ .nodeOptions | quote }} }
{{- if .mallocArenaMax }}
- { name: MALLOC_ARENA_MAX, value: {{ .mallocArenaMax | quote }} }
{{- end }}
{{- end -}}

{{/* The responder's objects (Deployment, ServiceAccount, RBAC, Service): "<fullname>-responder", within 63 characters. */}}
{{- define "ocsp-stapler.responderName" -}}
{{- printf "%s-responder" (include "ocsp-stapler.fullname" . | trunc 53 | trimSuffix "-") -}}
{{- end -}}

{{/*
The responder's pods have a name of their own: the controller's selectors (its
Deployment, metrics Service, PodDisruptionBudget and ServiceMonitor) match
app.kubernetes.io/name=<chart> and so never select them.
*/}}
{{- define "ocsp-stapler.responderSelectorLabels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}-responder
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: responder
{{- end -}}

{{- define "ocsp-stapler.responderLabels" -}}
{{ include "ocsp-stapler.responderSelectorLabels" . }}
app.kubernetes.io/part-of: {{ .Chart.Name }}
{{ include "ocsp-stapler.commonLabels" . }}
{{- end -}}

{{- define "ocsp-stapler.responderServiceAccountName" -}}
{{- default (include "ocsp-stapler.responderName" .) .Values.responder.serviceAccount.name -}}
{{- end -}}

{{/* The responder only reads Secrets (companions, and TLS Secrets for their InPlace keys): nothing else, no writes. */}}
{{- define "ocsp-stapler.responderRules" -}}
- apiGroups: [""]
  resources: ["secrets"]
  verbs: ["get", "list", "watch"]
{{- end -}}

{{/* The responder's URL for servers' configs (Apache SSLStaplingForceURL, nginx ssl_stapling_responder). */}}
{{- define "ocsp-stapler.responderUrl" -}}
{{- $port := int .Values.responder.service.port -}}
{{- printf "http://%s.%s.svc.cluster.local%s/" (include "ocsp-stapler.responderName" .) .Release.Namespace (ternary "" (printf ":%d" $port) (eq $port 80)) -}}
{{- end -}}
