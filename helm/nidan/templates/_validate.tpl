{{/* Every value combination the chart refuses, each with a message that says the fix. */}}
{{- define "nidan.validate" -}}
{{- $v := .Values }}
{{- if eq $v.store.backend "sqlite" }}
{{- if gt (int $v.replicaCount) 1 }}
{{- fail (printf "store.backend sqlite runs exactly one pod, but replicaCount is %d: use store.backend redis for more" (int $v.replicaCount)) }}
{{- end }}
{{- if $v.autoscaling.enabled }}
{{- fail "store.backend sqlite runs exactly one pod: autoscaling.enabled needs store.backend redis" }}
{{- end }}
{{- else }}
{{- if not $v.store.redis.url }}
{{- fail "store.redis.url: required with store.backend redis (redis://, rediss://, redis+sentinel:// or redis+cluster://)" }}
{{- end }}
{{- if regexMatch "://[^/]*@" $v.store.redis.url }}
{{- fail "store.redis.url: carries a user or password; put the password in the Secret and turn on store.redis.auth" }}
{{- end }}
{{- end }}
{{- if and $v.autoscaling.enabled (gt (int $v.autoscaling.minReplicas) (int $v.autoscaling.maxReplicas)) }}
{{- fail "autoscaling.minReplicas is larger than autoscaling.maxReplicas" }}
{{- end }}
{{- range $key := list "dev" "conformance" }}
{{- if index ($v.config.settings.server | default dict) $key }}
{{- fail (printf "config.settings.server.%s: never on a deployment people use (demo user and plain-http cookies, or a fixed second factor)" $key) }}
{{- end }}
{{- end }}
{{- $host := include "nidan.issuerHost" . }}
{{- if and $v.ingress.enabled (not (has $host $v.ingress.hosts)) }}
{{- fail (printf "ingress.hosts: the issuer's host %s is not among them (config.issuer and the Ingress must agree, or tokens name a host nobody reaches)" $host) }}
{{- end }}
{{- if $v.httpRoute.enabled }}
{{- if not (has $host $v.httpRoute.hostnames) }}
{{- fail (printf "httpRoute.hostnames: the issuer's host %s is not among them (config.issuer and the HTTPRoute must agree)" $host) }}
{{- end }}
{{- if not $v.httpRoute.parentRefs }}
{{- fail "httpRoute.parentRefs: name at least one Gateway to attach the HTTPRoute to" }}
{{- end }}
{{- end }}
{{- range $channel := list "sms" "voice" }}
{{- range $name := index $v.delivery $channel }}
{{- if not (hasKey $v.delivery.transports $name) }}
{{- fail (printf "delivery.%s: names the transport %q, which is not in delivery.transports" $channel $name) }}
{{- end }}
{{- if and (eq ((index $v.delivery.transports $name).type | default $name) "outbox") (not $v.delivery.allowOutbox) }}
{{- fail (printf "delivery.%s: the outbox transport %q keeps codes in a file in clear: configure twilio, sns or webhook (or set delivery.allowOutbox for a test deployment nobody signs in to)" $channel $name) }}
{{- end }}
{{- end }}
{{- end }}
{{- if and (or $v.metrics.serviceMonitor.enabled $v.metrics.podMonitor.enabled) (not $v.metrics.enabled) }}
{{- fail "metrics.serviceMonitor/podMonitor: turn on metrics.enabled too, or there is no port to scrape" }}
{{- end }}
{{- if and $v.metrics.serviceMonitor.enabled $v.metrics.podMonitor.enabled }}
{{- fail "metrics.serviceMonitor and metrics.podMonitor are both on: every pod would be scraped twice; keep one" }}
{{- end }}
{{- $items := include "nidan.secretItems" . | fromJson }}
{{- if $v.secrets.existingSecret }}
{{- /* Seen only where the cluster can be asked (helm install/upgrade); offline renders skip it
     and the check-config initContainer names the missing file instead. */}}
{{- $found := lookup "v1" "Secret" .Release.Namespace $v.secrets.existingSecret }}
{{- if $found }}
{{- range $key, $why := $items }}
{{- if not (hasKey ($found.data | default dict) $key) }}
{{- fail (printf "secrets.existingSecret: Secret %s has no key %q (the %s)" $v.secrets.existingSecret $key $why) }}
{{- end }}
{{- end }}
{{- end }}
{{- else }}
{{- $c := $v.secrets.create }}
{{- if not $c.dataKeys }}
{{- fail "secrets.create.dataKeys: give at least one data key (make one with `idp keys new-data-key`), or name secrets.existingSecret" }}
{{- end }}
{{- if not $c.cookieKeys }}
{{- fail "secrets.create.cookieKeys: give at least one cookie key (a long random string), or name secrets.existingSecret" }}
{{- end }}
{{- if and (eq $v.store.backend "redis") $v.store.redis.auth (not $c.redisPassword) }}
{{- fail "secrets.create.redisPassword: store.redis.auth is on but no password is given" }}
{{- end }}
{{- if and $v.oidc.clientsFromSecret (not $c.clients) }}
{{- fail "secrets.create.clients: oidc.clientsFromSecret is on but no clients.toml content is given" }}
{{- end }}
{{- $standard := list $v.secrets.keys.dataKeys $v.secrets.keys.cookieKeys $v.secrets.keys.redisPassword $v.secrets.keys.clients }}
{{- range $key, $why := $items }}
{{- if and (not (has $key $standard)) (not (hasKey $c.extra $key)) }}
{{- fail (printf "secrets.create.extra: %s needs the key %q in the chart-made Secret" $why $key) }}
{{- end }}
{{- end }}
{{- end }}
{{- end }}
