//! `obc vam` end to end against R (lm + sandwich, lme4) and its bookkeeping.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use crate::common::{assert_accounting, manifest, obc, obc_ok, read_csv, repo, s, stderr};

fn fixture(name: &str) -> PathBuf {
    repo().join("tests/fixtures/r").join(name)
}

fn vam_json() -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(fixture("vam.json")).unwrap()).unwrap()
}

fn floats(v: &serde_json::Value) -> Vec<f64> {
    v.as_array().unwrap().iter().map(|x| x.as_f64().unwrap()).collect()
}

/// effects.csv as group -> column -> value.
fn effects(dir: &Path) -> HashMap<String, HashMap<String, String>> {
    let (h, rows) = read_csv(&dir.join("effects.csv"));
    rows.into_iter().map(|r| (r[0].clone(), h.iter().cloned().zip(r.iter().cloned()).collect())).collect()
}

#[test]
fn fixed_model_matches_lm_and_vcovcl_on_the_synthetic_district() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("vam");
    obc_ok(&[
        "vam",
        "--data",
        s(&fixture("vam_synthetic.csv")),
        "--outcome",
        "post",
        "--pre",
        "pre",
        "--covariate",
        "low_income",
        "--group",
        "provider",
        "--fixed-effect",
        "school",
        "--cluster",
        "school",
        "--out",
        s(&out),
    ]);
    let want = &vam_json()["synthetic"]["ols_school_fe"];
    let b = floats(&want["coefficients"]); // pre, P1..P4
    let se = floats(&want["covariance"]["cr1"]["se"]);
    let e = effects(&out);
    assert_eq!(e.len(), 4, "one row per provider, comparison is the reference");
    for (k, p) in ["P1", "P2", "P3", "P4"].iter().enumerate() {
        let got: f64 = e[*p]["estimate"].parse().unwrap();
        let got_se: f64 = e[*p]["std_error"].parse().unwrap();
        // tolerances: tests/fixtures/r/README.md (coefficients 1e-8, SEs 1e-6 relative)
        assert!((got - b[k + 1]).abs() <= 1e-8 * b[k + 1].abs().max(1.0), "{p}: {got} vs R {}", b[k + 1]);
        assert!((got_se - se[k + 1]).abs() <= 1e-6 * se[k + 1], "{p} SE: {got_se} vs R {}", se[k + 1]);
        let (lo, hi): (f64, f64) = (e[*p]["conf_low"].parse().unwrap(), e[*p]["conf_high"].parse().unwrap());
        assert!(lo < got && got < hi && ((hi - got) - (got - lo)).abs() < 1e-9);
    }
    // p-values with G - 1 = 39 df, as R's alternative recorded in the fixture
    let p_alt = floats(&want["provider_tests_cr1"]["alt_df_G_minus_1"]["p"]);
    for (k, p) in ["P1", "P2", "P3", "P4"].iter().enumerate() {
        let got: f64 = e[*p]["p_value"].parse().unwrap();
        assert!((got - p_alt[k]).abs() <= 1e-6 * p_alt[k].max(1e-300) + 1e-14, "{p}: p {got} vs R {}", p_alt[k]);
    }
    // Benjamini-Hochberg across the four providers (R: p.adjust on the G - 1 df p-values)
    let bh = floats(&want["provider_tests_cr1"]["alt_df_G_minus_1"]["p_bh"]);
    for (k, p) in ["P1", "P2", "P3", "P4"].iter().enumerate() {
        let got: f64 = e[*p]["p_value_bh"].parse().unwrap();
        assert!((got - bh[k]).abs() <= 1e-6 * bh[k], "{p}: BH {got} vs R {}", bh[k]);
    }
    // WWC covariate-adjusted g for P1 (adjusted difference over the unadjusted pooled SD)
    let g_want = vam_json()["synthetic"]["effect_size_p1"]["adjusted"]["g"].as_f64().unwrap();
    let g: f64 = e["P1"]["effect_size"].parse().unwrap();
    assert!((g - g_want).abs() <= 1e-8 * g_want, "P1 effect size {g} vs R {g_want}");
    let model: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("model.json")).unwrap()).unwrap();
    assert_eq!(model["diagnostics"]["k"], 46);
    assert_eq!(model["diagnostics"]["n_clusters"], 40);
    let inputs = assert_accounting(&manifest(&out));
    assert_eq!(inputs[0]["rows_used"], 4000);
}

