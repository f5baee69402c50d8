#!/usr/bin/env python3
"""benches/vam_data.py: deterministic data for benches/vam_scale.sh.

    vam_data.py vam OUT.csv [--rows 1000000] [--seed 15]
        One row per student: student_id, school_id, provider_id, tutor_id, pre_score,
        post_score, grade (about 36 MB at 1,000,000 rows). IDs are text with leading zeros
        (student_id "0000001", school_id "0001" .. "0500"). About 40% of the rows have an
        empty provider_id and tutor_id: the comparison group. The truth is

            post = 20 + 0.9 * pre + school effect + provider effect + noise

        with pre ~ N(200, 15) plus a school shift, school effects ~ N(0, 3), noise ~ N(0, 6),
        and the provider effects in PROVIDER_EFFECTS (against the comparison group, whose
        effect is 0). Each school has 2 of the 20 providers (so each provider is in about 50
        schools); a tutored student gets one of them. Lower pretests are more likely to be
        tutored (selection on the observed pretest, which the model conditions on, so the
        fixed model with school effects is unbiased). Scores are written with 2 decimals;
        the models are fitted on the written values. OUT.truth.csv gets the provider effects.

    vam_data.py norms-history OUT.csv [--rows 200000] [--seed 16]
    vam_data.py norms-score OUT.csv [--rows 100000] [--seed 17]
        One row per student: student_id, school_id, grade (3-8), fall, spring: the file the
        conditional norms are fitted on (norms-history) and the file `obc norms score` scores
        (norms-score), the same growth model (expected growth by grade, decreasing in the
        fall score, SD 9) with other students.

Only numpy is needed. The same arguments write the same bytes (numpy's PCG64 streams).
"""

import argparse
import sys

import numpy as np

N_SCHOOLS = 500
N_PROVIDERS = 20
TUTORS_PER_PROVIDER = 10
# Effect of each provider P01..P20 against the comparison group (scale-score points).
PROVIDER_EFFECTS = np.round(np.linspace(-1.5, 3.25, N_PROVIDERS), 4)


def fmt_ids(prefix, values, width):
    return np.char.add(prefix, np.char.zfill(values.astype(str), width))


def write_csv(path, header, columns):
    """Write string columns (numpy arrays of str) as CSV, one join per row."""
    n = len(columns[0])
    with open(path, "w", newline="\n") as f:
        f.write(",".join(header) + "\n")
        chunk = 100_000
        for start in range(0, n, chunk):
            stop = min(n, start + chunk)
            cols = [c[start:stop].tolist() for c in columns]
            f.write("".join(",".join(row) + "\n" for row in zip(*cols)))


def scores(x):
    return np.char.mod("%.2f", np.round(x, 2))


def vam(out, rows, seed):
    rng = np.random.default_rng(seed)
    school = rng.integers(0, N_SCHOOLS, rows)
    school_shift = rng.normal(0.0, 8.0, N_SCHOOLS)
    school_effect = rng.normal(0.0, 3.0, N_SCHOOLS)
    # two providers per school, distinct
    first = rng.integers(0, N_PROVIDERS, N_SCHOOLS)
    second = (first + rng.integers(1, N_PROVIDERS, N_SCHOOLS)) % N_PROVIDERS
    pre = rng.normal(200.0, 15.0, rows) + school_shift[school]
    pre = np.round(pre, 2)
    # P(tutored) about 0.6 on average, higher for lower pretests
    z = (pre - 200.0) / 17.0
    p_tutored = 1.0 / (1.0 + np.exp(-(0.42 - 0.6 * z)))
    tutored = rng.random(rows) < p_tutored
    pick_second = rng.random(rows) < 0.5
    provider = np.where(pick_second, second[school], first[school])
    tutor = provider * TUTORS_PER_PROVIDER + rng.integers(0, TUTORS_PER_PROVIDER, rows)
    effect = np.where(tutored, PROVIDER_EFFECTS[provider], 0.0)
    post = 20.0 + 0.9 * pre + school_effect[school] + effect + rng.normal(0.0, 6.0, rows)
    grade = rng.integers(3, 9, rows)

    student_id = np.char.zfill(np.arange(1, rows + 1).astype(str), 7)
    school_id = np.char.zfill((school + 1).astype(str), 4)
    provider_id = np.where(tutored, fmt_ids("P", provider + 1, 2), "")
    tutor_id = np.where(tutored, fmt_ids("T", tutor + 1, 4), "")
    write_csv(
        out,
        ["student_id", "school_id", "provider_id", "tutor_id", "pre_score", "post_score", "grade"],
        [student_id, school_id, provider_id, tutor_id, scores(pre), scores(post), grade.astype(str)],
    )
    with open(out.removesuffix(".csv") + ".truth.csv", "w") as f:
        f.write("provider_id,effect,n\n")
        for k in range(N_PROVIDERS):
            n = int(np.sum(tutored & (provider == k)))
            f.write(f"P{k + 1:02d},{PROVIDER_EFFECTS[k]},{n}\n")
    print(f"{out}: {rows} rows, {int(tutored.sum())} tutored, {rows - int(tutored.sum())} comparison",
          file=sys.stderr)


def norms(out, rows, seed, id_offset):
    rng = np.random.default_rng(seed)
    grade = rng.integers(3, 9, rows)
    school = rng.integers(0, N_SCHOOLS, rows)
    fall = rng.normal(180.0 + 7.0 * grade, 14.0, rows)
    fall = np.round(fall, 1)
    expected = 12.0 - 0.9 * (grade - 3) - 0.12 * (fall - (180.0 + 7.0 * grade))
    spring = np.round(fall + expected + rng.normal(0.0, 9.0, rows), 1)
    student_id = np.char.zfill(np.arange(id_offset + 1, id_offset + rows + 1).astype(str), 8)
    school_id = np.char.zfill((school + 1).astype(str), 4)
    write_csv(
        out,
        ["student_id", "school_id", "grade", "fall", "spring"],
        [student_id, school_id, grade.astype(str), np.char.mod("%.1f", fall), np.char.mod("%.1f", spring)],
    )
    print(f"{out}: {rows} rows", file=sys.stderr)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("kind", choices=["vam", "norms-history", "norms-score"])
    ap.add_argument("out")
    ap.add_argument("--rows", type=int)
    ap.add_argument("--seed", type=int)
    a = ap.parse_args()
    if a.kind == "vam":
        vam(a.out, a.rows or 1_000_000, 15 if a.seed is None else a.seed)
    elif a.kind == "norms-history":
        norms(a.out, a.rows or 200_000, 16 if a.seed is None else a.seed, 0)
    else:
        # other students than the history's (IDs from 50,000,001)
        norms(a.out, a.rows or 100_000, 17 if a.seed is None else a.seed, 50_000_000)


if __name__ == "__main__":
    main()
