{{/*
Names. Cluster-scoped objects carry the release's name, so two releases
(one per tenant group) can live side by side; the release name "cutover"
gives the names config/default uses.
*/}}
{{- define "cutover.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 50 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 50 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{/*
app.kubernetes.io/name stays the chart's name whatever the release is called:
the PodMonitor turns it into job="cutover", which the alert rules select on.
*/}}
{{- define "cutover.selectorLabels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "cutover.labels" -}}
{{ include "cutover.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{- end -}}

{{- define "cutover.image" -}}
{{- printf "%s:%s" .Values.image.repository (.Values.image.tag | default .Chart.AppVersion) -}}
{{- end -}}

{{- define "cutover.leaseNamespace" -}}
{{- .Values.leaderElection.leaseNamespace | default .Release.Namespace -}}
{{- end -}}

{{/*
The objects of a file under files/ (copies of config/, see
test/install/chart-files.ts), as a YAML list: include then fromYamlArray.
*/}}
{{- define "cutover.fileObjects" -}}
{{- $objects := list -}}
{{- range splitList "\n---\n" (.root.Files.Get .path) -}}
{{- $object := fromYaml . -}}
{{- if $object.kind -}}
{{- $objects = append $objects $object -}}
{{- end -}}
{{- end -}}
{{- toYaml $objects -}}
{{- end -}}

{{/*
The first object of kind .kind in file .path.
*/}}
{{- define "cutover.fileObject" -}}
{{- $found := dict -}}
{{- range include "cutover.fileObjects" . | fromYamlArray -}}
{{- if and (eq .kind $.kind) (not $found.kind) -}}
{{- $found = . -}}
{{- end -}}
{{- end -}}
{{- if not $found.kind -}}
{{- fail (printf "no %s in %s" .kind .path) -}}
{{- end -}}
{{- toYaml $found -}}
{{- end -}}
