//! Issue "fail safe and loud": each numbered item of the issue has a test named after it
//! that failed before the change. Items 3, 4, 5 and 18 (output files) are in
//! `failsafe_output.rs`; items 7 and 13-17, 19 (reading files, messages) in
//! `failsafe_input.rs`.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use super::common::{copy_samples, obc, read_csv, s, samples, stderr};

/// Rewrites a CSV file: `f` gets the header and may change, drop or add rows.
fn edit_csv(path: &Path, f: impl FnOnce(&[String], &mut Vec<Vec<String>>)) {
    edit_table(path, |h, rows| f(h, rows));
}

/// [`edit_csv`] where `f` may change the header too.
fn edit_table(path: &Path, f: impl FnOnce(&mut Vec<String>, &mut Vec<Vec<String>>)) {
    let (mut h, mut rows) = read_csv(path);
    f(&mut h, &mut rows);
    let mut w = csv::WriterBuilder::new().terminator(csv::Terminator::Any(b'\n')).from_path(path).unwrap();
    w.write_record(&h).unwrap();
    for r in &rows {
        w.write_record(r).unwrap();
    }
    w.flush().unwrap();
}

fn col(h: &[String], name: &str) -> usize {
    h.iter().position(|x| x == name).unwrap_or_else(|| panic!("no column {name} in {h:?}"))
}

/// Replaces `from` by `to` in the folder's contract.toml (which must contain `from`).
fn edit_contract(dir: &Path, from: &str, to: &str) {
    let p = dir.join("contract.toml");
    let text = std::fs::read_to_string(&p).unwrap();
    assert!(text.contains(from), "contract.toml has no {from:?}");
    std::fs::write(&p, text.replacen(from, to, 1)).unwrap();
}

fn check(dir: &Path, extra: &[&str]) -> std::process::Output {
    let contract = dir.join("contract.toml");
    let out = dir.join("out");
    let mut args = vec!["check", s(&contract), "--out", s(&out)];
    args.extend_from_slice(extra);
    obc(&args)
}

fn results(dir: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(dir.join("out/results.json")).unwrap()).unwrap()
}

/// Every public output (manifest `restricted: false`) of a folder, with figures expanded.
fn public_files(out: &Path, manifest: &serde_json::Value) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for o in manifest["outputs"].as_array().unwrap() {
        if o["restricted"].as_bool().unwrap() {
            continue;
        }
        let p = out.join(o["file"].as_str().unwrap());
        if p.is_dir() {
            for e in std::fs::read_dir(&p).unwrap() {
                files.push(e.unwrap().path());
            }
        } else if p.exists() {
            files.push(p);
        }
    }
    files
}

/// Asserts that no roster student ID appears as a word in any public output.
fn assert_no_student_ids(files: &[PathBuf], ids: &BTreeSet<String>) {
    assert!(!files.is_empty());
    for f in files {
        let text = std::fs::read_to_string(f).unwrap();
        // words of letters and digits; a decimal number (123437.5, a payment in cost.csv) is
        // one word, not the ID 123437 followed by 5
        let words: BTreeSet<&str> = text
            .split(|c: char| !(c.is_ascii_alphanumeric() || c == '.'))
            .flat_map(|w| if is_decimal(w) { vec![w] } else { w.split('.').collect() })
            .collect();
        let hits: Vec<&String> = ids.iter().filter(|id| words.contains(id.as_str())).take(5).collect();
        assert!(hits.is_empty(), "{} carries student IDs {hits:?}", f.display());
    }
}

/// `123.45`: digits, one dot, digits.
fn is_decimal(w: &str) -> bool {
    let digits = |p: &str| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit());
    w.split_once('.').is_some_and(|(a, b)| digits(a) && digits(b))
}

fn roster_ids(dir: &Path) -> BTreeSet<String> {
    let (h, rows) = read_csv(&dir.join("roster.csv"));
    let c = col(&h, "student_id");
    rows.iter().map(|r| r[c].clone()).collect()
}

