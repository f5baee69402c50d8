#!/usr/bin/env bash
# benches/scale.sh: `obc check` and `obc baseline` at the scale the issue asks for.
#
#   (a) `obc check` on a contract over 1,000,000 students, 2,000 bootstrap replicates
#       (target: under 60 s wall and under 4 GiB peak RSS on 2 cores);
#   (b) `obc baseline` with a 10 x 5 x 5 grid (10 thresholds, 5 effects, 5 provider sizes)
#       and 1,000 replicates per cell on >= 200,000 history students (target: under 60 s);
#   plus `obc validate` and `obc prepare` (CSV and Parquet output) on the same
#   1,000,000-student contract, for comparison with (a).
#
# Usage (from the repository root):
#   benches/scale.sh [WORKDIR]          # WORKDIR defaults to /tmp/obc-scale
#
# (c) `obc baseline` as (b) with `population = "like_served"`: a planned roster of the
#     simulation's tutored students (target: within 2x of (b)).
#
# (d) `obc baseline` as (b) with a rate card (issue 17: the price of the contract, cost.csv):
#     contract_card.toml replaces [payment] with a base, a per-student line, a graduated ramp,
#     an engagement line, a tier bonus, a penalty, a student cap and a cap (target: within
#     1.5x of (b), or of (b) timed with OBC_BEFORE).
#
# Environment:
#   ONLY=baseline  time the baselines only
#   READER_BENCH  path of the built reader benchmark (`cargo bench --bench reader --no-run`
#             prints it): also time the reader alone on the 1,000,000-student files
#   OBC_BEFORE  path of an earlier release `obc` (before the price of the contract): (b) is
#             also timed with it, as "baseline_before", the time (d) is compared with
#   OBC       path of a release `obc` binary (default: build one with cargo into
#             ${CARGO_TARGET_DIR:-target}/release/obc)
#   REGEN=1   regenerate the data even if WORKDIR already holds it
#
# Data (about 1.6 GB on disk, a few minutes to generate):
#   WORKDIR/sim250k   `obc simulate --students 250000 --providers 26 --seed 7`; its
#                     history.csv (about 233,000 history students with both tests) is the
#                     history for both contracts.
#   WORKDIR/sim1m     four copies of sim250k's roster, sessions and assessments, with the
#                     copy number 1-4 prefixed to every student_id (1,000,000 students,
#                     about 22 million session rows); contract.toml is sim250k's contract;
#                     contract_bench.toml adds the history and the settlement terms of
#                     data-samples/contract.toml ([norms] ... [midpoint], replicates = 2000);
#                     contract_baseline.toml adds the history, [norms], [outcome], [metric]
#                     and [baseline] (sizes 25..400, effects 0..0.4, 1,000 replicates; the
#                     default 10 thresholds).
#
# Each timed command runs under /usr/bin/time -v; the script prints the load average before
# and after, the wall time and the maximum resident set size. Timings are recorded in
# benches/README.md, never asserted in tests.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
WORK=${1:-/tmp/obc-scale}
if [[ -z "${OBC:-}" ]]; then
    (cd "$ROOT" && cargo build --release --quiet)
    OBC="${CARGO_TARGET_DIR:-$ROOT/target}/release/obc"
fi
OBC=$(realpath "$OBC")   # the timings run from the data folder
[[ -z "${READER_BENCH:-}" ]] || READER_BENCH=$(realpath "$READER_BENCH")
[[ -x /usr/bin/time ]] || { echo "needs GNU time at /usr/bin/time" >&2; exit 1; }

SRC=$WORK/sim250k
BIG=$WORK/sim1m
mkdir -p "$WORK"

# --- data ------------------------------------------------------------------------------
if [[ "${REGEN:-0}" == 1 || ! -f $SRC/history.csv ]]; then
    rm -rf "$SRC"
    "$OBC" simulate --students 250000 --providers 26 --seed 7 --out "$SRC"
fi

