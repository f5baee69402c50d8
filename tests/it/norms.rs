//! `obc norms fit | import | score` end to end: against R's SGPs, reproducibility, row
//! order, several priors, conditional norms on data-samples, imported tables, errors.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use rand::seq::SliceRandom;
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, Normal};

use crate::common::{assert_accounting, assert_same_file, obc, obc_ok, read_csv, repo, s, samples, stderr};

fn fixture(name: &str) -> PathBuf {
    repo().join("tests/fixtures").join(name)
}

fn sidecar_manifest(out: &Path) -> serde_json::Value {
    let stem = out.file_stem().unwrap().to_str().unwrap();
    let path = out.with_file_name(format!("{stem}.manifest.json"));
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// Column `name` of a CSV as strings keyed by the `key` column.
fn by_key(path: &Path, key: &str, name: &str) -> HashMap<String, String> {
    let (h, rows) = read_csv(path);
    let k = h.iter().position(|c| c == key).unwrap_or_else(|| panic!("{key} not in {h:?}"));
    let c = h.iter().position(|c| c == name).unwrap_or_else(|| panic!("{name} not in {h:?}"));
    rows.into_iter().map(|r| (r[k].clone(), r[c].clone())).collect()
}

fn fit_and_score_sgp(data: &Path, dir: &Path, extra: &[&str]) -> (PathBuf, PathBuf) {
    let norms = dir.join("norms.json");
    let scores = dir.join("scores.csv");
    let mut args = vec!["norms", "fit", "--data", s(data), "--prior", "prior", "--current", "current"];
    args.extend_from_slice(&["--method", "sgp", "--out", s(&norms)]);
    args.extend_from_slice(extra);
    obc_ok(&args);
    obc_ok(&["norms", "score", "--norms", s(&norms), "--data", s(data), "--id", "id", "--out", s(&scores)]);
    (norms, scores)
}

#[test]
fn sgp_from_the_cli_matches_r_on_the_synthetic_fixture() {
    let dir = tempfile::tempdir().unwrap();
    let data = fixture("r/sgp_synthetic.csv");
    let (norms, scores) = fit_and_score_sgp(&data, dir.path(), &[]);
    let r_sgp = by_key(&fixture("r/sgp_synthetic_results.csv"), "id", "sgp");
    let ours = by_key(&scores, "id", "sgp");
    assert_eq!(ours.len(), r_sgp.len(), "every student is scored");
    let mut differ = 0;
    for (id, want) in &r_sgp {
        let got: i32 = ours[id].parse().unwrap();
        let want: i32 = want.parse().unwrap();
        assert!((1..=99).contains(&got));
        assert!((got - want).abs() <= 1, "student {id}: SGP {got} vs R {want}");
        differ += usize::from(got != want);
    }
    // Issue 3's target: identical for at least 99.5% of students, never more than 1 apart.
    assert!(differ * 200 <= r_sgp.len(), "{differ} of {} SGPs differ from R", r_sgp.len());
    let orders = by_key(&scores, "id", "sgp_order");
    assert!(orders.values().all(|o| o == "1"));
    for out in [&norms, &scores] {
        let inputs = assert_accounting(&sidecar_manifest(out));
        assert_eq!(inputs[0]["rows_used"], 3000);
    }
    let m = sidecar_manifest(&scores);
    assert_eq!(m["outputs"][0]["restricted"], true, "scores are student level");
    // norms.json carries what scoring needs: knots, boundaries, 100 x 8 coefficients.
    let json: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&norms).unwrap()).unwrap();
    let g = &json["norms"]["groups"][0]["orders"][0]["norms"];
    assert_eq!(g["coefficients"].as_array().unwrap().len(), 100);
    assert_eq!(g["coefficients"][0].as_array().unwrap().len(), 8);
    assert_eq!(g["priors"][0]["knots"].as_array().unwrap().len(), 4);
}

