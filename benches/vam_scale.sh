#!/usr/bin/env bash
# benches/vam_scale.sh: `obc vam` and `obc norms score` at scale, two obc binaries side by
# side, and `obc vam` against pyfixest on the same file in the same run.
#
# Usage (from anywhere):
#   OBC=path/to/obc [OBC_BEFORE=path/to/older/obc] benches/vam_scale.sh [WORKDIR]
#       WORKDIR defaults to /tmp/obc-vam-scale. No cargo build is run: OBC is required.
#
# Environment:
#   OBC         the release binary timed as "after" (required)
#   OBC_BEFORE  an earlier release binary timed as "before" (optional)
#   REPS        timings per command (default 3); the table gives the median
#   REGEN=1     regenerate the data even if WORKDIR already holds it
#   IDLE_WAIT   seconds to wait at most, before each timing, for the machine to be 90% idle
#               (default 120; the run goes ahead after that, and the table shows it)
#   VENV        Python venv with pyfixest 0.60.0, polars and pyarrow (default /tmp/vam-venv,
#               created with `pip install pyfixest==0.60.0 polars pyarrow` when missing;
#               pyarrow is what polars needs to hand pyfixest a pandas frame)
#
# Data (benches/vam_data.py, numpy, fixed seeds; about 45 MB):
#   vam.csv        1,000,000 students: student_id (text, leading zeros), school_id (500
#                  schools, "0001".."0500"), provider_id (P01..P20; empty for about 40%, the
#                  comparison group), tutor_id, pre_score, post_score, grade; post = 20 +
#                  0.9 pre + school + provider + noise, the provider effects in
#                  vam.truth.csv. About 36 MB.
#   norms_hist.csv 200,000 students (grade, fall, spring): the conditional and SGP norms are
#                  fitted on it (untimed) with OBC: norms_conditional.json, norms_sgp.json.
#   norms_score.csv 100,000 other students, scored against both norms files.
#
# Timed, one at a time, each REPS times (rounds interleaved: after, before, pyfixest, ...),
# under /usr/bin/time -v (wall, user + system CPU, max RSS), with the 1-minute load average
# before each run (other processes on the machine show there; CPU time is less sensitive
# to them than wall time):
#   vam           obc vam --data vam.csv --outcome post_score --pre pre_score
#                 --group provider_id --fixed-effect school_id --cluster school_id
#                 --vcov cr1 --out DIR                         (OBC and OBC_BEFORE)
#   pyfixest      benches/vam_pyfixest.py fit vam.csv OUT: polars read + feols of the same
#                 model (provider indicators against the comparison group, pre_score,
#                 school effects absorbed, CR1 by school with obc's small-sample factor)
#   norms_score_conditional / norms_score_sgp
#                 obc norms score --norms norms_X.json --data norms_score.csv
#                 --id student_id --out FILE                   (OBC and OBC_BEFORE)
# Before the timings pyfixest runs once untimed (a first run after installing pays for
# Python's bytecode caches and reading the libraries from disk) with --default-ssc. After them the script prints the largest differences between obc's and
# pyfixest's provider estimates and SEs (and with pyfixest's default small-sample correction,
# which differs on purpose: see vam_pyfixest.py), the estimates against the truth, checks
# that OBC and OBC_BEFORE wrote the same effects and scores, and prints the table.
# Any timed or setup command that exits non-zero stops the script with its last lines.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
WORK=${1:-/tmp/obc-vam-scale}
REPS=${REPS:-3}
VENV=${VENV:-/tmp/vam-venv}
[[ -n "${OBC:-}" ]] || { echo "set OBC to a release obc binary (this script builds nothing)" >&2; exit 2; }
OBC=$(realpath "$OBC")
BEFORE=""
if [[ -n "${OBC_BEFORE:-}" ]]; then BEFORE=$(realpath "$OBC_BEFORE"); fi
[[ -x /usr/bin/time ]] || { echo "needs GNU time at /usr/bin/time" >&2; exit 1; }
mkdir -p "$WORK"
RESULTS=$WORK/results.tsv