if [[ "${REGEN:-0}" == 1 || ! -f $BIG/sessions.csv ]]; then
    rm -rf "$BIG"
    mkdir -p "$BIG"
    for f in roster sessions assessments; do
        # header once, then the data rows of copy k with "k" prefixed to student_id
        # (student_id is the first column of all three files in the simulator's output).
        head -n 1 "$SRC/$f.csv" > "$BIG/$f.csv"
        for k in 1 2 3 4; do
            tail -n +2 "$SRC/$f.csv" | sed "s/^/$k/" >> "$BIG/$f.csv"
        done
    done
    cp "$SRC/contract.toml" "$BIG/contract.toml"
fi

hist_both=$(awk -F, 'NR > 1 { w[$1] = w[$1] " " $5 }
    END { n = 0; for (s in w) if (w[s] ~ /fall/ && w[s] ~ /spring/) n++; print n }' "$SRC/history.csv")
echo "history students with a fall and a spring test: $hist_both"
if (( hist_both < 200000 )); then
    echo "fewer than 200,000 history students; concatenate a second seed's history" >&2
    exit 1
fi

# The simulated contract already holds the settlement terms of data-samples/contract.toml
# (the same generator writes both) and names history.csv: point it at sim250k's history.
with_history() {
    grep -q '^history = "history.csv"$' "$BIG/contract.toml" \
        || { echo "contract.toml of the simulation names no history.csv; update this script" >&2; exit 1; }
    # The script replaces keys and appends tables; a key or table the simulated contract
    # already has would be written twice (a TOML error): stop instead.
    for key in '^allow_outside' '^\[baseline\]' '^\[baseline\.served\]' '^\[\[rate\]\]'; do
        if grep -q "$key" "$BIG/contract.toml"; then
            echo "contract.toml of the simulation already has ${key#^}; update this script" >&2
            exit 1
        fi
    done
    # (an absolute path outside the contract's folder needs allow_outside)
    sed -e "s|^history = \"history.csv\"|history = \"$SRC/history.csv\"|" \
        -e 's|^\[files\]$|[files]\nallow_outside = true|' "$BIG/contract.toml"
}
with_history | sed 's/^replicates = .*/replicates = 2000/' > "$BIG/contract_bench.toml"
{
    with_history
    cat <<'EOF'

[baseline]
sizes = [25, 50, 100, 200, 400]
effects = [0, 0.1, 0.2, 0.3, 0.4]
replicates = 1000
EOF
} > "$BIG/contract_baseline.toml"
# The like-served baseline (issue 20): the same + a planned roster, every tutored student of
# sim250k with its first valid fall score and groups (roster columns: student_id,
# school_id, grade, provider_id, tutor_id, enroll_date, exit_date, low_income,
# race_ethnicity, english_learner, disability, gender; assessments: student_id, subject,
# test_date, window, school_year, grade, scale_score, sem, valid).
awk -F, 'NR == FNR { if (FNR > 1 && $4 == "fall" && $9 == "true" && !($1 in fall)) fall[$1] = $7; next }
    FNR == 1 { print "student_id,grade,pre_score,low_income,race_ethnicity,english_learner,disability,gender"; next }
    $4 != "" && ($1 in fall) { print $1 "," $3 "," fall[$1] "," $8 "," $9 "," $10 "," $11 "," $12 }' \
    "$SRC/assessments.csv" "$SRC/roster.csv" > "$BIG/planned.csv"
cp "$BIG/planned.csv" "$SRC/planned.csv"
# The rate-card baseline (issue 17): contract_baseline.toml with its [payment] section
# replaced by a card of every kind of line (the tiers keep their pool_share for the bonus).
{
    awk '/^\[payment\]$/ { skip = 1; next } /^\[/ { skip = 0 } !skip' "$BIG/contract_baseline.toml"
    cat <<'EOF'

[payment]
base_per_student = 670
base_basis = "served"
student_cap = 1200
cap = 400000

[[rate]]
name = "met the norm"
kind = "per_student"
outcome = { kind = "growth_vs_norm" }
price = 300

[[rate]]
name = "progress"
kind = "graduated"
measure = "percent_typical"
ramp = { from = 50, to = 150, amount = 750 }

[[rate]]
name = "sessions"
kind = "engagement"
per = "session"
price = 5
cap_per_student = 200

[[rate]]
name = "bonus"
kind = "tier_bonus"
pool_per_student = 100

[[rate]]
name = "regression"
kind = "penalty"
measure = "growth"
below = 0
price = 50
EOF
} > "$BIG/contract_card.toml"
echo "planned students (like_served): $(($(wc -l < "$BIG/planned.csv") - 1))"
{
    cat "$BIG/contract_baseline.toml"
    printf '\n[baseline.served]\nroster = "planned.csv"\n'
} > "$BIG/contract_served.toml"
# The contracts timed must pass `obc validate` before anything is timed (on the
# 1,000,000-student files themselves: `obc validate` streams its inputs since issue 15).
contracts="contract_baseline.toml contract_served.toml contract_card.toml"
[[ "${ONLY:-}" == baseline ]] || contracts="contract_bench.toml $contracts"
for c in $contracts; do
    (cd "$BIG" && "$OBC" validate "$c" --out "$WORK/validate_$c") > "$WORK/validate_$c.log" 2>&1 \
        || { echo "$c does not validate:" >&2; tail -5 "$WORK/validate_$c.log" >&2; exit 1; }
done

echo "students:     $(($(wc -l < "$BIG/roster.csv") - 1))"
echo "session rows: $(($(wc -l < "$BIG/sessions.csv") - 1))"
echo "test rows:    $(($(wc -l < "$BIG/assessments.csv") - 1))"

# --- timings ---------------------------------------------------------------------------
timed() { # name, then the command
    local name=$1; shift
    local log=$WORK/$name.time
    echo
    echo "== $name: $*"
    echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)"
    local status=0
    /usr/bin/time -v -o "$log" "$@" > "$WORK/$name.out" 2>&1 || status=$?
    echo "load after:  $(cut -d' ' -f1-3 /proc/loadavg)"
    if (( status != 0 )); then
        # a failed command has no timing worth recording: stop with its output
        echo "$name failed (exit status $status); its output ends:" >&2
        tail -20 "$WORK/$name.out" >&2
        exit "$status"
    fi
    grep -E 'Elapsed \(wall|Maximum resident|User time|System time|Exit status' "$log" | sed 's/^\s*/  /'
    awk -F': ' '/Maximum resident/ { printf "  max RSS: %.2f GiB\n", $2 / 1048576 }' "$log"
}

