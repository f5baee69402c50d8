#!/usr/bin/env python3
"""benches/vam_pyfixest.py: the model of `obc vam --fixed-effect school_id --cluster school_id
--vcov cr1` fitted by pyfixest, for benches/vam_scale.sh.

    vam_pyfixest.py fit DATA.csv OUT.csv [--default-ssc]
        Reads DATA.csv with polars (the ID columns as text, so leading zeros stay), labels
        the rows with an empty provider_id "comparison" and fits

            feols("post_score ~ pre_score + i(provider_id, ref='comparison') | school_id",
                  vcov={"CRV1": "school_id"}, ssc=ssc(k_fixef="full"), fixef_rm="none")

        Prints the wall time of read + fit (time.perf_counter around both; imports, which
        take about 2.5 s, excluded; the process wall time of benches/vam_scale.sh includes
        them) and writes OUT.csv: provider_id, estimate, std_error (full precision).
        pyfixest demeans with its Rust backend (the default in 0.60); no numba JIT is
        involved in this model with k_fixef="full".

        ssc(k_fixef="full") is obc's CR1 factor G/(G-1) * (n-1)/(n-k) with k counting the
        absorbed school levels (obc follows lm + sandwich::vcovCL; src/stats/vam/fixed.rs).
        pyfixest's default, k_fixef="nonnested", drops the school effects from k because they
        are nested in the school clusters (as fixest and Stata's reghdfe do), which gives SEs
        smaller by the factor sqrt((n-k_full)/(n-k_nested)); --default-ssc also writes the
        SEs with the default ssc in a column std_error_default_ssc (after the timed part).
        fixef_rm="none" keeps singleton schools as obc does (there are none in the bench
        data).

    vam_pyfixest.py compare OBC_EFFECTS.csv PY.csv
        Joins obc's effects.csv and OUT.csv by provider and prints the largest absolute and
        relative differences of the estimates and SEs (and of the default-ssc SEs when
        present). Exits 1 when a provider is missing on either side.

The venv (pyfixest==0.60.0, polars, pyarrow for polars -> pandas) is set up by
benches/vam_scale.sh, outside the repository.
"""

import csv
import sys
import time


def fit(data, out, default_ssc):
    t0 = time.perf_counter()
    import polars as pl
    import pyfixest as pf

    # pyfixest imports its modules lazily: the first use of pf.feols / pf.ssc loads the
    # estimation code, scipy, matplotlib, ... (about 2 s here). Load them now, outside the
    # timed read + fit.
    _ = (pf.feols, pf.ssc)
    t_import = time.perf_counter() - t0
    t0 = time.perf_counter()
    df = pl.read_csv(
        data,
        schema_overrides={c: pl.String for c in ("student_id", "school_id", "provider_id", "tutor_id")},
    )
    df = df.with_columns(pl.col("provider_id").fill_null("comparison"))
    t_read = time.perf_counter() - t0
    model = pf.feols(
        "post_score ~ pre_score + i(provider_id, ref='comparison') | school_id",
        data=df,
        vcov={"CRV1": "school_id"},
        ssc=pf.ssc(k_fixef="full"),
        fixef_rm="none",
    )
    coef = model.coef()
    se = model.se()
    t_total = time.perf_counter() - t0
    print(f"pyfixest {pf.__version__}, polars {pl.__version__}: n = {model._N}, k = {model._k}, "
          f"df_k = {model._df_k}, G = {model._G}")
    print(f"imports: {t_import:.2f} s")
    print(f"read: {t_read:.2f} s")
    print(f"fit: {t_total - t_read:.2f} s")
    print(f"read+fit wall: {t_total:.2f} s")

    se_default = None
    if default_ssc:
        model._ssc_dict = pf.ssc()  # the default: k_fixef="nonnested"
        model.vcov({"CRV1": "school_id"})
        se_default = model.se()
        print(f"default ssc: df_k = {model._df_k}")

    prefix = "provider_id::"
    rows = []
    print(f"{'provider':>10} {'estimate':>20} {'std_error':>20}")
    for name in coef.index:
        if not name.startswith(prefix):
            continue
        g = name[len(prefix):]
        row = [g, repr(float(coef[name])), repr(float(se[name]))]
        if se_default is not None:
            row.append(repr(float(se_default[name])))
        rows.append(row)
        print(f"{g:>10} {float(coef[name]):>20.12f} {float(se[name]):>20.12f}")
    with open(out, "w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["provider_id", "estimate", "std_error"] + (["std_error_default_ssc"] if se_default is not None else []))
        w.writerows(rows)


def compare(obc_effects, py_effects):
    def read(path):
        with open(path, newline="") as f:
            return list(csv.DictReader(f))

    obc = {r["group"]: r for r in read(obc_effects) if r.get("suppressed", "false") != "true"}
    py = {r["provider_id"]: r for r in read(py_effects)}
    if set(obc) != set(py):
        print(f"providers differ: only obc {sorted(set(obc) - set(py))}, only pyfixest {sorted(set(py) - set(obc))}")
        sys.exit(1)
    cols = [("estimate", "estimate"), ("std_error", "std_error")]
    if py and "std_error_default_ssc" in next(iter(py.values())):
        cols.append(("std_error", "std_error_default_ssc"))
    for oc, pc in cols:
        abs_d = max(abs(float(obc[g][oc]) - float(py[g][pc])) for g in obc)
        rel_d = max(abs(float(obc[g][oc]) - float(py[g][pc])) / abs(float(py[g][pc])) for g in obc)
        label = "std_error (pyfixest default ssc)" if pc == "std_error_default_ssc" else oc
        print(f"{label:<34} max |obc - pyfixest| = {abs_d:.3e}   max relative = {rel_d:.3e}   ({len(obc)} providers)")


def main():
    if len(sys.argv) >= 4 and sys.argv[1] == "fit":
        fit(sys.argv[2], sys.argv[3], "--default-ssc" in sys.argv[4:])
    elif len(sys.argv) == 4 and sys.argv[1] == "compare":
        compare(sys.argv[2], sys.argv[3])
    else:
        print(__doc__, file=sys.stderr)
        sys.exit(2)


if __name__ == "__main__":
    main()
