#!/usr/bin/env bash
# benches/polars_csv.sh: obc's reader and polars' CSV reader on the same files, in the
# same run (issue 15). The files are those of benches/scale.sh's 1,000,000-student
# district (run it first, or give WORKDIR).
#
#   benches/polars_csv.sh [WORKDIR]       # WORKDIR defaults to /tmp/obc-scale
#
# polars (the Python package, the same Rust engine) goes into its own venv,
# WORKDIR/polars-venv. Both readers get 2 threads (POLARS_MAX_THREADS=2,
# RAYON_NUM_THREADS=2). Timings go in benches/README.md, never in tests.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
WORK=${1:-/tmp/obc-scale}
BIG=$WORK/sim1m
for f in roster sessions assessments; do
    [[ -f $BIG/$f.csv ]] || { echo "$BIG/$f.csv is missing: run benches/scale.sh first" >&2; exit 1; }
done
FILES="$BIG/roster.csv,$BIG/sessions.csv,$BIG/assessments.csv"

VENV=$WORK/polars-venv
if [[ ! -x $VENV/bin/python ]]; then
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install --quiet polars
fi

echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "== obc (benches/reader.rs)"
(cd "$ROOT" && RAYON_NUM_THREADS=2 OBC_READER_FILES=$FILES cargo bench --quiet --bench reader)
echo
echo "== polars"
POLARS_MAX_THREADS=2 "$VENV/bin/python" "$ROOT/benches/polars_csv.py" ${FILES//,/ }
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
