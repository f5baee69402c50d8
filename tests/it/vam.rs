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
        "--vcov",
        "cr1",
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
        "--vcov",
        "cr1",
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
        args.extend([
            "low_income",
            "--group",
            "provider",
            "--cluster",
            "school",
            "--vcov",
            "cr1",
            "--bootstrap",
            "299",
            "--seed",
            "5",
        ]);
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

/// vam_exam.csv restricted to `schools`, in id order, with `provider` = "P" in
/// `provider_schools` (else empty: the comparison group), written to `path`.
fn exam_subset(path: &Path, schools: &[i64], provider_schools: &[i64]) {
    let (h, rows) = read_csv(&fixture("vam_exam.csv"));
    let col = |n: &str| h.iter().position(|c| c == n).unwrap();
    let mut text = String::from("id,school,normexam,standLRT,sex,female,provider\n");
    for r in rows {
        let school: i64 = r[col("school")].parse().unwrap();
        if schools.contains(&school) {
            let p = if provider_schools.contains(&school) { "P" } else { "" };
            let cells = ["id", "school", "normexam", "standLRT", "sex", "female"].map(|c| r[col(c)].clone());
            text.push_str(&format!("{},{p}\n", cells.join(",")));
        }
    }
    std::fs::write(path, text).unwrap();
}

fn ints(v: &serde_json::Value) -> Vec<i64> {
    v.as_array().unwrap().iter().map(|x| x.as_i64().unwrap()).collect()
}

/// `obc vam` of normexam on standLRT and the provider indicator, clustered by school.
fn exam_vam(data: &Path, out: &Path, extra: &[&str]) -> std::process::Output {
    let mut args = vec!["vam", "--data", s(data), "--outcome", "normexam", "--pre", "standLRT", "--group", "provider"];
    args.extend_from_slice(extra);
    args.extend_from_slice(&["--out", s(out)]);
    obc(&args)
}

fn model_json(out: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(out.join("model.json")).unwrap()).unwrap()
}