#[test]
fn norms_and_scores_are_reproducible_and_do_not_depend_on_row_order() {
    let dir = tempfile::tempdir().unwrap();
    let data = fixture("r/sgp_synthetic.csv");
    let a = dir.path().join("a");
    let b = dir.path().join("b");
    let (na, sa) = fit_and_score_sgp(&data, &a, &["--solver", "fn"]);
    let (nb, sb) = fit_and_score_sgp(&data, &b, &["--solver", "fn"]);
    for (x, y) in [(&na, &nb), (&sa, &sb)] {
        assert_same_file(x, y);
        for suffix in ["exceptions.csv", "manifest.json"] {
            let stem = |p: &Path| p.with_file_name(format!("{}.{suffix}", p.file_stem().unwrap().to_str().unwrap()));
            assert_same_file(&stem(x), &stem(y));
        }
    }
    // Shuffled rows: the same norms (to the solver's accuracy) and the same SGP per student.
    let text = std::fs::read_to_string(&data).unwrap();
    let mut lines: Vec<&str> = text.lines().collect();
    let header = lines.remove(0);
    lines.shuffle(&mut ChaCha8Rng::seed_from_u64(5));
    let shuffled = dir.path().join("shuffled.csv");
    std::fs::write(&shuffled, format!("{header}\n{}\n", lines.join("\n"))).unwrap();
    let (nc, sc) = fit_and_score_sgp(&shuffled, &dir.path().join("c"), &["--solver", "fn"]);
    let coefficients = |p: &Path| -> Vec<f64> {
        let v: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap();
        v["norms"]["groups"][0]["orders"][0]["norms"]["coefficients"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|r| r.as_array().unwrap().iter().map(|x| x.as_f64().unwrap()).collect::<Vec<_>>())
            .collect()
    };
    for (x, y) in coefficients(&na).iter().zip(coefficients(&nc)) {
        // fn stops at a duality gap of 1e-6; both runs solve the same problem
        assert!((x - y).abs() <= 1e-5 * x.abs().max(1.0), "coefficient {x} vs {y} after shuffling");
    }
    let (first, second) = (by_key(&sa, "id", "sgp"), by_key(&sc, "id", "sgp"));
    let moved: Vec<_> = first.iter().filter(|(id, v)| &second[*id] != *v).collect();
    // A score sitting on a predicted quantile can move by one; allow 0.5% of students.
    assert!(moved.len() * 200 <= first.len(), "{} SGPs changed with the row order: {moved:?}", moved.len());
    for (id, v) in &moved {
        let (x, y): (i32, i32) = (v.parse().unwrap(), second[*id].parse().unwrap());
        assert!((x - y).abs() <= 1);
    }
}

/// Two priors, a third of the students without the older one, two grades.
fn two_prior_data(path: &Path) {
    let mut rng = ChaCha8Rng::seed_from_u64(31);
    let z = Normal::new(0.0f64, 1.0).unwrap();
    let mut out = String::from("id,grade,prior,prior2,current\n");
    for i in 0..3000 {
        let grade = if i % 2 == 0 { "4" } else { "5" };
        let ability = z.sample(&mut rng);
        let p2 = (190.0 + 12.0 * ability + 4.0 * z.sample(&mut rng)).round();
        let p1 = (200.0 + 12.0 * ability + 4.0 * z.sample(&mut rng)).round();
        let cur = (210.0 + 12.0 * ability + 5.0 * z.sample(&mut rng)).round();
        let p2 = if rng.random::<f64>() < 1.0 / 3.0 { String::new() } else { p2.to_string() };
        // One student with only the older prior: not scoreable, not usable.
        let p1 = if i == 17 { "NA".to_string() } else { p1.to_string() };
        out.push_str(&format!("S{i:05},{grade},{p1},{p2},{cur}\n"));
    }
    std::fs::write(path, out).unwrap();
}

