#!/usr/bin/env bash
# helm lint and helm template of helm/gspo with its default values and with the custom values of
# chart_test.py, where a helm binary is on the PATH; exit 77 (ctest: skipped) where none is.
#   helm_cli_test.sh CHART_DIR CUSTOM_VALUES
set -euo pipefail
chart=$1 custom=$2
if ! command -v helm >/dev/null; then
  echo "helm is not on the PATH: skipped (chart_test.py renders the chart without it)"
  exit 77
fi
helm lint --strict "$chart"
helm lint --strict "$chart" -f "$custom"
helm template test "$chart" >/dev/null
helm template test "$chart" -f "$custom" --namespace ml >/dev/null
echo "helm lint and helm template passed"