/// Asserts that results.json, providers.csv and groups.csv show no statistic of fewer than
/// `min_cell` students: suppressed providers carry no metric, counts of outcomes,
/// replicate shares, equivalence or figures, and no group cell or figure bin is small.
fn assert_no_small_cells(out: &Path, min_cell: u64) {
    let r: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("results.json")).unwrap()).unwrap();
    let st = &r["settlement"];
    let mut small = BTreeSet::new();
    for p in st["providers"].as_array().unwrap() {
        let name = p["provider"].as_str().unwrap().to_string();
        let counted = p["counts"]["counted"].as_u64().unwrap();
        assert_eq!(p["suppressed"].as_bool().unwrap(), counted < min_cell, "{name}");
        if counted < min_cell {
            small.insert(name.clone());
            assert!(p["estimate"].is_null(), "{name}: {}", p["estimate"]);
            assert!(p["counts"]["met"].is_null() && p["counts"]["regressed"].is_null(), "{name}: {}", p["counts"]);
            for t in p["tiers"].as_array().unwrap() {
                assert!(t["p_at_least"].is_null(), "{name}: {t}");
            }
            assert_eq!(p["payment"]["arithmetic"].as_array().unwrap().len(), 1, "{name}");
        }
    }
    for e in st["fairness"]["equivalence"].as_array().unwrap() {
        assert!(!small.contains(e["provider"].as_str().unwrap()), "equivalence for a suppressed provider: {e}");
        assert!(e["n_t"].as_u64().unwrap() >= min_cell, "{e}");
    }
    for line in st["fairness"]["regression_to_mean"].as_array().unwrap() {
        let p = line["message"].as_str().unwrap().split(':').next().unwrap();
        assert!(!small.contains(p), "{line}");
    }
    for g in st["groups"].as_array().unwrap() {
        match g["counted"].as_u64() {
            Some(n) => assert!(n >= min_cell && g["suppressed"].is_null(), "{g}"),
            None => assert!(
                !g["suppressed"].is_null() && g["met"].is_null() && g["metric"].is_null() && g["low"].is_null(),
                "{g}"
            ),
        }
    }
    let f = &r["figures"];
    for p in f["dosage"]["providers"].as_array().unwrap() {
        let name = p["provider"].as_str().unwrap();
        if small.contains(name) || p["rostered"].as_u64().unwrap() < min_cell {
            assert!(p["suppressed"].as_bool().unwrap() && p["histogram"].is_null() && p["sessions"].is_null(), "{p}");
        }
    }
    if let Some(g) = f["growth_vs_norm"].as_object() {
        for s in g["series"].as_array().unwrap() {
            for pt in s["points"].as_array().unwrap() {
                assert!(pt["n"].as_u64().unwrap() >= min_cell, "{pt}");
            }
        }
        for p in g["providers"].as_array().unwrap() {
            assert!(p["n"].as_u64().unwrap() >= min_cell || p["observed"].is_null(), "{p}");
        }
    }
    for b in f["dose_response"]["bins"].as_array().unwrap() {
        assert!(b["n"].as_u64().is_none_or(|n| n >= min_cell), "{b}");
    }
    // the CSV tables say the same
    let (h, rows) = read_csv(&out.join("providers.csv"));
    for row in &rows {
        if small.contains(&row[col(&h, "provider")]) {
            for c in ["metric", "ci_low", "ci_high", "met_outcome", "regressed"] {
                assert_eq!(row[col(&h, c)], "", "{c} of {row:?}");
            }
        }
    }
    let (h, rows) = read_csv(&out.join("groups.csv"));
    for row in &rows {
        let c = &row[col(&h, "counted")];
        assert!(c.is_empty() || c.parse::<u64>().unwrap() >= min_cell, "{row:?}");
        if c.is_empty() {
            assert!(row[col(&h, "met_outcome")].is_empty() && row[col(&h, "metric")].is_empty(), "{row:?}");
        }
    }
    // the agreement of obc's measures with the vendor's, when the data has vendor measures
    for a in st["vendor_agreement"].as_array().into_iter().flatten() {
        match a["n"].as_u64() {
            Some(n) => assert!(n >= min_cell && a["suppressed"].is_null(), "{a}"),
            None => assert!(a["correlation"].is_null() && a["disagree_share"].is_null(), "{a}"),
        }
    }
    if out.join("vendor_agreement.csv").exists() {
        let (h, rows) = read_csv(&out.join("vendor_agreement.csv"));
        for row in &rows {
            let n = &row[col(&h, "n")];
            assert!(n.is_empty() || n.parse::<u64>().unwrap() >= min_cell, "{row:?}");
            if n.is_empty() {
                for c in ["correlation", "mean_difference_obc_minus_vendor", "disagree_share"] {
                    assert!(row[col(&h, c)].is_empty(), "{c} of {row:?}");
                }
            }
        }
    }
}