#[test]
fn several_priors_score_each_student_with_the_highest_order_available() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("two.csv");
    two_prior_data(&data);
    let norms = dir.path().join("norms.json");
    let scores = dir.path().join("scores.csv");
    let fit = |min_n: &str| {
        obc_ok(&[
            "norms",
            "fit",
            "--data",
            s(&data),
            "--prior",
            "prior",
            "--prior",
            "prior2",
            "--current",
            "current",
            "--by",
            "grade",
            "--method",
            "sgp",
            "--solver",
            "fn",
            "--min-n",
            min_n,
            "--out",
            s(&norms),
        ]);
        obc_ok(&["norms", "score", "--norms", s(&norms), "--data", s(&data), "--id", "id", "--out", s(&scores)]);
    };
    fit("500");
    let (h, rows) = read_csv(&data);
    let p2 = h.iter().position(|c| c == "prior2").unwrap();
    let orders = by_key(&scores, "id", "sgp_order");
    assert_eq!(orders.len(), 2999, "the student without the most recent prior is not scored");
    for r in &rows {
        if r[0] == "S00017" {
            assert!(!orders.contains_key("S00017"));
            continue;
        }
        let want = if r[p2].is_empty() { "1" } else { "2" };
        assert_eq!(orders[&r[0]], want, "student {}", r[0]);
    }
    let (_, exceptions) = read_csv(&dir.path().join("scores.exceptions.csv"));
    assert_eq!(exceptions.len(), 1);
    assert_eq!((exceptions[0][1].as_str(), exceptions[0][2].as_str()), ("19", "prior"));
    let m = sidecar_manifest(&scores);
    assert_accounting(&m);

    // Order 2 has about 1000 students per grade: with min_n 1200 it is skipped, with the
    // reason kept in norms.json, and everyone is scored at order 1.
    fit("1200");
    let json: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&norms).unwrap()).unwrap();
    for g in json["norms"]["groups"].as_array().unwrap() {
        assert!(g["orders"][0]["norms"].is_object());
        assert!(g["orders"][1]["norms"].is_null());
        assert!(g["orders"][1]["skipped"].as_str().unwrap().contains("too few"), "{}", g["orders"][1]["skipped"]);
    }
    assert!(by_key(&scores, "id", "sgp_order").values().all(|o| o == "1"));
}

#[test]
fn conditional_norms_on_data_samples() {
    let dir = tempfile::tempdir().unwrap();
    let prep = dir.path().join("prep");
    obc_ok(&["prepare", s(&samples().join("contract.toml")), "--out", s(&prep)]);
    let analytic = prep.join("analytic.csv");
    let norms = dir.path().join("cond.json");
    let scores = dir.path().join("cond.csv");
    obc_ok(&[
        "norms",
        "fit",
        "--data",
        s(&analytic),
        "--prior",
        "pre_score",
        "--current",
        "post_score",
        "--by",
        "grade",
        "--weeks",
        "weeks_between",
        "--method",
        "conditional",
        "--min-n",
        "300",
        "--out",
        s(&norms),
    ]);
    obc_ok(&[
        "norms",
        "score",
        "--norms",
        s(&norms),
        "--data",
        s(&analytic),
        "--id",
        "student_id",
        "--sem-prior",
        "pre_sem",
        "--sem-current",
        "post_sem",
        "--target-cgp",
        "60",
        "--out",
        s(&scores),
    ]);
    let (h, rows) = read_csv(&scores);
    let col = |n: &str| h.iter().position(|c| c == n).unwrap();
    let f = |r: &[String], n: &str| r[col(n)].parse::<f64>().unwrap();
    let mut by_grade: HashMap<String, (f64, usize)> = HashMap::new();
    for r in &rows {
        let (cgi, cgp, p) = (f(r, "cgi"), f(r, "cgp"), f(r, "prob_met"));
        assert!((0.0..=100.0).contains(&cgp) && (0.0..=1.0).contains(&p));
        assert!((f(r, "growth") - f(r, "expected_growth") - cgi * f(r, "growth_sd")).abs() < 1e-9);
        assert!(f(r, "target_growth") > f(r, "expected_growth"), "target CGP 60 is above the expectation");
        let e = by_grade.entry(r[col("grade")].clone()).or_default();
        e.0 += cgi;
        e.1 += 1;
    }
    // OLS with an intercept: residuals sum to zero in each group, so mean CGI is 0.
    for (g, (sum, n)) in by_grade {
        assert!((sum / n as f64).abs() < 1e-9, "grade {g}: mean CGI {}", sum / n as f64);
    }
    let m = sidecar_manifest(&scores);
    let inputs = assert_accounting(&m);
    assert_eq!(inputs[0]["rows_read"], 5000);
    assert_eq!(inputs[0]["rows_used"].as_u64().unwrap() as usize, rows.len());
}

