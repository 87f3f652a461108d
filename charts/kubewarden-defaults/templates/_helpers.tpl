{{- define "kubewarden-defaults.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "kubewarden-defaults.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Labels of every object; templates add app.kubernetes.io/component. */}}
{{- define "kubewarden-defaults.labels" -}}
helm.sh/chart: {{ include "kubewarden-defaults.chart" . }}
app.kubernetes.io/name: {{ include "kubewarden-defaults.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: kubewarden
{{- with .Values.additionalLabels }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{- define "kubewarden-defaults.annotations" -}}
{{- with .Values.additionalAnnotations }}
{{- toYaml . }}
{{- end }}
{{- end }}

{{/* "<registry>/" or nothing. */}}
{{- define "kubewarden-defaults.registry" -}}
{{- with .Values.global.cattle.systemDefaultRegistry }}{{ . }}/{{ end }}
{{- end }}

{{/* Where the recommended policies' modules come from. */}}
{{- define "kubewarden-defaults.policyRegistry" -}}
{{- with .Values.recommendedPolicies.defaultPoliciesRegistry }}{{ . }}/{{ else }}{{ include "kubewarden-defaults.registry" . }}{{ end }}
{{- end }}

{{/* metadata and the spec fields every recommended policy shares.
     Argument: dict "root" $ "policy" <its values> "mutating" bool. */}}
{{- define "kubewarden-defaults.recommendedPolicy" -}}
{{- $root := .root }}
{{- $skip := concat $root.Values.global.skipNamespaces $root.Values.recommendedPolicies.skipAdditionalNamespaces }}
apiVersion: {{ $root.Values.crdVersion }}
kind: ClusterAdmissionPolicy
metadata:
  name: {{ .policy.name }}
  labels:
    {{- include "kubewarden-defaults.labels" $root | nindent 4 }}
    app.kubernetes.io/component: policy
  annotations:
    io.kubewarden.policy.category: PSP
    io.kubewarden.policy.severity: medium
    {{- with $root.Values.additionalAnnotations }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
spec:
  mode: {{ $root.Values.recommendedPolicies.defaultPolicyMode }}
  module: {{ include "kubewarden-defaults.policyRegistry" $root }}{{ .policy.module }}
  mutating: {{ .mutating }}
  {{- if $skip }}
  namespaceSelector:
    matchExpressions:
      - key: kubernetes.io/metadata.name
        operator: NotIn
        values:
          {{- toYaml $skip | nindent 10 }}
  {{- end }}
{{- end }}
