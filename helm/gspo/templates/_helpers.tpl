{{/* Names, labels and shared snippets of the gspo chart. */}}

{{/* Resource name prefix: the release name, with the chart name unless it already has it. */}}
{{- define "gspo.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 50 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 50 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "gspo.labels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{/* Selector labels of one component: call with (list $ "coordinator"). */}}
{{- define "gspo.selectorLabels" -}}
{{- $top := index . 0 -}}
app.kubernetes.io/name: {{ $top.Chart.Name }}
app.kubernetes.io/instance: {{ $top.Release.Name }}
app.kubernetes.io/component: {{ index . 1 }}
{{- end -}}

{{- define "gspo.image" -}}
{{ printf "%s:%s" .Values.image.repository (.Values.image.tag | default .Chart.AppVersion) }}
{{- end -}}

{{- define "gspo.tokensSecret" -}}
{{- if .Values.tokens.create -}}
{{ include "gspo.fullname" . }}-tokens
{{- else -}}
{{ required "tokens.existingSecret is required when tokens.create is false" .Values.tokens.existingSecret }}
{{- end -}}
{{- end -}}

{{- define "gspo.sharedClaim" -}}
{{- .Values.shared.existingClaim | default (printf "%s-shared" (include "gspo.fullname" .)) -}}
{{- end -}}

{{- define "gspo.coordinatorAddress" -}}
{{ include "gspo.fullname" . }}-coordinator:{{ .Values.coordinator.grpcPort }}
{{- end -}}

{{/* Restarts the pods when the chart-made token Secret changes (tokens are read at start). */}}
{{- define "gspo.tokensChecksum" -}}
checksum/tokens: {{ include "gspo.tokensSecretData" . | sha256sum }}
{{- end -}}

{{- define "gspo.tokensSecretData" -}}
client.token: {{ required "tokens.client is required when tokens.create is true" .Values.tokens.client | b64enc }}
worker.token: {{ required "tokens.worker is required when tokens.create is true" .Values.tokens.worker | b64enc }}
{{- end -}}