#[test]
fn imported_table_scores_reproduce_the_table() {
    let dir = tempfile::tempdir().unwrap();
    let norms = dir.path().join("table.json");
    obc_ok(&[
        "norms",
        "import",
        "--table",
        s(&fixture("norms/synthetic_long_points.csv")),
        "--subject",
        "subject",
        "--grade",
        "grade",
        "--prior",
        "start",
        "--current",
        "end",
        "--weeks",
        "weeks",
        "--out",
        s(&norms),
    ]);
    // Inside the grid the table is mean = 10 + 0.3 w - 0.08 (start - 150), sd = 6 + 0.02 w (grade K).
    let data = dir.path().join("d.csv");
    std::fs::write(
        &data,
        "id,subject,grade,start,end,weeks\n1,Reading,K,155,170,26\n2,Reading,K,141.5,150,32\n3,Reading,9,200,210,26\n4,Reading,K,150,,26\n",
    )
    .unwrap();
    let scores = dir.path().join("s.csv");
    obc_ok(&["norms", "score", "--norms", s(&norms), "--data", s(&data), "--id", "id", "--out", s(&scores)]);
    let expected = by_key(&scores, "id", "expected_growth");
    let sd = by_key(&scores, "id", "growth_sd");
    for (id, start, w) in [("1", 155.0, 26.0), ("2", 141.5, 32.0)] {
        let mean = 10.0 + 0.3 * w - 0.08 * (start - 150.0);
        assert!((expected[id].parse::<f64>().unwrap() - mean).abs() < 1e-9, "student {id}");
        assert!((sd[id].parse::<f64>().unwrap() - (6.0 + 0.02 * w)).abs() < 1e-9, "student {id}");
    }
    let (h, ex) = read_csv(&dir.path().join("s.exceptions.csv"));
    assert_eq!(h, ["file", "row", "column", "value", "reason_code", "reason", "kind"]);
    let reasons: Vec<(&str, &str)> = ex.iter().map(|r| (r[1].as_str(), r[2].as_str())).collect();
    assert_eq!(reasons, vec![("4", "subject+grade"), ("5", "end")], "{ex:?}");
    assert!(ex[0][5].contains("grade"), "{}", ex[0][5]);
    // no norms for grade 9: the group; no end score: not scorable (both left out by the norms)
    assert_eq!((ex[0][4].as_str(), ex[1][4].as_str()), ("norm_group_not_fitted", "not_scorable"));
}