#[test]
fn random_model_matches_lmer_blups_on_exam() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("vam");
    obc_ok(&[
        "vam",
        "--data",
        s(&fixture("vam_exam.csv")),
        "--outcome",
        "normexam",
        "--pre",
        "standLRT",
        "--covariate",
        "female",
        "--group",
        "school",
        "--model",
        "random",
        "--min-cell",
        "1",
        "--out",
        s(&out),
    ]);
    let r = &vam_json()["exam"]["lmer_random_intercept"]["reml"];
    let schools = r["per_school"]["school"].as_array().unwrap();
    let (blup, sd) = (floats(&r["per_school"]["blup"]), floats(&r["per_school"]["blup_sd"]));
    let e = effects(&out);
    assert_eq!(e.len(), 65);
    for (j, school) in schools.iter().enumerate() {
        let row = &e[school.as_str().unwrap()];
        let (b, s): (f64, f64) = (row["shrunk"].parse().unwrap(), row["shrunk_std_error"].parse().unwrap());
        // BLUPs and their SDs: 1e-4 absolute (lme4's optimizer tolerance)
        assert!((b - blup[j]).abs() <= 1e-4 && (s - sd[j]).abs() <= 1e-4, "school {school}: {b} / {s}");
        let lambda: f64 = row["reliability"].parse().unwrap();
        assert!((0.0..1.0).contains(&lambda));
    }
    let model: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("model.json")).unwrap()).unwrap();
    let vc = &r["variance_components"];
    let between = model["diagnostics"]["variance_components"]["between"].as_f64().unwrap();
    let want = vc["school_intercept_variance"].as_f64().unwrap();
    assert!((between - want).abs() <= 1e-5 * want);
}

#[test]
fn small_groups_are_suppressed_and_bad_requests_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    // The Exam schools have 2 to 198 students: with min_cell 60 some are suppressed.
    let out = dir.path().join("vam");
    obc_ok(&[
        "vam",
        "--data",
        s(&fixture("vam_exam.csv")),
        "--outcome",
        "normexam",
        "--pre",
        "standLRT",
        "--group",
        "school",
        "--model",
        "random",
        "--min-cell",
        "60",
        "--out",
        s(&out),
    ]);
    let e = effects(&out);
    let mut hidden = 0;
    for row in e.values() {
        let n: usize = row["n"].parse().unwrap();
        let suppressed = row["suppressed"] == "true";
        assert_eq!(suppressed, n < 60, "{row:?}");
        if suppressed {
            hidden += 1;
            assert!(row["estimate"].is_empty() && row["shrunk"].is_empty(), "{row:?}");
        }
    }
    assert!(hidden > 0);
    let w = &manifest(&out)["warnings"][0];
    assert!(w["code"] == "value_added" && w["message"].as_str().unwrap().contains("suppressed"), "{w}");
    // No comparison group for the fixed model.
    let o = obc(&[
        "vam",
        "--data",
        s(&fixture("vam_exam.csv")),
        "--outcome",
        "normexam",
        "--pre",
        "standLRT",
        "--group",
        "school",
        "--out",
        s(&dir.path().join("x")),
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("no comparison students"), "{}", stderr(&o));
    let o = obc(&[
        "vam",
        "--data",
        s(&fixture("vam_synthetic.csv")),
        "--outcome",
        "post",
        "--pre",
        "pre",
        "--group",
        "provider",
        "--model",
        "random",
        "--fixed-effect",
        "school",
        "--out",
        s(&dir.path().join("y")),
    ]);
    assert_eq!(o.status.code(), Some(2));
}

#[test]
fn dose_response_curves_on_data_samples() {
    let dir = tempfile::tempdir().unwrap();
    let prep = dir.path().join("prep");
    obc_ok(&["prepare", s(&crate::common::samples().join("contract.toml")), "--out", s(&prep)]);
    let data = prep.join("analytic.csv");
    let out = dir.path().join("vam");
    obc_ok(&[
        "vam",
        "--data",
        s(&data),
        "--outcome",
        "post_score",
        "--pre",
        "pre_score",
        "--group",
        "provider_id",
        "--only",
        "analysed",
        "--fixed-effect",
        "school_id",
        "--cluster",
        "school_id",
        "--dose",
        "minutes_attended",
        "--out",
        s(&out),
    ]);
    // Observed minutes per provider among analysed tutored students.
    let (h, rows) = read_csv(&data);
    let col = |n: &str| h.iter().position(|c| c == n).unwrap();
    let mut range: HashMap<String, (f64, f64, usize)> = HashMap::new();
    for r in rows.iter().filter(|r| r[col("analysed")] == "true" && !r[col("provider_id")].is_empty()) {
        let m: f64 = r[col("minutes_attended")].parse().unwrap();
        for key in [r[col("provider_id")].clone(), "(all tutored)".to_string()] {
            let e = range.entry(key).or_insert((f64::INFINITY, f64::NEG_INFINITY, 0));
            e.0 = e.0.min(m);
            e.1 = e.1.max(m);
            e.2 += 1;
        }
    }
    let (dh, curve) = read_csv(&out.join("dose_response.csv"));
    let dc = |n: &str| dh.iter().position(|c| c == n).unwrap();
    let mut points: HashMap<String, Vec<f64>> = HashMap::new();
    for r in &curve {
        let f = |n: &str| r[dc(n)].parse::<f64>().unwrap();
        assert!(f("conf_low") <= f("fit") && f("fit") <= f("conf_high") && f("std_error") > 0.0);
        assert_eq!(r[dc("n")].parse::<usize>().unwrap(), range[&r[0]].2, "{}", r[0]);
        points.entry(r[0].clone()).or_default().push(f("dose"));
    }
    assert_eq!(points.len(), range.len(), "one curve per provider and the pooled one");
    for (g, d) in points {
        assert_eq!(d.len(), 25);
        let (lo, hi, _) = range[&g];
        assert!(
            (d[0] - lo).abs() < 1e-9 && (d[24] - hi).abs() < 1e-9,
            "{g}: grid {}..{} vs data {lo}..{hi}",
            d[0],
            d[24]
        );
    }
    let model: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("model.json")).unwrap()).unwrap();
    assert!(model["dose_response"]["label"].as_str().unwrap().contains("not causal"));
}