/// Runs check and baseline on a district folder and scans every public output.
fn scan_public_outputs(dir: &Path) {
    let o = check(dir, &[]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = dir.join("out");
    let m = results(dir)["manifest"].clone();
    let ids = roster_ids(dir);
    assert!(ids.len() > 100);
    assert_no_student_ids(&public_files(&out, &m), &ids);
    assert_no_small_cells(&out, 10);
    let base = dir.join("base");
    let o = obc(&["baseline", s(&dir.join("contract.toml")), "--out", s(&base)]);
    assert!(o.status.success(), "{}", stderr(&o));
    let rec: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(base.join("recommendation.json")).unwrap()).unwrap();
    assert_no_student_ids(&public_files(&base, &rec["manifest"]), &ids);
    scan_like_served_baseline(dir, &ids);
}

/// The baseline reweighted to a planned roster (the tutored students of the roster, with
/// their grade and groups and a pre-score of 200): no student ID in its public outputs, and
/// no balance row of a group value held by 1-9 planned students shows a number.
fn scan_like_served_baseline(dir: &Path, ids: &BTreeSet<String>) {
    let (h, rows) = read_csv(&dir.join("roster.csv"));
    let groups = ["low_income", "race_ethnicity", "english_learner", "disability", "gender"];
    let mut text = format!("student_id,grade,pre_score,{}\n", groups.join(","));
    let mut held: BTreeMap<String, usize> = BTreeMap::new();
    for r in rows.iter().filter(|r| !r[col(&h, "provider_id")].is_empty()) {
        let values: Vec<&str> = groups.iter().map(|g| r[col(&h, g)].as_str()).collect();
        for (g, v) in groups.iter().zip(&values) {
            *held.entry(format!("{g} = {v}")).or_default() += 1;
        }
        text.push_str(&format!("{},{},200,{}\n", r[col(&h, "student_id")], r[col(&h, "grade")], values.join(",")));
    }
    std::fs::write(dir.join("planned.csv"), text).unwrap();
    let contract = std::fs::read_to_string(dir.join("contract.toml")).unwrap();
    let served = dir.join("contract_served.toml");
    std::fs::write(&served, format!("{contract}\n[baseline.served]\nroster = \"planned.csv\"\n")).unwrap();
    let base = dir.join("base_served");
    let o = obc(&["baseline", s(&served), "--out", s(&base)]);
    assert!(o.status.success(), "{}", stderr(&o));
    let rec: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(base.join("recommendation.json")).unwrap()).unwrap();
    assert_no_student_ids(&public_files(&base, &rec["manifest"]), ids);
    for row in rec["baseline"]["population"]["balance"].as_array().unwrap() {
        let n = held.get(row["covariate"].as_str().unwrap()).copied().unwrap_or(0);
        if (1..10).contains(&n) {
            assert!(row["served"].is_null() && row["suppressed"] == "small cell", "{row}");
        }
    }
}

#[test]
fn item_01_public_outputs_carry_no_small_cell_and_no_student_id() {
    // data-samples as it is
    scan_public_outputs(copy_samples().path());
    // a messy district
    let messy = tempfile::tempdir().unwrap();
    let o = obc(&["simulate", "--students", "3000", "--seed", "11", "--messy", "--out", s(messy.path())]);
    assert!(o.status.success(), "{}", stderr(&o));
    edit_contract(messy.path(), "min_n = 500", "min_n = 300");
    scan_public_outputs(messy.path());
    // the MAP district, whose vendor measures add vendor_agreement.csv
    let map = tempfile::tempdir().unwrap();
    for e in std::fs::read_dir(samples().join("nwea")).unwrap() {
        let p = e.unwrap().path();
        if p.is_file() {
            std::fs::copy(&p, map.path().join(p.file_name().unwrap())).unwrap();
        }
    }
    scan_public_outputs(map.path());
    assert!(map.path().join("out/vendor_agreement.csv").exists());
}

