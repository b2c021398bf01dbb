{{/*
idp.toml, built from values as one dict and written as TOML. Secrets are never in it: only the
paths of the files the Secret is mounted as (Nidan's `*_file` settings).
*/}}
{{- define "nidan.config" -}}
{{- $secretDir := .Values.secrets.mountPath }}
{{- $server := dict "issuer" .Values.config.issuer "host" "0.0.0.0" "port" 8000 "workers" .Values.config.workers }}
{{- with .Values.config.trustedProxies }}{{ $_ := set $server "trusted_proxies" . }}{{ end }}
{{- if not (kindIs "invalid" .Values.shutdown.drainSeconds) }}{{ $_ := set $server "shutdown_timeout" .Values.shutdown.drainSeconds }}{{ end }}
{{- $store := dict "prefix" .Values.store.prefix }}
{{- if eq .Values.store.backend "sqlite" }}
{{- $_ := set $store "url" (printf "sqlite:///%s/nidan.sqlite3" .Values.store.sqlite.dataDir) }}
{{- else }}
{{- $_ := set $store "url" .Values.store.redis.url }}
{{- with .Values.store.redis.username }}{{ $_ := set $store "username" . }}{{ end }}
{{- if .Values.store.redis.auth }}{{ $_ := set $store "password_file" (printf "%s/%s" $secretDir .Values.secrets.keys.redisPassword) }}{{ end }}
{{- end }}
{{- $secrets := dict "data_keys_file" (printf "%s/%s" $secretDir .Values.secrets.keys.dataKeys) "cookie_keys_file" (printf "%s/%s" $secretDir .Values.secrets.keys.cookieKeys) }}
{{- $transports := dict }}
{{- range $name, $t := .Values.delivery.transports }}
{{- $one := deepCopy ($t.settings | default dict) }}
{{- $_ := set $one "type" ($t.type | default $name) }}
{{- range $setting, $key := $t.secretFiles }}{{ $_ := set $one (printf "%s_file" $setting) (printf "%s/%s" $secretDir $key) }}{{ end }}
{{- $_ := set $transports $name $one }}
{{- end }}
{{- $delivery := dict "sms" .Values.delivery.sms "voice" .Values.delivery.voice "transports" $transports }}
{{- if .Values.delivery.allowOutbox }}{{ $_ := set $delivery "allow_outbox" true }}{{ end }}
{{- $oidc := dict }}
{{- if .Values.oidc.clientsFromSecret }}{{ $_ := set $oidc "clients_file" (printf "%s/%s" $secretDir .Values.secrets.keys.clients) }}{{ end }}
{{- $cfg := dict "server" $server "store" $store "secrets" $secrets "delivery" $delivery "methods" (deepCopy .Values.methods) "logging" (dict "level" .Values.config.logLevel "json" true) "oidc" $oidc }}
{{- if .Values.metrics.enabled }}{{ $_ := set $cfg "metrics" (dict "listen" (printf "0.0.0.0:%d" (int .Values.metrics.port))) }}{{ end }}
{{- range $section, $settings := .Values.config.settings }}
{{- if hasKey $cfg $section }}
{{- $_ := set $cfg $section (merge (deepCopy (index $cfg $section)) $settings) }}
{{- else }}
{{- $_ := set $cfg $section $settings }}
{{- end }}
{{- end -}}
# Rendered by the nidan chart from its values; check with `idp check-config`.
{{- range $section := keys $cfg | sortAlpha }}
{{- $table := index $cfg $section }}
{{- if eq $section "methods" }}
{{- range $method := keys $table | sortAlpha }}
{{ include "nidan.tomlTable" (list (printf "methods.%s" $method) (index $table $method)) }}
{{- end }}
{{- else }}
{{ include "nidan.tomlTable" (list $section $table) }}
{{- end }}
{{- end }}
{{- end }}
