#!/usr/bin/env bash
# benches/identical.sh: every output of two `obc` binaries, byte for byte (issue 15: the data
# layer's fast readers must not change a single output).
#
# Usage (from the repository root):
#   OBC_BEFORE=/path/to/old/obc benches/identical.sh [WORKDIR]
#       OBC (default target/release/obc) is compared with OBC_BEFORE.
#       WORKDIR (default /tmp/obc-identical) holds the simulated districts and both outputs;
#       SCALE250K=DIR adds `obc check` and `obc prepare` on the 250,000-student district
#       in DIR (benches/scale.sh's sim250k).
#
# Cases: data-samples (check, check --as-of, prepare as CSV and Parquet, validate, baseline,
# norms fit from the contract, vam, bootstrap and norms score on the analytic file), the
# NWEA sample (check), two `--messy` simulations (check, prepare), the same inputs as
# Parquet files, and the 250,000-student district when asked. Exits 1 at the first
# difference, naming the file.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
WORK=${1:-/tmp/obc-identical}
NEW=$(realpath "${OBC:-$ROOT/target/release/obc}")
OLD=$(realpath "${OBC_BEFORE:?set OBC_BEFORE to the binary to compare with}")
rm -rf "$WORK"
mkdir -p "$WORK"

# run NAME ARGS...: runs both binaries with --out WORK/{old,new}/NAME; both must exit 0.
run() {
    local name=$1
    shift
    for side in old new; do
        local bin=$OLD
        [[ $side == new ]] && bin=$NEW
        mkdir -p "$WORK/$side"
        "$bin" "$@" --out "$WORK/$side/$name" > "$WORK/$side/$name.log" 2>&1 \
            || { echo "$side: obc $* failed:" >&2; tail -5 "$WORK/$side/$name.log" >&2; exit 1; }
    done
    if ! diff -r "$WORK/old/$name" "$WORK/new/$name" > "$WORK/$name.diff"; then
        echo "DIFFERENT: $name ($*)" >&2
        head -20 "$WORK/$name.diff" >&2
        exit 1
    fi
    echo "identical: $name ($(find "$WORK/new/$name" -type f | wc -l) files)"
}

S=$ROOT/data-samples
run samples_check check "$S/contract.toml"
run samples_as_of check "$S/contract.toml" --as-of 2026-02-15
run samples_prepare prepare "$S/contract.toml"
run samples_prepare_parquet prepare "$S/contract.toml" --format parquet
run samples_validate validate "$S/contract.toml"
run samples_baseline baseline "$S/contract.toml"
run samples_nwea check "$S/nwea/contract.toml"
A=$WORK/new/samples_prepare/analytic.csv
run samples_vam vam --data "$A" --outcome post_score --pre pre_score --group provider_id --fixed-effect school_id \
    --cluster school_id --only has_post
run samples_vam_random vam --data "$A" --outcome post_score --pre pre_score --group provider_id --model random \
    --only has_post
mkdir -p "$WORK/old/boot" "$WORK/new/boot"
for side in old new; do
    bin=$OLD
    [[ $side == new ]] && bin=$NEW
    "$bin" bootstrap --data "$A" --statistic mean --column growth --by provider_id --reps 500 --seed 3 \
        --out "$WORK/$side/boot/intervals.csv" > /dev/null 2>&1 || { echo "$side: bootstrap failed" >&2; exit 1; }
    "$bin" norms fit "$S/contract.toml" --out "$WORK/$side/boot/norms.json" > /dev/null 2>&1 \
        || { echo "$side: norms fit failed" >&2; exit 1; }
done
diff -r "$WORK/old/boot" "$WORK/new/boot" > /dev/null || { echo "DIFFERENT: bootstrap / norms fit" >&2; exit 1; }
echo "identical: bootstrap and norms fit"

# The sample district with every field quoted, CRLF line ends and a byte-order mark (the
# parallel reader's quoted parts go through the careful reader's parser).
Q=$WORK/quoted
cp -r "$S" "$Q"
for f in roster sessions assessments history; do
    { printf '\xEF\xBB\xBF'
      awk 'BEGIN { FS = ","; OFS = "," } { for (i = 1; i <= NF; i++) $i = "\"" $i "\""; printf "%s\r\n", $0 }' "$S/$f.csv"
    } > "$Q/$f.csv"
done
run quoted_check check "$Q/contract.toml"

for seed in 11 12; do
    "$NEW" simulate --students 10000 --seed $seed --messy --out "$WORK/messy$seed" > /dev/null
    run messy${seed}_check check "$WORK/messy$seed/contract.toml" --allow-partial
    run messy${seed}_prepare prepare "$WORK/messy$seed/contract.toml" --allow-partial
    run messy${seed}_validate validate "$WORK/messy$seed/contract.toml"
done

if [[ -n "${SCALE250K:-}" ]]; then
    run d250k_prepare prepare "$SCALE250K/contract.toml"
    run d250k_check check "$SCALE250K/contract.toml"
fi
echo "all outputs identical"
