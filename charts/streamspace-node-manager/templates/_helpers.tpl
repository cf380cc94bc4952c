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
Namespace of every object: the release namespace (`helm install -n streamspace`), as in
StreamSpace's chart. The deprecated value `namespace` is accepted when it names that same namespace;
naming another one fails rather than being ignored (earlier versions put the objects there).
*/}}
{{- define "streamspace-node-manager.namespace" -}}
{{- if and .Values.namespace (ne .Values.namespace .Release.Namespace) }}
{{- fail (printf "namespace %q in the values is deprecated and differs from the release namespace %q: the chart installs into the release namespace; install with -n %s (or drop the namespace value)" .Values.namespace .Release.Namespace .Values.namespace) }}
{{- end }}
{{- .Release.Namespace }}
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
The image: [registry/]repository@digest, else [registry/]repository:tag (tag defaults to the
appVersion). The registry is global.imageRegistry, else image.registry, as in StreamSpace's chart.
*/}}
{{- define "streamspace-node-manager.image" -}}
{{- $registry := (.Values.global).imageRegistry | default .Values.image.registry }}
{{- $repository := .Values.image.repository }}
{{- /* A first path part with "." or ":" or "localhost" is a registry host (Docker's rule): the earlier, full form. */}}
{{- $parts := splitList "/" $repository }}
{{- $first := first $parts }}
{{- $full := and (gt (len $parts) 1) (or (contains "." $first) (contains ":" $first) (eq $first "localhost")) }}
{{- if and $registry (not $full) }}
{{- $repository = printf "%s/%s" (trimSuffix "/" $registry) $repository }}
{{- end }}
{{- if .Values.image.digest }}
{{- printf "%s@%s" $repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" $repository (default .Chart.AppVersion .Values.image.tag) }}
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
The generated RBAC rules for the enabled features (files/rbac.json, from src/kube/permissions.ts by
`npm run rbac`): {clusterRole, role, nodeEventsRole} for autoscaling.provider.
*/}}
{{- define "streamspace-node-manager.rbac" -}}
{{- $rbac := .Files.Get "files/rbac.json" | fromJson }}
{{- if not $rbac.autoscalingProvider }}
{{- fail "files/rbac.json is missing or empty: run npm run rbac" }}
{{- end }}
{{- $roles := get $rbac.autoscalingProvider .Values.autoscaling.provider }}
{{- if not $roles }}
{{- fail (printf "autoscaling.provider %q: files/rbac.json has no rules for it (one of: %s)" .Values.autoscaling.provider (keys $rbac.autoscalingProvider | sortAlpha | join ", ")) }}
{{- end }}
{{- toJson $roles }}
{{- end }}

{{/*
Where Events about Nodes live (files/rbac.json: "default", the only namespace a real API server accepts them in).
*/}}
{{- define "streamspace-node-manager.nodeEventNamespace" -}}
{{- (.Files.Get "files/rbac.json" | fromJson).nodeEventNamespace | required "files/rbac.json has no nodeEventNamespace: run npm run rbac" }}
{{- end }}

{{/*
Ingress hosts: the deprecated ingress.host when set (the earlier form), else ingress.hosts[].host
(StreamSpace's form).
*/}}
{{- define "streamspace-node-manager.ingressHosts" -}}
{{- $hosts := list }}
{{- if .Values.ingress.host }}
{{- $hosts = list .Values.ingress.host }}
{{- else }}
{{- range .Values.ingress.hosts }}
{{- $hosts = append $hosts .host }}
{{- end }}
{{- end }}
{{- toJson $hosts }}
{{- end }}

{{/*
Ingress TLS entries: the deprecated list ingress.tls[] as given; else, with ingress.tls.enabled,
one entry for every host with ingress.tls.secretName (default <fullname>-tls, as StreamSpace's chart).
*/}}
{{- define "streamspace-node-manager.ingressTls" -}}
{{- $tls := list }}
{{- if kindIs "slice" .Values.ingress.tls }}
{{- $tls = .Values.ingress.tls }}
{{- else if .Values.ingress.tls.enabled }}
{{- $secret := .Values.ingress.tls.secretName | default (printf "%s-tls" (include "streamspace-node-manager.fullname" .)) }}
{{- $tls = list (dict "hosts" (include "streamspace-node-manager.ingressHosts" . | fromJsonArray) "secretName" $secret) }}
{{- end }}
{{- toJson $tls }}
{{- end }}

{{/*
Seconds a proxy must wait for one answer: the longest drain (drainTimeoutSeconds) plus a margin,
unless ingress/httpRoute name their own. SSE streams (drain and maintenance events) stay open as
long; nginx-ingress' own default (60 s) would cut both.
*/}}
{{- define "streamspace-node-manager.proxyTimeoutSeconds" -}}
{{- add (int .Values.drain.timeoutSeconds) (int .Values.drain.proxyMarginSeconds) }}
{{- end }}

{{/*
The base URL admins reach the service at: publicUrl, else the Ingress host, else the first
HTTPRoute hostname; empty when none is known (the service then uses the pod's own address).
*/}}
{{- define "streamspace-node-manager.publicUrl" -}}
{{- if .Values.publicUrl }}
{{- .Values.publicUrl }}
{{- else if .Values.ingress.enabled }}
{{- printf "%s://%s" (ternary "https" "http" (not (empty (include "streamspace-node-manager.ingressTls" . | fromJsonArray)))) (first (include "streamspace-node-manager.ingressHosts" . | fromJsonArray)) }}
{{- else if and .Values.httpRoute.enabled .Values.httpRoute.hostnames }}
{{- printf "https://%s" (first .Values.httpRoute.hostnames) }}
{{- end }}
{{- end }}

{{/*
SESSION_STORE_URL from sessionStore: the URL, with the password from sessionStore.existingSecret
put in as the URL's password (Kubernetes expands $(SESSION_STORE_PASSWORD) from the variable
defined just before it).
*/}}
{{- define "streamspace-node-manager.sessionStoreEnv" -}}
{{- with .Values.sessionStore }}
{{- if and .existingSecret (not .url) }}
{{- fail "sessionStore.existingSecret needs sessionStore.url (e.g. redis://streamspace-redis:6379/0)" }}
{{- end }}
{{- if .url }}
{{- if .existingSecret }}
{{- if regexMatch "^rediss?://[^/]*@" .url }}
{{- fail "sessionStore.url already holds credentials: with sessionStore.existingSecret, give the URL without them" }}
{{- end }}
- name: SESSION_STORE_PASSWORD
  valueFrom:
    secretKeyRef:
      name: {{ .existingSecret }}
      key: {{ .existingSecretKey }}
- name: SESSION_STORE_URL
  value: {{ regexReplaceAll "^(rediss?://)" .url "${1}:$(SESSION_STORE_PASSWORD)@" | quote }}
{{- else }}
- name: SESSION_STORE_URL
  value: {{ .url | quote }}
{{- end }}
{{- end }}
{{- end }}
{{- end }}

{{/*
Whether a part of monitoring is on: its own enabled when set (true alone is the earlier form),
else monitoring.enabled. Called with (list $ "serviceMonitor"); prints "true" or nothing.
*/}}
{{- define "streamspace-node-manager.monitoringOn" -}}
{{- $root := index . 0 }}
{{- $own := (get $root.Values.monitoring (index . 1)).enabled }}
{{- if kindIs "invalid" $own }}{{ $own = $root.Values.monitoring.enabled }}{{ end }}
{{- if $own }}true{{ end }}
{{- end }}