#[test]
fn item_01_a_provider_of_six_counted_students_publishes_no_statistic() {
    let dir = copy_samples();
    let d = dir.path();
    // which P3 students are counted, from a first settlement
    assert!(check(d, &[]).status.success());
    let (h, rows) = read_csv(&d.join("out/audit.csv"));
    let keep: BTreeSet<String> = rows
        .iter()
        .filter(|r| r[col(&h, "provider_id")] == "P3" && r[col(&h, "counted")] == "true")
        .take(6)
        .map(|r| r[col(&h, "student_id")].clone())
        .collect();
    assert_eq!(keep.len(), 6);
    let mut dropped = BTreeSet::new();
    edit_csv(&d.join("roster.csv"), |h, rows| {
        let (p, id) = (col(h, "provider_id"), col(h, "student_id"));
        rows.retain(|r| {
            let drop = r[p] == "P3" && !keep.contains(&r[id]);
            if drop {
                dropped.insert(r[id].clone());
            }
            !drop
        });
    });
    for f in ["sessions.csv", "assessments.csv"] {
        edit_csv(&d.join(f), |h, rows| rows.retain(|r| !dropped.contains(&r[col(h, "student_id")])));
    }
    std::fs::remove_dir_all(d.join("out")).unwrap();
    let o = check(d, &[]);
    assert!(o.status.success(), "{}", stderr(&o));
    let r = results(d);
    let p3 = r["settlement"]["providers"].as_array().unwrap().iter().find(|p| p["provider"] == "P3").unwrap().clone();
    assert_eq!(p3["counts"]["counted"], 6);
    assert_eq!(p3["suppressed"], true);
    assert!(!p3["tiers"][0]["verdict"].is_null(), "the decision is still made");
    assert!(p3["payment"]["payable"].as_f64().unwrap() > 0.0, "and the payment");
    assert_no_small_cells(&d.join("out"), 10);
    let html = std::fs::read_to_string(d.join("out/report.html")).unwrap();
    let equivalence = html.split("Baseline equivalence").nth(1).expect("an equivalence section");
    let table = equivalence.split("<h3>").next().unwrap();
    assert!(table.contains(">P1<"), "the equivalence table lists the other providers");
    assert!(!table.contains(">P3<"), "the report shows P3's baseline equivalence: {table}");
    scan_public_outputs(d);
}

#[test]
fn item_02_identifier_and_free_text_groups_are_refused() {
    let dir = copy_samples();
    let d = dir.path();
    let groups = "groups = [\"low_income\"";
    edit_contract(d, groups, "groups = [\"student_id\", \"low_income\"");
    let o = check(d, &[]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("\"student_id\" is an identifier"), "{}", stderr(&o));
    assert!(!d.join("out").exists());

    // a near-unique extra column (a note per student) and a numerous one
    std::fs::copy(samples().join("contract.toml"), d.join("contract.toml")).unwrap();
    edit_table(&d.join("roster.csv"), |h, rows| {
        let id = col(h, "student_id");
        h.extend(["note".to_string(), "room".to_string()]);
        for (i, r) in rows.iter_mut().enumerate() {
            let note = format!("note about {}", r[id]);
            r.push(note);
            r.push(format!("room {}", i % 25));
        }
    });
    edit_contract(d, groups, "groups = [\"note\", \"low_income\"");
    let o = check(d, &[]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("\"note\"") && stderr(&o).contains("5000 distinct values"), "{}", stderr(&o));
    edit_contract(d, "groups = [\"note\"", "groups = [\"room\"");
    let o = check(d, &[]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("\"room\"") && stderr(&o).contains("25 distinct values"), "{}", stderr(&o));
    edit_contract(d, "[reporting]", "[reporting]\nmax_group_values = 30");
    assert!(check(d, &[]).status.success(), "allowed once the contract says so");

    // a 1 MB value and a NUL byte in a group column: the rows are exceptions, never published
    let dir = copy_samples();
    let d = dir.path();
    let big = "x".repeat(1 << 20);
    edit_csv(&d.join("roster.csv"), |h, rows| {
        let g = col(h, "gender");
        rows[0][g] = big.clone();
        rows[1][g] = "F\0".into();
    });
    let o = check(d, &[]);
    assert!(o.status.success(), "{}", stderr(&o));
    let m = results(d)["manifest"].clone();
    for f in public_files(&d.join("out"), &m) {
        let text = std::fs::read(&f).unwrap();
        assert!(!text.windows(64).any(|w| w == &big.as_bytes()[..64]), "{}", f.display());
        assert!(!text.contains(&0u8), "{}", f.display());
    }
    let (h, rows) = read_csv(&d.join("out/exceptions.csv"));
    let reasons: Vec<&String> =
        rows.iter().filter(|r| r[col(&h, "file")] == "roster.csv").map(|r| &r[col(&h, "reason")]).collect();
    assert!(reasons.iter().any(|r| r.contains("free text")), "{reasons:?}");
    assert!(reasons.iter().any(|r| r.contains("control characters")), "{reasons:?}");
}