# --- Python venv (outside the repository) ------------------------------------------------
PY=$VENV/bin/python
if ! "$PY" -c 'import pyfixest, polars, pyarrow, numpy; assert pyfixest.__version__ == "0.60.0"' 2>/dev/null; then
    echo "setting up $VENV (pyfixest 0.60.0, polars, pyarrow)"
    python3 -m venv "$VENV"
    "$PY" -m pip install --quiet pyfixest==0.60.0 polars pyarrow
fi

# --- data --------------------------------------------------------------------------------
D=$WORK/data
if [[ "${REGEN:-0}" == 1 || ! -f $D/done ]]; then
    rm -rf "$D"
    mkdir -p "$D"
    "$PY" "$ROOT/benches/vam_data.py" vam "$D/vam.csv"
    "$PY" "$ROOT/benches/vam_data.py" norms-history "$D/norms_hist.csv"
    "$PY" "$ROOT/benches/vam_data.py" norms-score "$D/norms_score.csv"
    for method in conditional sgp; do
        "$OBC" norms fit --data "$D/norms_hist.csv" --prior fall --current spring --by grade \
            --method "$method" --out "$D/norms_$method.json" > "$D/norms_fit_$method.log" 2>&1 \
            || { echo "obc norms fit --method $method failed:" >&2; tail -20 "$D/norms_fit_$method.log" >&2; exit 1; }
    done
    touch "$D/done"
fi
echo "vam.csv:         $(($(wc -l < "$D/vam.csv") - 1)) rows, $(du -m "$D/vam.csv" | cut -f1) MB," \
    "$(awk -F, 'NR > 1 && $3 == ""' "$D/vam.csv" | wc -l) comparison rows"
echo "norms_score.csv: $(($(wc -l < "$D/norms_score.csv") - 1)) rows"
echo "sha256: $(sha256sum "$D/vam.csv" | cut -c1-16) vam.csv, $(sha256sum "$D/norms_score.csv" | cut -c1-16) norms_score.csv"
echo "OBC:        $OBC ($("$OBC" --version))"
if [[ -n $BEFORE ]]; then echo "OBC_BEFORE: $BEFORE ($("$BEFORE" --version))"; fi

# --- timings -----------------------------------------------------------------------------
R=$WORK/runs
rm -rf "$R"
mkdir -p "$R"
printf 'name\trep\twall_s\tcpu_s\tmax_rss_kb\tload1_before\tidle_pct_before\tothers_cpu_s\n' > "$RESULTS"

# CPU jiffies of the whole machine: "busy total" from the first line of /proc/stat.
cpu_jiffies() {
    awk '/^cpu / { print $2 + $3 + $4 + $7 + $8 + $9, $2 + $3 + $4 + $5 + $6 + $7 + $8 + $9 }' /proc/stat
}
HZ=$(getconf CLK_TCK)
# wait_idle: before a timing, wait (at most IDLE_WAIT seconds, default 120) until the machine
# has been at least 90% idle over 2 s; prints the idle share last seen.
wait_idle() {
    local deadline=$((SECONDS + ${IDLE_WAIT:-120})) idle=0 b1 t1 b2 t2
    while :; do
        read -r b1 t1 < <(cpu_jiffies)
        sleep 2
        read -r b2 t2 < <(cpu_jiffies)
        idle=$((100 - 100 * (b2 - b1) / (t2 - t1 > 0 ? t2 - t1 : 1)))
        (( idle >= 90 || SECONDS >= deadline )) && break
    done
    echo "$idle"
}