#[test]
fn bad_requests_exit_2_naming_the_problem() {
    let dir = tempfile::tempdir().unwrap();
    let data = fixture("r/sgp_synthetic.csv");
    let out = dir.path().join("n.json");
    let o = obc(&[
        "norms",
        "fit",
        "--data",
        s(&data),
        "--prior",
        "score_2024",
        "--current",
        "current",
        "--method",
        "sgp",
        "--out",
        s(&out),
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("score_2024"), "{}", stderr(&o));
    let o = obc(&[
        "norms",
        "fit",
        "--data",
        s(&data),
        "--prior",
        "prior",
        "--prior",
        "id",
        "--current",
        "current",
        "--method",
        "conditional",
        "--out",
        s(&out),
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("exactly one prior"), "{}", stderr(&o));
    let o = obc(&[
        "norms",
        "fit",
        "--data",
        s(&data),
        "--prior",
        "prior",
        "--current",
        "current",
        "--method",
        "sgp",
        "--min-n",
        "5000",
        "--out",
        s(&out),
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("need at least 5000, got 3000"), "{}", stderr(&o));
    std::fs::write(&out, "{\"schema_version\": 1}").unwrap();
    let o = obc(&[
        "norms",
        "score",
        "--norms",
        s(&out),
        "--data",
        s(&data),
        "--id",
        "id",
        "--out",
        s(&dir.path().join("x.csv")),
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("not a valid norms file"), "{}", stderr(&o));
}

/// data-samples/history.csv reshaped by hand to one row per student, as an analyst would in
/// a spreadsheet: each student's valid fall and spring math tests side by side, the grade of
/// the fall test, weeks = days between the tests / 7. Returns the wide file's path and the
/// number of students.
fn history_by_hand(dir: &Path) -> (PathBuf, usize) {
    let (h, rows) = read_csv(&samples().join("history.csv"));
    let col = |n: &str| h.iter().position(|c| c == n).unwrap();
    let mut tests: HashMap<(String, String), (String, String)> = HashMap::new();
    let mut grades: HashMap<String, String> = HashMap::new();
    for r in &rows {
        if r[col("subject")] != "math" || r[col("valid")] != "true" {
            continue;
        }
        let window = r[col("window")].clone();
        assert!(window == "fall" || window == "spring", "{window}");
        let id = r[col("student_id")].clone();
        if window == "fall" {
            grades.insert(id.clone(), r[col("grade")].clone());
        }
        let old = tests.insert((id, window), (r[col("test_date")].clone(), r[col("scale_score")].clone()));
        assert!(old.is_none(), "one test per student and window: no retest rule needed");
    }
    let date = |d: &str| chrono::NaiveDate::parse_from_str(d, "%Y-%m-%d").unwrap();
    let mut ids: Vec<&String> = grades.keys().collect();
    ids.sort();
    let mut out = String::from("student_id,subject,grade,pre,post,weeks\n");
    let mut n = 0;
    for id in ids {
        let (Some(pre), Some(post)) =
            (tests.get(&(id.clone(), "fall".into())), tests.get(&(id.clone(), "spring".into())))
        else {
            continue;
        };
        let days = (date(&post.0) - date(&pre.0)).num_days();
        if days <= 0 {
            continue;
        }
        out.push_str(&format!("{id},math,{},{},{},{}\n", grades[id], pre.1, post.1, days as f64 / 7.0));
        n += 1;
    }
    let path = dir.join("wide.csv");
    std::fs::write(&path, out).unwrap();
    (path, n)
}

fn json_of(path: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

#[test]
fn norms_fit_from_the_long_history_file_equals_the_fit_of_the_file_reshaped_by_hand() {
    let dir = tempfile::tempdir().unwrap();
    let (wide, students) = history_by_hand(dir.path());
    let history = samples().join("history.csv");
    for method in ["conditional", "sgp"] {
        let long_out = dir.path().join(format!("long_{method}.json"));
        let wide_out = dir.path().join(format!("wide_{method}.json"));
        let common = ["--method", method, "--min-n", "300"];
        let mut long_args = vec!["norms", "fit", "--data", s(&history), "--subject", "math", "--pre-window"];
        long_args.extend_from_slice(&["fall", "--post-window", "spring", "--out", s(&long_out)]);
        long_args.extend_from_slice(&common);
        obc_ok(&long_args);
        let mut wide_args = vec!["norms", "fit", "--data", s(&wide), "--prior", "pre", "--current", "post"];
        wide_args.extend_from_slice(&["--by", "subject", "--by", "grade", "--out", s(&wide_out)]);
        if method == "conditional" {
            wide_args.extend_from_slice(&["--weeks", "weeks"]);
        }
        wide_args.extend_from_slice(&common);
        obc_ok(&wide_args);
        let (long, wide_json) = (json_of(&long_out), json_of(&wide_out));
        assert_eq!(long["norms"], wide_json["norms"], "{method}: the same norms");
        assert_eq!(long["columns"], wide_json["columns"], "{method}: the same column names");
        assert_eq!(long["norms"]["groups"].as_array().unwrap().len(), 6, "grades 3..8");
        assert_eq!(long["provenance"]["data"]["paired"]["pre_window"], "fall");
        // Every history row is used (a pre- or post-test of a paired student) or listed.
        let inputs = assert_accounting(&sidecar_manifest(&long_out));
        assert_eq!(inputs[0]["rows_read"], 9009);
        assert_eq!(inputs[0]["rows_used"].as_u64().unwrap() as usize, 2 * students);
    }
    // The scores of the wide file against the long file's norms, its columns mapped.
    let long_norms = dir.path().join("long_conditional.json");
    let scores = dir.path().join("scores.csv");
    obc_ok(&[
        "norms",
        "score",
        "--norms",
        s(&long_norms),
        "--data",
        s(&wide),
        "--id",
        "student_id",
        "--out",
        s(&scores),
    ]);
    let renamed = dir.path().join("renamed.csv");
    let text = std::fs::read_to_string(&wide).unwrap();
    let text = text.replacen("student_id,subject,grade,pre,post,weeks", "id,Subj,Gr,fall_rit,spring_rit,wks", 1);
    std::fs::write(&renamed, text).unwrap();
    let mapped = dir.path().join("mapped.csv");
    let o =
        obc(&["norms", "score", "--norms", s(&long_norms), "--data", s(&renamed), "--id", "id", "--out", s(&mapped)]);
    assert_eq!(o.status.code(), Some(2), "without a mapping the norms' columns are missing");
    assert!(stderr(&o).contains("not found"), "{}", stderr(&o));
    obc_ok(&[
        "norms",
        "score",
        "--norms",
        s(&long_norms),
        "--data",
        s(&renamed),
        "--id",
        "id",
        "--prior",
        "fall_rit",
        "--current",
        "spring_rit",
        "--subject",
        "Subj",
        "--grade",
        "Gr",
        "--weeks",
        "wks",
        "--out",
        s(&mapped),
    ]);
    let (h1, r1) = read_csv(&scores);
    let (h2, r2) = read_csv(&mapped);
    assert_eq!(r1.len(), students);
    assert_eq!(r1, r2, "the same scores whatever the columns are called");
    assert_eq!(h2[..3], ["id", "Subj", "Gr"]);
    assert_eq!(h1[3..], h2[3..]);
}

#[test]
fn norms_fit_from_the_contract_uses_its_history_settings() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("contract_norms.json");
    obc_ok(&["norms", "fit", s(&samples().join("contract.toml")), "--out", s(&out)]);
    let json = json_of(&out);
    // The contract's [norms]: conditional, min_n 500; its history breaks shorten the weeks.
    assert_eq!(json["norms"]["method"], "conditional");
    assert_eq!(json["norms"]["spec"]["min_n"], 500);
    assert_eq!(json["provenance"]["data"]["paired"]["contract"], "contract.toml");
    let plain = dir.path().join("plain.json");
    let history = samples().join("history.csv");
    obc_ok(&[
        "norms",
        "fit",
        "--data",
        s(&history),
        "--subject",
        "math",
        "--pre-window",
        "fall",
        "--post-window",
        "spring",
        "--method",
        "conditional",
        "--min-n",
        "500",
        "--out",
        s(&plain),
    ]);
    let plain = json_of(&plain);
    let groups = |j: &serde_json::Value| j["norms"]["groups"].as_array().unwrap().len();
    assert_eq!(groups(&json), groups(&plain));
    assert_ne!(json["norms"], plain["norms"], "the contract's winter break is left out of the weeks");
    let inputs = assert_accounting(&sidecar_manifest(&out));
    assert_eq!(inputs[0]["rows_read"], 9009);
}

#[test]
fn norms_requests_that_cannot_work_are_refused_with_the_option_named() {
    let dir = tempfile::tempdir().unwrap();
    let history = samples().join("history.csv");
    let out = dir.path().join("n.json");
    let long = ["--data", s(&history), "--subject", "math", "--pre-window", "fall", "--post-window", "spring"];
    let mut args = vec!["norms", "fit"];
    args.extend_from_slice(&long);
    args.extend_from_slice(&["--method", "conditional", "--min-n", "1000", "--out", s(&out)]);
    let o = obc(&args);
    assert_eq!(o.status.code(), Some(2));
    let e = stderr(&o);
    assert!(e.contains("--min-n 1000"), "{e}");
    assert!(e.contains("math / 3: 685"), "the group sizes: {e}");
    assert!(!out.exists());
    let (wide, _) = history_by_hand(dir.path());
    let o = obc(&[
        "norms",
        "fit",
        "--data",
        s(&wide),
        "--prior",
        "pre",
        "--current",
        "PRE",
        "--method",
        "sgp",
        "--out",
        s(&out),
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("--prior pre and --current PRE name the same column"), "{}", stderr(&o));
    let mut args = vec!["norms", "fit"];
    args.extend_from_slice(&long);
    args.extend_from_slice(&["--prior", "pre", "--method", "sgp", "--out", s(&out)]);
    let o = obc(&args);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("one-row-per-student"), "{}", stderr(&o));
    let o = obc(&[
        "norms",
        "fit",
        "--data",
        s(&history),
        "--subject",
        "math",
        "--pre-window",
        "fall",
        "--post-window",
        "Fall",
        "--method",
        "sgp",
        "--out",
        s(&out),
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("same window"), "{}", stderr(&o));
    let o = obc(&["norms", "fit", "--data", s(&wide), "--prior", "pre", "--current", "post", "--out", s(&out)]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("--method"), "{}", stderr(&o));
    let o = obc(&[
        "norms",
        "fit",
        "--data",
        s(&history),
        "--subject",
        "reading",
        "--pre-window",
        "fall",
        "--post-window",
        "spring",
        "--method",
        "sgp",
        "--out",
        s(&out),
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("reading"), "{}", stderr(&o));
}