#[test]
fn cluster_bootstrap_of_the_fixed_model_agrees_with_cr1_and_is_reproducible() {
    let dir = tempfile::tempdir().unwrap();
    let run = |name: &str, absorb: bool| {
        let out = dir.path().join(name);
        let data = fixture("vam_synthetic.csv");
        let mut args = vec!["vam", "--data", s(&data), "--outcome", "post", "--pre", "pre", "--covariate"];
        args.extend(["low_income", "--group", "provider", "--cluster", "school", "--bootstrap", "299", "--seed", "5"]);
        if absorb {
            args.extend(["--fixed-effect", "school"]);
        }
        args.extend(["--out", s(&out)]);
        obc_ok(&args);
        out
    };
    let a = run("a", true);
    let b = run("b", true);
    crate::common::assert_same_file(&a.join("effects.csv"), &b.join("effects.csv"));
    // without absorbed effects the replicates sum per-cluster cross products (ClusterGram)
    let c = run("c", false);
    for (p, row) in effects(&a).into_iter().chain(effects(&c)) {
        let f = |n: &str| row[n].parse::<f64>().unwrap();
        assert!(f("boot_conf_low") < f("estimate") && f("estimate") < f("boot_conf_high"), "{p}");
        // 40 school clusters: the bootstrap and CR1 widths estimate the same spread
        let ratio = (f("boot_conf_high") - f("boot_conf_low")) / (f("conf_high") - f("conf_low"));
        assert!((0.6..1.6).contains(&ratio), "{p}: bootstrap / CR1 width {ratio}");
    }
}

#[test]
fn model_errors_of_the_data_exit_2_with_the_library_message() {
    let dir = tempfile::tempdir().unwrap();
    let data = fixture("vam_synthetic.csv");
    let run = |extra: &[&str], out: &str| {
        let out = dir.path().join(out);
        let mut args = vec!["vam", "--data", s(&data), "--outcome", "post", "--pre", "pre", "--group", "provider"];
        args.extend_from_slice(extra);
        args.extend_from_slice(&["--out", s(&out)]);
        obc(&args)
    };
    // `school` as a covariate is constant within the absorbed schools: a singular design
    // (stats::vam::VamError inside ProvidersError, passed up typed)
    let o = run(&["--fixed-effect", "school", "--covariate", "school"], "singular");
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    let e = stderr(&o);
    assert!(e.starts_with("error: singular design: "), "{e}");
    assert!(e.contains("after absorbing the fixed effects"), "{e}");
    assert_eq!(e.matches("singular design").count(), 1, "the message is printed once: {e}");
    // the pretest again as a covariate: a design column named twice (DesignError)
    let o = run(&["--covariate", "pre"], "twice");
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert_eq!(stderr(&o).trim_end(), "error: column \"pre\" appears twice in the design");
}

#[test]
fn exit_codes_follow_the_kind_of_typed_library_errors() {
    use obc::cli::exit_code;
    use obc::error::{ErrorKind, OutputError, kind_of};
    use obc::stats::bootstrap::BootstrapError;
    use obc::stats::design::DesignError;
    use obc::stats::vam::VamError;
    use obc::stats::vam::providers::ProvidersError;
    let plan = BootstrapError::Plan("1 units; need at least 2".into());
    assert_eq!(kind_of(&plan), Some(ErrorKind::Usage));
    let interval = BootstrapError::Interval { method: "bca", reason: "no spread".into() };
    assert_eq!(kind_of(&interval), Some(ErrorKind::Input));
    let vam = ProvidersError::Vam(VamError::Singular("x".into()));
    assert_eq!(kind_of(&vam), Some(ErrorKind::Input));
    let output = OutputError::NotAFolder { path: "f".into() };
    assert_eq!(kind_of(&output), Some(ErrorKind::Output));
    assert_eq!(kind_of(&std::io::Error::other("x")), None);
    for (e, code) in [
        (anyhow::Error::from(plan), 2),
        (anyhow::Error::from(interval), 2),
        (anyhow::Error::from(vam), 2),
        (anyhow::Error::from(DesignError::DuplicateColumn { name: "pre".into() }), 2),
        (anyhow::Error::from(output), 3),
        (anyhow::Error::from(std::io::Error::other("x")), 1),
        // a typed error under context still decides
        (anyhow::Error::from(VamError::Input("x".into())).context("fitting"), 2),
    ] {
        assert_eq!(exit_code(&e), code, "{e:#}");
    }
}