# timed NAME REP CMD...: one run under /usr/bin/time -v; a non-zero exit stops the script.
# Also recorded: the 1-minute load average and the idle share just before the run, and the
# CPU seconds that other processes used during it (the machine's busy CPU time over the run
# minus the command's own user + system time; about 0 on a quiet machine).
timed() {
    local name=$1 rep=$2
    shift 2
    local base=$R/$name.$rep
    local idle load b1 t1 b2 t2
    idle=$(wait_idle)
    load=$(cut -d' ' -f1 /proc/loadavg)
    read -r b1 t1 < <(cpu_jiffies)
    local status=0
    /usr/bin/time -v -o "$base.time" "$@" > "$base.log" 2>&1 || status=$?
    read -r b2 t2 < <(cpu_jiffies)
    if (( status != 0 )); then
        echo "$name (run $rep) FAILED, exit status $status: $*" >&2
        echo "its output ends:" >&2
        tail -20 "$base.log" >&2
        grep -E 'Command (exited|terminated)' "$base.time" >&2 || true
        exit "$status"
    fi
    local wall cpu rss others
    wall=$(awk -F': ' '/Elapsed \(wall clock\)/ { n = split($2, t, ":"); s = 0
        for (i = 1; i <= n; i++) s = s * 60 + t[i]; printf "%.2f", s }' "$base.time")
    cpu=$(awk -F': ' '/User time|System time/ { s += $2 } END { printf "%.2f", s }' "$base.time")
    rss=$(awk -F': ' '/Maximum resident set size/ { print $2 }' "$base.time")
    others=$(awk -v b="$((b2 - b1))" -v hz="$HZ" -v own="$cpu" 'BEGIN { printf "%.2f", b / hz - own }')
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$name" "$rep" "$wall" "$cpu" "$rss" "$load" "$idle" "$others" >> "$RESULTS"
    printf '  %-32s run %s: %6.2f s wall, %6.2f s CPU, %5.0f MB max RSS (load before %s, idle %s%%, others %s s CPU)\n' \
        "$name" "$rep" "$wall" "$cpu" "$((rss / 1024))" "$load" "$idle" "$others"
}

echo
echo "== pyfixest warm-up (untimed; also gives the SEs with pyfixest's default ssc)"
"$PY" "$ROOT/benches/vam_pyfixest.py" fit "$D/vam.csv" "$R/pyfixest_warmup.csv" --default-ssc > "$R/pyfixest_warmup.log" 2>&1 \
    || { echo "pyfixest warm-up failed:" >&2; tail -20 "$R/pyfixest_warmup.log" >&2; exit 1; }
grep -E '^(pyfixest|imports|read|fit|read\+fit)' "$R/pyfixest_warmup.log" | sed 's/^/  /'

vam_args=(--data "$D/vam.csv" --outcome post_score --pre pre_score --group provider_id
    --fixed-effect school_id --cluster school_id --vcov cr1)
bins=(after)
if [[ -n $BEFORE ]]; then bins+=(before); fi
bin_of() { if [[ $1 == after ]]; then echo "$OBC"; else echo "$BEFORE"; fi; }

echo
echo "== timings ($REPS rounds, one command at a time)"
for rep in $(seq 1 "$REPS"); do
    for b in "${bins[@]}"; do
        timed "vam_$b" "$rep" "$(bin_of "$b")" vam "${vam_args[@]}" --out "$R/vam_$b.$rep"
    done
    timed pyfixest "$rep" "$PY" "$ROOT/benches/vam_pyfixest.py" fit "$D/vam.csv" "$R/pyfixest.$rep.csv"
    for method in conditional sgp; do
        for b in "${bins[@]}"; do
            timed "norms_score_${method}_$b" "$rep" "$(bin_of "$b")" norms score \
                --norms "$D/norms_$method.json" --data "$D/norms_score.csv" --id student_id \
                --out "$R/norms_score_${method}_$b.$rep.csv"
        done
    done
done

