{{/*
Name of the chart, or nameOverride.
*/}}
{{- define "streamspace-node-manager.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
Full name: fullnameOverride, else the release name (plus the chart name unless it is in the release name).
Truncated at 63 characters, the DNS label limit of some name fields.
*/}}
{{- define "streamspace-node-manager.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{/*
Namespace of every object: .Values.namespace (streamspace), else the release namespace.
*/}}
{{- define "streamspace-node-manager.namespace" -}}
{{- if .Values.namespace }}
{{- if and (ne .Release.Namespace "default") (ne .Release.Namespace .Values.namespace) }}
{{- fail (printf "the release namespace %q differs from namespace %q in the values: install with -n %s, or --set namespace=%s (or namespace=\"\" to follow -n)" .Release.Namespace .Values.namespace .Values.namespace .Release.Namespace) }}
{{- end }}
{{- .Values.namespace }}
{{- else }}
{{- .Release.Namespace }}
{{- end }}
{{- end }}

{{/*
Chart name and version, for the helm.sh/chart label.
*/}}
{{- define "streamspace-node-manager.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
Labels of every object.
*/}}
{{- define "streamspace-node-manager.labels" -}}
helm.sh/chart: {{ include "streamspace-node-manager.chart" . }}
{{ include "streamspace-node-manager.selectorLabels" . }}
{{- if .Chart.AppVersion }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
{{- end }}
app.kubernetes.io/component: node-manager
app.kubernetes.io/part-of: streamspace
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- with .Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{/*
Selector labels: stable across upgrades.
*/}}
{{- define "streamspace-node-manager.selectorLabels" -}}
app.kubernetes.io/name: {{ include "streamspace-node-manager.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/*
Name of the ServiceAccount.
*/}}
{{- define "streamspace-node-manager.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "streamspace-node-manager.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/*
The image: repository@digest, else repository:tag (tag defaults to the appVersion).
*/}}
{{- define "streamspace-node-manager.image" -}}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}
{{- end }}

{{/*
The Secret that holds JWT_SECRET and its key. There is no default secret: without jwt.secret or
jwt.existingSecret the install fails here with what to set.
*/}}
{{- define "streamspace-node-manager.jwtSecretName" -}}
{{- if and .Values.jwt.existingSecret .Values.jwt.secret }}
{{- fail "set jwt.existingSecret or jwt.secret, not both" }}
{{- else if .Values.jwt.existingSecret }}
{{- .Values.jwt.existingSecret }}
{{- else if .Values.jwt.secret }}
{{- printf "%s-jwt" (include "streamspace-node-manager.fullname" .) }}
{{- else }}
{{- fail "a JWT secret is required: set jwt.existingSecret to the Secret that holds StreamSpace's JWT secret (StreamSpace's chart: streamspace-secrets, key jwt-secret), or jwt.secret to the secret itself (at least 32 characters)" }}
{{- end }}
{{- end }}

{{- define "streamspace-node-manager.jwtSecretKey" -}}
{{- if .Values.jwt.existingSecret }}
{{- .Values.jwt.existingSecretKey }}
{{- else }}
{{- print "jwt-secret" }}
{{- end }}
{{- end }}

{{/*
The paths this service answers on the StreamSpace host.
*/}}
{{- define "streamspace-node-manager.routedPaths" -}}
- /api/plugins/streamspace-node-manager
- /api/v1/admin/nodes
{{- end }}

{{/*
The generated RBAC rules (files/rbac.json, from src/kube/permissions.ts by `npm run rbac`).
*/}}
{{- define "streamspace-node-manager.rbac" -}}
{{- $rbac := .Files.Get "files/rbac.json" | fromJson }}
{{- if not $rbac.clusterRole }}
{{- fail "files/rbac.json is missing or empty: run npm run rbac" }}
{{- end }}
{{- toJson $rbac }}
{{- end }}

{{/*
The base URL admins reach the service at: publicUrl, else the Ingress host, else the first
HTTPRoute hostname; empty when none is known (the service then uses the pod's own address).
*/}}
{{- define "streamspace-node-manager.publicUrl" -}}
{{- if .Values.publicUrl }}
{{- .Values.publicUrl }}
{{- else if .Values.ingress.enabled }}
{{- printf "%s://%s" (ternary "https" "http" (not (empty .Values.ingress.tls))) .Values.ingress.host }}
{{- else if and .Values.httpRoute.enabled .Values.httpRoute.hostnames }}
{{- printf "https://%s" (first .Values.httpRoute.hostnames) }}
{{- end }}
{{- end }}
