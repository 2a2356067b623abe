{{/*
kubeProxyReplacement as the string the agent reads: null and "" mean "false"; booleans become
"true"/"false". Anything else is returned as given so the caller can reject it.
*/}}
{{- define "lab.kubeProxyReplacement" -}}
{{- $v := toString .Values.kubeProxyReplacement -}}
{{- if or (eq $v "<nil>") (eq $v "") -}}false{{- else -}}{{ $v }}{{- end -}}
{{- end -}}

{{/* IPv4 masquerading as rendered: unset means on. */}}
{{- define "lab.ipv4Masquerade" -}}
{{- if kindIs "invalid" .Values.enableIPv4Masquerade -}}true{{- else -}}{{ .Values.enableIPv4Masquerade }}{{- end -}}
{{- end -}}

{{/* Whether Envoy runs as its own DaemonSet (envoy.enabled unset means yes while l7Proxy is on). */}}
{{- define "lab.envoyDaemonSet" -}}
{{- if kindIs "invalid" .Values.envoy.enabled -}}{{ ternary "true" "false" (ne .Values.l7Proxy false) }}{{- else -}}{{ .Values.envoy.enabled }}{{- end -}}
{{- end -}}

{{- define "lab.labels" -}}
app.kubernetes.io/part-of: cilium
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ .Chart.Name }}-{{ .Chart.Version }}
{{- end -}}

{{/* The agent's apiserver address, as the real chart passes it: only when set. */}}
{{- define "lab.apiserverEnv" -}}
{{- if .Values.k8sServiceHost }}
- name: KUBERNETES_SERVICE_HOST
  value: {{ .Values.k8sServiceHost | quote }}
{{- end }}
{{- if .Values.k8sServicePort }}
- name: KUBERNETES_SERVICE_PORT
  value: {{ .Values.k8sServicePort | quote }}
{{- end }}
{{- end -}}