#[test]
fn cr2_is_the_default_with_clusters_and_matches_clubsandwich_on_exam() {
    let cr2: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(fixture("cr2.json")).unwrap()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("exam12.csv");
    exam_subset(&data, &ints(&cr2["schools"]), &ints(&cr2["provider_schools"]));
    // (fixture case, extra arguments): nothing absorbed; sex absorbed (not nested in schools)
    for (case, extra) in [("provider_no_fe", vec![]), ("sex_fe", vec!["--fixed-effect", "sex"])] {
        let out = dir.path().join(case);
        let mut args = vec!["--cluster", "school"];
        args.extend(extra);
        let o = exam_vam(&data, &out, &args);
        assert!(o.status.success(), "{}", stderr(&o));
        let want = &cr2["cases"][case];
        // names = [standLRT, provider]: the provider is the second
        let (b, se, df) =
            (floats(&want["coefficients"])[1], floats(&want["cr2_se"])[1], floats(&want["satterthwaite_df"])[1]);
        let p_want = floats(&want["p_satterthwaite"])[1];
        let row = &effects(&out)["P"];
        let got = |c: &str| -> f64 { row[c].parse().unwrap() };
        assert!((got("estimate") - b).abs() <= 1e-8, "{case}: {} vs {b}", got("estimate"));
        assert!((got("std_error") - se).abs() <= 1e-6 * se, "{case}: SE {} vs {se}", got("std_error"));
        assert!((got("df") - df).abs() <= 1e-6, "{case}: df {} vs {df}", got("df"));
        assert!((got("p_value") - p_want).abs() <= 1e-6 * p_want, "{case}: p {} vs {p_want}", got("p_value"));
        // the interval is t with the Satterthwaite df (R: qt(0.975, df))
        let half = (got("conf_high") - got("conf_low")) / 2.0;
        let t = half / got("std_error");
        assert!(t > 2.36 && t < 2.5, "{case}: t quantile {t} for df {df}");
        let m = model_json(&out);
        let d = &m["diagnostics"];
        assert_eq!((d["vcov"].as_str(), d["vcov_default"].as_bool()), (Some("CR2"), Some(true)));
        assert_eq!(d["n_clusters"], 12);
        assert_eq!(d["treated_clusters"]["P"], 4, "the provider is in 4 of the 12 schools");
        assert!(manifest(&out)["warnings"].as_array().unwrap().iter().all(|w| w["code"] != "few_clusters"));
    }
    // --vcov cr1: no df column, t with G - 1 = 11 df, and the few_clusters warning
    let out = dir.path().join("cr1");
    let o = exam_vam(&data, &out, &["--cluster", "school", "--vcov", "cr1"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let (h, _) = read_csv(&out.join("effects.csv"));
    assert!(!h.contains(&"df".to_string()), "{h:?}");
    assert_eq!(model_json(&out)["diagnostics"]["vcov"], "CR1");
    let man = manifest(&out);
    let w: Vec<&serde_json::Value> =
        man["warnings"].as_array().unwrap().iter().filter(|w| w["code"] == "few_clusters").collect();
    assert_eq!(w.len(), 1, "{w:?}");
    assert!(w[0]["message"].as_str().unwrap().contains("P (4)"), "{}", w[0]);
    assert!(stderr(&o).contains("few_clusters") || stderr(&o).contains("fewer than 10 clusters"), "{}", stderr(&o));
    // without clusters: HC1, no df column, no warning
    let out = dir.path().join("hc1");
    assert!(exam_vam(&data, &out, &[]).status.success());
    assert_eq!(model_json(&out)["diagnostics"]["vcov"], "HC1");
    assert!(model_json(&out)["diagnostics"]["treated_clusters"].is_null());
}

#[test]
fn wild_bootstrap_matches_the_enumerated_reference_on_exam() {
    let wild: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(fixture("wild.json")).unwrap()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("exam10.csv");
    exam_subset(&data, &(1..=10).collect::<Vec<_>>(), &[2, 5, 9]);
    let out = dir.path().join("wild");
    let o = exam_vam(&data, &out, &["--cluster", "school", "--wild-bootstrap", "1024"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let row = &effects(&out)["P"];
    // 2^10 = 1024 sign vectors enumerated: the p-value is exact, 826/1024.
    let want = &wild["tests"]["provider_zero"];
    assert_eq!(want["count_abs_ge"], 826);
    assert_eq!(row["wild_p_value"].parse::<f64>().unwrap(), want["p_symmetric"].as_f64().unwrap());
    let iv = &wild["intervals"]["provider"];
    let bracket = iv["bracket"].as_f64().unwrap();
    for (c, w) in [("wild_conf_low", "conf_low"), ("wild_conf_high", "conf_high")] {
        let (got, w) = (row[c].parse::<f64>().unwrap(), iv[w].as_f64().unwrap());
        assert!((got - w).abs() <= 10.0 * bracket, "{c}: {got} vs R {w}");
    }
    let m = model_json(&out);
    let w = &m["diagnostics"]["wild_bootstrap"];
    assert_eq!(
        (w["weights"].as_str(), w["reps"].as_u64(), w["enumerated"].as_bool()),
        (Some("rademacher"), Some(1024), Some(true))
    );
    assert_eq!(w["clusters"], 10);
    assert!(w["seed"].is_null(), "enumeration uses no seed");
    // 5 schools: 2/2^5 > 0.05, so no null value is rejected: the interval is the whole line.
    let data5 = dir.path().join("exam5.csv");
    exam_subset(&data5, &[1, 2, 3, 4, 5], &[2, 5]);
    let out = dir.path().join("wild5");
    assert!(exam_vam(&data5, &out, &["--cluster", "school", "--wild-bootstrap", "999"]).status.success());
    let row = &effects(&out)["P"];
    assert_eq!((row["wild_conf_low"].as_str(), row["wild_conf_high"].as_str()), ("-inf", "inf"));
}

#[test]
fn wild_bootstrap_columns_do_not_depend_on_the_thread_count() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("exam12.csv");
    exam_subset(&data, &[2, 3, 5, 9, 10, 12, 19, 20, 23, 24, 27, 28], &[2, 9, 19, 24]);
    let bytes = |threads: &str| {
        let out = dir.path().join(format!("t{threads}"));
        let o = std::process::Command::new(env!("CARGO_BIN_EXE_obc"))
            .env("RAYON_NUM_THREADS", threads)
            .args(["vam", "--data", s(&data), "--outcome", "normexam", "--pre", "standLRT", "--group", "provider"])
            .args(["--cluster", "school", "--wild-bootstrap", "999", "--weights", "webb", "--seed", "7"])
            .args(["--out", s(&out)])
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", stderr(&o));
        std::fs::read(out.join("effects.csv")).unwrap()
    };
    let one = bytes("1");
    assert_eq!(one, bytes("2"));
    let text = String::from_utf8(one).unwrap();
    assert!(text.lines().next().unwrap().ends_with("wild_p_value,wild_conf_low,wild_conf_high,suppressed"), "{text}");
    let model = model_json(&dir.path().join("t1"));
    let w = &model["diagnostics"]["wild_bootstrap"];
    assert_eq!(
        (w["weights"].as_str(), w["reps"].as_u64(), w["enumerated"].as_bool()),
        (Some("webb"), Some(999), Some(false))
    );
    assert_eq!(w["seed"], 7);
}

#[test]
fn vcov_and_wild_bootstrap_usage_errors() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("exam5.csv");
    exam_subset(&data, &[1, 2, 3, 4, 5], &[2, 5]);
    for (k, (args, message)) in [
        (vec!["--vcov", "cr1"], "need --cluster"),
        (vec!["--vcov", "cr2"], "need --cluster"),
        (vec!["--wild-bootstrap", "99"], "needs --cluster"),
        (vec!["--cluster", "school", "--wild-bootstrap", "0"], "at least 1"),
        (vec!["--cluster", "school", "--vcov", "cr2", "--reliability", "0.8"], "not available with --reliability"),
        (
            vec!["--cluster", "school", "--wild-bootstrap", "99", "--reliability", "0.8"],
            "not available with --reliability",
        ),
        (vec!["--cluster", "school", "--weights", "webb"], "--wild-bootstrap"),
        (vec!["--model", "random", "--vcov", "hc1"], "apply to --model fixed"),
    ]
    .into_iter()
    .enumerate()
    {
        let o = exam_vam(&data, &dir.path().join(format!("u{k}")), &args);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", stderr(&o));
        assert!(stderr(&o).contains(message), "{args:?}: {}", stderr(&o));
    }
    // The errors-in-variables correction with clusters: CR1 by default, said in a warning.
    let out = dir.path().join("eiv");
    let o = exam_vam(&data, &out, &["--cluster", "school", "--reliability", "0.8"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(model_json(&out)["diagnostics"]["vcov"], "CR1");
    let codes: Vec<String> = manifest(&out)["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w["code"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(codes, ["value_added", "few_clusters"]);
}