/// Rewrites every non-empty `field` of a CSV file with `f`.
fn rewrite_field(path: &Path, field: &str, f: impl Fn(&str) -> String) {
    edit_csv(path, |h, rows| {
        let c = col(h, field);
        for r in rows.iter_mut().filter(|r| !r[c].is_empty()) {
            r[c] = f(&r[c]);
        }
    });
}

#[test]
fn item_06_a_mostly_rejected_roster_stops_the_run() {
    // Excel's default date format: two-digit years
    let dir = copy_samples();
    let d = dir.path();
    rewrite_field(&d.join("roster.csv"), "enroll_date", |t| {
        let p: Vec<&str> = t.split('-').collect();
        format!("{}/{}/{}", p[1].trim_start_matches('0'), p[2].trim_start_matches('0'), &p[0][2..])
    });
    let o = check(d, &[]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    let e = stderr(&o);
    assert!(e.contains("roster.csv: 5000 of 5000 rows invalid"), "{e}");
    assert!(e.contains("\"enroll_date\"") && e.contains("row 2"), "names the column and the first row: {e}");
    assert!(e.contains("--allow-partial") && e.contains("no valid rows"), "{e}");
    assert!(!d.join("out/results.json").exists() && !d.join("out/providers.csv").exists());
    // --allow-partial cannot settle on a roster with no valid row
    assert_eq!(check(d, &["--allow-partial"]).status.code(), Some(2));

    // a header-only roster
    let dir = copy_samples();
    let d = dir.path();
    let text = std::fs::read_to_string(d.join("roster.csv")).unwrap();
    std::fs::write(d.join("roster.csv"), format!("{}\n", text.lines().next().unwrap())).unwrap();
    let o = check(d, &[]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("roster.csv: no data rows"), "{}", stderr(&o));

    // student_id and school_id swapped
    let dir = copy_samples();
    let d = dir.path();
    edit_contract(d, "[files]", "[columns.roster]\nstudent_id = \"school_id\"\nschool_id = \"student_id\"\n\n[files]");
    let o = check(d, &[]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("roster.csv") && stderr(&o).contains("rows invalid"), "{}", stderr(&o));
}

#[test]
fn limits_allow_partial_goes_on_knowingly_and_is_recorded() {
    let dir = copy_samples();
    let d = dir.path();
    // 8% of the roster with a grade that is not a grade
    edit_csv(&d.join("roster.csv"), |h, rows| {
        let g = col(h, "grade");
        for r in rows.iter_mut().step_by(12) {
            r[g] = "third".into();
        }
    });
    let o = check(d, &[]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    let e = stderr(&o);
    assert!(e.contains("roster.csv: 417 of 5000 rows invalid (8.3%)"), "{e}");
    assert!(e.contains("417 rows: grade is not an integer") && e.contains("value \"third\""), "{e}");
    let o = check(d, &["--allow-partial"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let m = &results(d)["manifest"];
    assert_eq!(m["allow_partial"], true);
    assert!(
        m["warnings"].as_array().unwrap().iter().any(
            |w| w["code"] == "partial" && w["message"].as_str().unwrap().starts_with("--allow-partial: roster.csv")
        )
    );
    // the limit is the contract's to set
    std::fs::remove_dir_all(d.join("out")).unwrap();
    edit_contract(d, "[reporting]", "[limits]\nmax_invalid_share = 0.10\n\n[reporting]");
    let o = check(d, &[]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(results(d)["manifest"].get("allow_partial").is_none());
    edit_contract(d, "max_invalid_share = 0.10", "max_invalid_share = 10");
    let o = check(d, &[]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("limits.max_invalid_share") && stderr(&o).contains("0.05"), "{}", stderr(&o));
}

fn exceptions_of(dir: &Path, file: &str) -> Vec<BTreeMap<String, String>> {
    let (h, rows) = read_csv(&dir.join("out/exceptions.csv"));
    rows.into_iter()
        .map(|r| h.iter().cloned().zip(r).collect::<BTreeMap<_, _>>())
        .filter(|r| r["file"] == file)
        .collect()
}

fn audit(dir: &Path) -> BTreeMap<String, BTreeMap<String, String>> {
    let (h, rows) = read_csv(&dir.join("out/audit.csv"));
    rows.into_iter()
        .map(|r| {
            let m: BTreeMap<String, String> = h.iter().cloned().zip(r).collect();
            (m["student_id"].clone(), m)
        })
        .collect()
}

#[test]
fn item_08_implausible_scores_are_exceptions_and_norms_cover_the_start_score() {
    let dir = copy_samples();
    let d = dir.path();
    // a history score of 1e300, and current pre-tests of 0, -500 and 1e300
    edit_csv(&d.join("history.csv"), |h, rows| rows[10][col(h, "scale_score")] = "1e300".into());
    let mut hit = Vec::new();
    edit_csv(&d.join("assessments.csv"), |h, rows| {
        let (w, sc, id) = (col(h, "window"), col(h, "scale_score"), col(h, "student_id"));
        let falls: Vec<usize> = (0..rows.len()).filter(|&i| rows[i][w] == "fall").take(4).collect();
        for (&i, v) in falls.iter().zip(["0", "-500", "1e300", "100"]) {
            rows[i][sc] = v.into();
            hit.push((rows[i][id].clone(), v));
        }
    });
    let o = check(d, &[]);
    assert!(o.status.success(), "{}", stderr(&o));
    let r = results(d);
    for g in r["norms"]["groups"].as_array().unwrap() {
        assert_eq!(g["fitted"], true, "every grade's norms fit: {g}");
    }
    let hist = exceptions_of(d, "history.csv");
    assert!(hist.iter().any(|e| e["row"] == "12" && e["reason"].contains("outside the plausible range")), "{hist:?}");
    let cur = exceptions_of(d, "assessments.csv");
    for (_, v) in &hit[..3] {
        assert!(cur.iter().any(|e| &e["value"] == v && e["reason"].contains("plausible range")), "{v}");
    }
    let a = audit(d);
    for (id, v) in &hit[..3] {
        assert_eq!(a[id]["counted"], "false", "pre-test {v}");
        assert!(a[id]["expected_growth"].is_empty(), "pre-test {v}: {:?}", a[id]);
    }
    // 100 is a plausible score, but below every start score the norms were fitted on
    let (id, _) = &hit[3];
    assert_eq!(a[id]["counted"], "false");
    assert!(a[id]["reason_not_counted"].contains("outside the norms' support"), "{:?}", a[id]);
    let (h, rows) = read_csv(&d.join("out/providers.csv"));
    let no_norm: u64 = rows.iter().map(|r| r[col(&h, "excluded_no_norm")].parse::<u64>().unwrap()).sum();
    assert!(no_norm >= 1);
}

#[test]
fn item_08_history_students_of_an_unfitted_norm_group_are_exceptions() {
    let dir = copy_samples();
    let d = dir.path();
    // keep 60 grade-8 students in the history: too few for min_n
    let mut kept = BTreeSet::new();
    edit_csv(&d.join("history.csv"), |h, rows| {
        let (g, id) = (col(h, "grade"), col(h, "student_id"));
        let grade8: BTreeSet<String> = rows.iter().filter(|r| r[g] == "8").map(|r| r[id].clone()).collect();
        kept = grade8.iter().take(60).cloned().collect();
        rows.retain(|r| !grade8.contains(&r[id]) || kept.contains(&r[id]));
    });
    let o = check(d, &[]);
    assert!(o.status.success(), "{}", stderr(&o));
    let r = results(d);
    let unfitted: Vec<&serde_json::Value> =
        r["norms"]["groups"].as_array().unwrap().iter().filter(|g| g["fitted"] == false).collect();
    assert_eq!(unfitted.len(), 1, "{unfitted:?}");
    let n = unfitted[0]["n"].as_u64().unwrap();
    assert!(n > 0 && n <= 60);
    let hist = exceptions_of(d, "history.csv");
    let listed: Vec<_> = hist.iter().filter(|e| e["reason"].contains("could not be fitted")).collect();
    assert_eq!(listed.len() as u64, 2 * n, "a pre- and a post-test row per student of the group");
    assert!(listed.iter().all(|e| e["kind"] == "excluded" && e["reason"].contains("grade 8")));
    let m = &r["manifest"];
    let h = m["inputs"].as_array().unwrap().iter().find(|i| i["file"] == "history.csv").unwrap();
    let (read, used, exc) =
        (h["rows_read"].as_u64().unwrap(), h["rows_used"].as_u64().unwrap(), h["rows_excepted"].as_u64().unwrap());
    assert_eq!(read, used + exc);
    assert_eq!(exc as usize, hist.iter().map(|e| &e["row"]).collect::<BTreeSet<_>>().len());
}

#[test]
fn item_09_untutored_codes_are_explicit() {
    let plain = copy_samples();
    assert!(check(plain.path(), &[]).status.success());
    let dir = copy_samples();
    let d = dir.path();
    edit_csv(&d.join("roster.csv"), |h, rows| {
        let p = col(h, "provider_id");
        for r in rows.iter_mut().filter(|r| r[p].is_empty()) {
            r[p] = "None".into();
        }
    });
    let o = check(d, &[]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    let e = stderr(&o);
    assert!(e.contains("\"None\" on 3052 roster rows") && e.contains("comparison_values = [\"\", \"None\"]"), "{e}");
    edit_contract(d, "[contract]\n", "[contract]\ncomparison_values = [\"\", \"None\"]\n");
    let o = check(d, &[]);
    assert!(o.status.success(), "{}", stderr(&o));
    for f in ["providers.csv", "groups.csv", "audit.csv"] {
        super::common::assert_same_file(&plain.path().join("out").join(f), &d.join("out").join(f));
    }

    // no comparison students at all (every untutored student put with P1): a warning, and
    // for an effect-size metric a refusal
    let dir = copy_samples();
    let d = dir.path();
    edit_csv(&d.join("roster.csv"), |h, rows| {
        let p = col(h, "provider_id");
        for r in rows.iter_mut().filter(|r| r[p].is_empty()) {
            r[p] = "P1".into();
        }
    });
    let o = check(d, &[]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("warning comparison (") && stderr(&o).contains("no comparison students"),
        "{}",
        stderr(&o)
    );
    edit_contract(d, "[metric]\nkind = \"share_meeting\"", "[metric]\nkind = \"effect_size\"");
    let text = std::fs::read_to_string(d.join("contract.toml")).unwrap();
    let text = text.replace("value = 0.50", "value = 0.10").replace("value = 0.60", "value = 0.20");
    std::fs::write(d.join("contract.toml"), text).unwrap();
    let o = check(d, &[]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("no comparison students") && stderr(&o).contains("require_comparison"));
    edit_contract(d, "[contract]\n", "[contract]\nrequire_comparison = false\n");
    let o = check(d, &[]);
    assert!(o.status.success(), "{}", stderr(&o));
}

#[test]
fn item_10_duplicate_tier_names_are_refused() {
    let dir = copy_samples();
    edit_contract(dir.path(), "name = \"tier 2\"", "name = \"tier 1\"");
    let o = check(dir.path(), &[]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("thresholds[1].name") && stderr(&o).contains("\"tier 1\""), "{}", stderr(&o));
}

#[test]
fn item_11_unknown_group_columns_are_refused() {
    let dir = copy_samples();
    edit_contract(dir.path(), "groups = [\"low_income\"", "groups = [\"lunch_status\", \"low_income\"");
    let o = check(dir.path(), &[]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("\"lunch_status\"") && stderr(&o).contains("no such column"), "{}", stderr(&o));
    // the default list skips standard columns a roster does not have
    let dir = copy_samples();
    let d = dir.path();
    let text = std::fs::read_to_string(d.join("contract.toml")).unwrap();
    let without: String = text.lines().filter(|l| !l.starts_with("groups =")).map(|l| format!("{l}\n")).collect();
    std::fs::write(d.join("contract.toml"), without).unwrap();
    edit_csv(&d.join("roster.csv"), |h, rows| {
        let g = col(h, "gender");
        for r in rows.iter_mut() {
            r[g].clear();
        }
    });
    assert!(check(d, &[]).status.success());
}

#[test]
fn item_12_paths_outside_the_contract_folder_need_allow_outside() {
    let dir = copy_samples();
    let d = dir.path();
    let name = d.file_name().unwrap().to_str().unwrap().to_string();
    edit_contract(d, "roster = \"roster.csv\"", &format!("roster = \"../{name}/roster.csv\""));
    let o = check(d, &[]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("files.roster") && stderr(&o).contains("allow_outside"), "{}", stderr(&o));
    edit_contract(d, "[files]\n", "[files]\nallow_outside = true\n");
    let o = check(d, &[]);
    assert!(o.status.success(), "{}", stderr(&o));
}
