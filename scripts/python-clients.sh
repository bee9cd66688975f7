#!/usr/bin/env bash
# Installs the real Sahara clients (python-saharaclient and the openstack CLI) into a virtualenv
# under .cache/, used by the end-to-end tests. Re-installs only when the pinned versions change.
set -euo pipefail
cd "$(dirname "$0")/.."

venv=.cache/pyclients
requirements="python-saharaclient==4.2.0 python-openstackclient==10.5.0"
stamp="$venv/.oasis-requirements"

if [[ -f "$stamp" && "$(cat "$stamp")" == "$requirements" ]]; then
  exit 0
fi
python3 -m venv --clear "$venv"
# shellcheck disable=SC2086
"$venv/bin/pip" install --quiet --disable-pip-version-check $requirements
echo "$requirements" > "$stamp"
