{{/* Chart name, or nameOverride; DNS labels stop at 63 characters. */}}
{{- define "kubewarden-controller.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Object name prefix: fullnameOverride, else the release name, joined with the chart name
     unless the release name already contains it. */}}
{{- define "kubewarden-controller.fullname" -}}
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

{{/* The CronJob's name: 52 characters at most, since its Jobs append 11 more. */}}
{{- define "audit-scanner.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 52 | trimSuffix "-" }}
{{- else }}
{{- $name := default "audit-scanner" .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 52 | trimSuffix "-" }}
{{- else }}
{{- $name | trunc 52 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "kubewarden-controller.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "kubewarden-controller.selectorLabels" -}}
app.kubernetes.io/name: {{ include "kubewarden-controller.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/* Labels of every object; `component` is the part of Kubewarden it belongs to. */}}
{{- define "kubewarden-controller.labels" -}}
helm.sh/chart: {{ include "kubewarden-controller.chart" . }}
{{ include "kubewarden-controller.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/component: controller
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: kubewarden
{{- with .Values.additionalLabels }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{/* Labels of the audit scanner's objects: its pods must not match the controller's selector. */}}
{{- define "audit-scanner.labels" -}}
helm.sh/chart: {{ include "kubewarden-controller.chart" . }}
app.kubernetes.io/name: audit-scanner
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/component: audit-scanner
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: kubewarden
{{- with .Values.additionalLabels }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{/* The metadata.annotations block: empty map when there is nothing to add. */}}
{{- define "kubewarden-controller.annotations" -}}
{{- if .Values.additionalAnnotations }}
{{- toYaml .Values.additionalAnnotations }}
{{- else -}}
{}
{{- end }}
{{- end }}

{{- define "kubewarden-controller.serviceAccountName" -}}
{{- include "kubewarden-controller.fullname" . }}
{{- end }}

{{- define "kubewarden-controller.webhookService" -}}
{{- include "kubewarden-controller.fullname" . }}-webhook-service
{{- end }}

{{/* Secret with the webhook server's certificate; the name upstream's controller mounts. */}}
{{- define "kubewarden-controller.webhookSecret" -}}
webhook-server-cert
{{- end }}

{{/* "<registry>/" or nothing. */}}
{{- define "kubewarden-controller.registry" -}}
{{- with .Values.global.cattle.systemDefaultRegistry }}{{ . }}/{{ end }}
{{- end }}

{{/* image: dict with repository and tag, plus the root context as "root". */}}
{{- define "kubewarden-controller.image" -}}
{{- include "kubewarden-controller.registry" .root }}{{ .image.repository }}:{{ .image.tag }}
{{- end }}

{{/* imagePullSecrets entries: plain names become {name: …}. */}}
{{- define "kubewarden-controller.imagePullSecrets" -}}
{{- $out := list }}
{{- range . }}
{{- if kindIs "string" . }}
{{- $out = append $out (dict "name" .) }}
{{- else }}
{{- $out = append $out . }}
{{- end }}
{{- end }}
{{- toYaml $out }}
{{- end }}

{{/* The audit scanner's argv (spec §5.1 flags, plus our stores and parallelism). */}}
{{- define "audit-scanner.command" -}}
- /audit-scanner
- --kubewarden-namespace
- {{ .Release.Namespace }}
- --loglevel
- {{ .Values.auditScanner.logLevel }}
- --store
- {{ .Values.auditScanner.store }}
{{- if eq .Values.auditScanner.store "sqlite" }}
- --store-path
- {{ .Values.auditScanner.storePath }}
{{- else if eq .Values.auditScanner.store "postgres" }}
- --store-url
{{- if .Values.auditScanner.storeUrl }}
- {{ .Values.auditScanner.storeUrl | quote }}
{{- else }}
- $(KUBEWARDEN_AUDIT_STORE_URL)
{{- end }}
{{- end }}
{{- with .Values.auditScanner.reportGranularity }}
- --report-granularity
- {{ . }}
{{- end }}
- --extra-ca
- /pki/policy-server-root-ca-pem
{{- if .Values.auditScanner.outputScan }}
- --output-scan
{{- end }}
{{- with .Values.auditScanner.parallelNamespaces }}
- --parallel-namespaces
- {{ . | quote }}
{{- end }}
{{- with .Values.auditScanner.parallelResources }}
- --parallel-resources
- {{ . | quote }}
{{- end }}
{{- with .Values.auditScanner.parallelPolicies }}
- --parallel-policies
- {{ . | quote }}
{{- end }}
{{- with .Values.auditScanner.pageSize }}
- --page-size
- {{ . | quote }}
{{- end }}
{{- range concat .Values.global.skipNamespaces .Values.auditScanner.skipAdditionalNamespaces }}
- -i
- {{ . }}
{{- end }}
{{- end }}
