{{/* Names, the standard ones `helm create` makes, so tools and people find them. */}}
{{- define "nidan.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "nidan.fullname" -}}
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

{{- define "nidan.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "nidan.labels" -}}
helm.sh/chart: {{ include "nidan.chart" . }}
{{ include "nidan.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{- define "nidan.selectorLabels" -}}
app.kubernetes.io/name: {{ include "nidan.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "nidan.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "nidan.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "nidan.image" -}}
{{- if .Values.image.digest -}}
{{ .Values.image.repository }}@{{ .Values.image.digest }}
{{- else -}}
{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}
{{- end }}
{{- end }}

{{- define "nidan.secretName" -}}
{{- .Values.secrets.existingSecret | default (printf "%s-secrets" (include "nidan.fullname" .)) }}
{{- end }}

{{/*
Restricted Pod Security (https://kubernetes.io/docs/concepts/security/pod-security-standards/)
for every pod and container of the chart, the test pod included. Not a value: nothing turns it
off. tests/deploy/test_security.py checks every container of every render.
*/}}
{{- define "nidan.podSecurityContext" -}}
runAsNonRoot: true
runAsUser: 65532
runAsGroup: 65532
fsGroup: 65532
fsGroupChangePolicy: OnRootMismatch
seccompProfile:
  type: RuntimeDefault
{{- end }}

{{- define "nidan.containerSecurityContext" -}}
runAsNonRoot: true
runAsUser: 65532
runAsGroup: 65532
readOnlyRootFilesystem: true
allowPrivilegeEscalation: false
privileged: false
capabilities:
  drop: ["ALL"]
seccompProfile:
  type: RuntimeDefault
{{- end }}

{{/* Replicas the chart will run at most: the HPA's maximum, else replicaCount. */}}
{{- define "nidan.minReplicas" -}}
{{- if .Values.autoscaling.enabled }}{{ .Values.autoscaling.minReplicas }}{{ else }}{{ .Values.replicaCount }}{{ end }}
{{- end }}

{{/* The issuer's host name, for the checks against Ingress and HTTPRoute host names. */}}
{{- define "nidan.issuerHost" -}}
{{- (urlParse .Values.config.issuer).hostname }}
{{- end }}

{{/* Ports of the store's servers, from its URL (host:port,host:port). */}}
{{- define "nidan.storePorts" -}}
{{- $ports := list }}
{{- if eq .Values.store.backend "redis" }}
{{- $rest := regexReplaceAll "^[a-z+]+://" .Values.store.redis.url "" }}
{{- $hosts := regexReplaceAll "/.*$" $rest "" }}
{{- $sentinel := contains "sentinel" .Values.store.redis.url }}
{{- range splitList "," $hosts }}
{{- $port := regexFind ":[0-9]+$" . | trimPrefix ":" }}
{{- $ports = append $ports ($port | default (ternary "26379" "6379" $sentinel)) }}
{{- end }}
{{- if $sentinel }}
{{- /* Sentinel names the master; Nidan then talks to it on Redis's port. */}}
{{- $ports = append $ports "6379" }}
{{- end }}
{{- end }}
{{- $ports | uniq | join "," }}
{{- end }}

{{/* The secret files Nidan reads (key in the Secret -> why), failing on a missing name. */}}
{{- define "nidan.secretItems" -}}
{{- $keys := .Values.secrets.keys }}
{{- $items := dict }}
{{- if not $keys.dataKeys }}{{ fail "secrets.keys.dataKeys: name the Secret key that holds the data keys (one `idp keys new-data-key` line each)" }}{{ end }}
{{- if not $keys.cookieKeys }}{{ fail "secrets.keys.cookieKeys: name the Secret key that holds the cookie keys" }}{{ end }}
{{- $_ := set $items $keys.dataKeys "data keys" }}
{{- $_ := set $items $keys.cookieKeys "cookie keys" }}
{{- if and (eq .Values.store.backend "redis") .Values.store.redis.auth }}
{{- if not $keys.redisPassword }}{{ fail "secrets.keys.redisPassword: store.redis.auth is on, so name the Secret key that holds the Redis password" }}{{ end }}
{{- $_ := set $items $keys.redisPassword "Redis password" }}
{{- end }}
{{- if .Values.oidc.clientsFromSecret }}
{{- if not $keys.clients }}{{ fail "secrets.keys.clients: oidc.clientsFromSecret is on, so name the Secret key that holds clients.toml" }}{{ end }}
{{- $_ := set $items $keys.clients "clients file" }}
{{- end }}
{{- range $name, $transport := .Values.delivery.transports }}
{{- range $setting, $key := $transport.secretFiles }}
{{- $_ := set $items $key (printf "delivery.transports.%s.%s" $name $setting) }}
{{- end }}
{{- end }}
{{- toJson $items }}
{{- end }}

{{/* A TOML value from a YAML scalar or list (JSON strings and arrays are valid TOML). */}}
{{- define "nidan.tomlValue" -}}
{{- $v := . }}
{{- if kindIs "float64" $v }}
{{- if eq (floor $v) $v }}{{ int64 $v }}{{ else }}{{ $v }}{{ end }}
{{- else if kindIs "slice" $v -}}
[{{ range $i, $item := $v }}{{ if $i }}, {{ end }}{{ include "nidan.tomlValue" $item }}{{ end }}]
{{- else }}
{{- toJson $v }}
{{- end }}
{{- end }}

{{/* A TOML table and its sub-tables: include "nidan.tomlTable" (list "a.b" $dict). */}}
{{- define "nidan.tomlTable" -}}
{{- $path := index . 0 }}
{{- $table := index . 1 }}
[{{ $path }}]
{{- range $key := keys $table | sortAlpha }}
{{- $v := index $table $key }}
{{- if not (kindIs "map" $v) }}
{{ $key }} = {{ include "nidan.tomlValue" $v }}
{{- end }}
{{- end }}
{{- range $key := keys $table | sortAlpha }}
{{- $v := index $table $key }}
{{- if kindIs "map" $v }}
{{ include "nidan.tomlTable" (list (printf "%s.%s" $path $key) $v) }}
{{- end }}
{{- end }}
{{- end }}

{{/* Environment of the Nidan containers: where idp.toml is, then the operator's extras. */}}
{{- define "nidan.env" -}}
- name: IDP_CONFIG
  value: /etc/nidan/config/idp.toml
{{- with .Values.extraEnv }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{/* Mounts shared by the check-config initContainer and the server. */}}
{{- define "nidan.volumeMounts" -}}
- name: config
  mountPath: /etc/nidan/config
  readOnly: true
- name: secrets
  mountPath: {{ .Values.secrets.mountPath }}
  readOnly: true
- name: tmp
  mountPath: /tmp
{{- if eq .Values.store.backend "sqlite" }}
- name: data
  mountPath: {{ .Values.store.sqlite.dataDir }}
{{- end }}
{{- end }}
