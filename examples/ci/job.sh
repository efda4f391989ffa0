#!/bin/sh
# A CI job for a study: install daybreak-sdtm, lint the mapping specs, convert the raw export,
# validate the package. Every step that fails stops the job with its exit status (3: the specs or
# the export are unusable; 1: findings at or above $FAIL_ON). Keep $REPORTS (and $OUT) as the
# job's artifacts, also when it fails: lint.sarif, validation.sarif (code scanning),
# validation.junit.xml (test reports), validation.html (to read).
set -eu

STUDY="${STUDY:-mappings/daybreak-01}"           # the mapping specs (study.yaml and the domain specs)
EXPORT="${EXPORT:-examples/daybreak-01/export}"  # the raw EDC export
OUT="${OUT:-sdtm-out}"                           # the SDTM package
REPORTS="${REPORTS:-reports}"                    # the reports kept as artifacts
FAIL_ON="${FAIL_ON:-error}"                      # note, warning, error or never

# PYTHON: an interpreter that has daybreak-sdtm installed; unset, a virtual environment is made and
# DAYBREAK_SDTM_PACKAGE installed in it (a clone's path, "." when the job runs in one; a git URL).
if [ -z "${PYTHON:-}" ]; then
  python3 -m venv .venv
  .venv/bin/pip install "${DAYBREAK_SDTM_PACKAGE:-.}"
  PYTHON=.venv/bin/python
fi
mkdir -p "$REPORTS"

"$PYTHON" -m daybreak_sdtm lint "$STUDY" --export "$EXPORT" --format sarif -o "$REPORTS/lint.sarif"
# Published whatever the findings (but never a package the FDA would reject): validate judges it.
"$PYTHON" -m daybreak_sdtm convert --study "$STUDY" --export "$EXPORT" --out "$OUT" --fail-on never
"$PYTHON" -m daybreak_sdtm validate "$OUT" --format html -o "$REPORTS/validation.html" --fail-on never
"$PYTHON" -m daybreak_sdtm validate "$OUT" --format sarif -o "$REPORTS/validation.sarif" --fail-on never
# Last, so that every report is written first: its exit status is the job's.
"$PYTHON" -m daybreak_sdtm validate "$OUT" --format junit -o "$REPORTS/validation.junit.xml" --fail-on "$FAIL_ON"