cd "$BIG"
if [[ "${ONLY:-}" != baseline ]]; then
    timed validate "$OBC" validate contract_bench.toml    --out "$WORK/out_validate"
    timed prepare  "$OBC" prepare  contract_bench.toml    --out "$WORK/out_prepare"
    timed check    "$OBC" check    contract_bench.toml    --out "$WORK/out_check"
    timed prepare_parquet "$OBC" prepare contract_bench.toml --format parquet --out "$WORK/out_prepare_parquet"
    # The reader alone (benches/reader.rs): rows/s and MB/s per file kind, fast and careful.
    if [[ -n "${READER_BENCH:-}" ]]; then
        echo
        echo "== reader: $READER_BENCH"
        OBC_READER_FILES="$BIG/roster.csv,$BIG/sessions.csv,$BIG/assessments.csv,$SRC/history.csv,$WORK/out_prepare_parquet/analytic.parquet" \
            OBC_READER_RUNS=${OBC_READER_RUNS:-3} "$READER_BENCH"
    fi
fi
if [[ -n "${OBC_BEFORE:-}" ]]; then
    timed baseline_before "$(realpath "$OBC_BEFORE")" baseline contract_baseline.toml --out "$WORK/out_baseline_before"
fi
timed baseline "$OBC" baseline contract_baseline.toml --out "$WORK/out_baseline"
timed baseline_card "$OBC" baseline contract_card.toml --out "$WORK/out_baseline_card"
timed baseline_served "$OBC" baseline contract_served.toml --out "$WORK/out_baseline_served"