# --- agreement ---------------------------------------------------------------------------
echo
echo "== obc (after, run 1) against pyfixest (timed run 1, and the warm-up's default-ssc SEs)"
"$PY" "$ROOT/benches/vam_pyfixest.py" compare "$R/vam_after.1/effects.csv" "$R/pyfixest.1.csv"
"$PY" "$ROOT/benches/vam_pyfixest.py" compare "$R/vam_after.1/effects.csv" "$R/pyfixest_warmup.csv" \
    | grep 'default ssc'
echo
echo "== obc's estimates against the simulated provider effects (vam.truth.csv)"
awk -F, 'NR == FNR { if (FNR > 1) truth[$1] = $2; next }
    FNR == 1 { for (i = 1; i <= NF; i++) col[$i] = i; next }
    { d = $col["estimate"] - truth[$col["group"]]; z = d / $col["std_error"]
      if (d < 0) d = -d; if (z < 0) z = -z
      if (d > md) md = d; if (z > mz) mz = z; n++ }
    END { printf "  %d providers: max |estimate - truth| = %.3f points, max |estimate - truth| / SE = %.2f\n", n, md, mz }' \
    "$D/vam.truth.csv" "$R/vam_after.1/effects.csv"
if [[ -n $BEFORE ]]; then
    echo
    echo "== after against before (run 1)"
    same() {
        if cmp -s "$1" "$2"; then echo "  identical: $3"; else echo "  DIFFERENT: $3 ($1 vs $2)"; fi
    }
    same "$R/vam_after.1/effects.csv" "$R/vam_before.1/effects.csv" "vam effects.csv"
    for method in conditional sgp; do
        same "$R/norms_score_${method}_after.1.csv" "$R/norms_score_${method}_before.1.csv" "norms score ($method)"
    done
fi

# --- table -------------------------------------------------------------------------------
echo
echo "== medians over $REPS runs (/usr/bin/time -v); pyfixest's own read+fit time (imports excluded) in brackets"
"$PY" - "$RESULTS" "$R" <<'EOF'
import csv, statistics, sys, glob, re
rows = list(csv.DictReader(open(sys.argv[1]), delimiter="\t"))
names = list(dict.fromkeys(r["name"] for r in rows))
med = {}
for n in names:
    rs = [r for r in rows if r["name"] == n]
    walls = [float(r["wall_s"]) for r in rs]
    med[n] = (statistics.median(walls), min(walls), max(walls),
              statistics.median(float(r["max_rss_kb"]) for r in rs) / 1024,
              statistics.median(float(r["cpu_s"]) for r in rs),
              ",".join(r["load1_before"] for r in rs),
              max(float(r["others_cpu_s"]) for r in rs))
inner = []
for f in sorted(glob.glob(f"{sys.argv[2]}/pyfixest.*.log")):
    m = re.search(r"read\+fit wall: ([0-9.]+) s", open(f).read())
    if m:
        inner.append(float(m.group(1)))
py = med.get("pyfixest", (None,))[0]
print(f"{'command':<34} {'wall (median)':>14} {'min-max':>13} {'CPU':>8} {'max RSS':>9} {'obc/pyfixest':>13} {'others':>7}  load before")
for n in names:
    w, lo, hi, rss, cpu, loads, others = med[n]
    ratio = f"{w / py:.2f}" if n.startswith("vam_") and py else ""
    label = n
    if n == "pyfixest" and inner:
        label = f"pyfixest [{statistics.median(inner):.2f} s]"
    print(f"{label:<34} {w:>12.2f} s {lo:>5.2f}-{hi:<6.2f} {cpu:>6.2f} s {rss:>6.0f} MB {ratio:>13} {others:>5.2f} s  {loads}")
if py and inner:
    for n in names:
        if n.startswith("vam_"):
            print(f"{n}/pyfixest read+fit only: {med[n][0] / statistics.median(inner):.2f}")
EOF
echo "(CPU: user + system, median; others: the most CPU seconds other processes used during one of the runs)"
echo "(per run: $RESULTS; outputs and /usr/bin/time logs: $R)"
