//! A history file of several school years: with repeated student IDs, norms, their
//! `unfitted` exceptions and `obc baseline` work on one record per student and year; in
//! simulated districts of three history years, the DerSimonian–Laird between-year variance
//! of the business-as-usual level is near 0 without cohort drift and positive with it.

use std::collections::BTreeMap;
use std::path::Path;

use obc::contract::drift::{CohortFit, CohortSpec, YearLevel};
use obc::contract::norms::{ContractNorms, contract_norms, norm_score};
use obc::contract::run;
use obc::contract::terms::Contract;
use obc::data::history::load_history;
use obc::simulate::{self, SimSpec};
use obc::stats::norms::model::Scorer;

use crate::common::samples;

/// data-samples with a history of two school years: the sample's 2024-25 rows plus the
/// same rows (same student IDs) one year earlier, labelled 2023-24; `[history] breaks`
/// names both winter breaks; `min_n` as given.
fn two_year_samples(dir: &Path, min_n: usize) -> Contract {
    for f in ["roster.csv", "sessions.csv", "assessments.csv"] {
        std::fs::copy(samples().join(f), dir.join(f)).unwrap();
    }
    let text = std::fs::read_to_string(samples().join("history.csv")).unwrap();
    let mut lines = text.lines();
    let header = lines.next().unwrap();
    let date = header.split(',').position(|c| c == "test_date").unwrap();
    let year = header.split(',').position(|c| c == "school_year").unwrap();
    let mut out = vec![header.to_string()];
    for line in lines {
        out.push(line.to_string());
        let mut f: Vec<String> = line.split(',').map(str::to_string).collect();
        let y: i32 = f[date][..4].parse().unwrap();
        f[date] = format!("{}{}", y - 1, &f[date][4..]);
        assert_eq!(f[year], "2024-25");
        f[year] = "2023-24".into();
        out.push(f.join(","));
    }
    std::fs::write(dir.join("history.csv"), out.join("\n") + "\n").unwrap();
    let contract = std::fs::read_to_string(samples().join("contract.toml")).unwrap();
    let one = "breaks = [{ from = \"2024-12-22\", to = \"2025-01-02\" }]\n\n[eligibility]";
    assert!(contract.contains(one));
    let both = "breaks = [{ from = \"2023-12-22\", to = \"2024-01-02\" }, { from = \"2024-12-22\", to = \"2025-01-02\" }]\n\n[eligibility]";
    let contract = contract.replace(one, both).replace("min_n = 500", &format!("min_n = {min_n}"));
    Contract::from_toml(&contract, "contract.toml").unwrap()
}

/// Norm group (subject, grade) -> (n, fitted).
fn groups(norms: &ContractNorms) -> BTreeMap<Vec<String>, (usize, bool)> {
    norms.summary().groups.into_iter().map(|g| (g.group, (g.n, g.fitted))).collect()
}

#[test]
fn repeated_ids_across_years_give_one_record_per_year_for_norms_and_targets() {
    let one =
        Contract::from_toml(&std::fs::read_to_string(samples().join("contract.toml")).unwrap(), "c.toml").unwrap();
    let single = run::baseline(&one, &samples(), false).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let two = run::baseline(&two_year_samples(dir.path(), 500), dir.path(), false).unwrap();

    // Every sample student twice, once per year, with the same ID.
    assert_eq!(single.history.students.len(), 4070);
    assert_eq!(two.history.students.len(), 2 * 4070);
    let mut per_id: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for s in &two.history.students {
        per_id.entry(&s.student_id).or_default().push(s.school_year.as_deref().unwrap());
    }
    assert_eq!(per_id.len(), 4070);
    assert!(per_id.values().all(|y| *y == ["2023-24", "2024-25"]), "one record per year, sorted by year");
    let a = two.history.accounting().unwrap();
    assert_eq!((a.rows_read, a.rows_used, a.rows_excepted), (2 * 9009, 2 * 8140, 2 * 869));

    // The norms are fitted on both years' records: each group twice the single-year n.
    let (g1, g2) = (groups(single.norms.as_ref().unwrap()), groups(two.norms.as_ref().unwrap()));
    assert_eq!(g1.keys().collect::<Vec<_>>(), g2.keys().collect::<Vec<_>>());
    for (k, (n, fitted)) in &g1 {
        assert_eq!(g2[k], (2 * n, *fitted), "group {k:?}");
    }
    assert_eq!(two.baseline.population.history_students, 2 * single.baseline.population.history_students);
}

#[test]
fn an_unfitted_group_excepts_both_years_rows_of_a_repeated_id() {
    let dir = tempfile::tempdir().unwrap();
    let probe = run::baseline(&two_year_samples(dir.path(), 500), dir.path(), false).unwrap();
    let sizes = groups(probe.norms.as_ref().unwrap());
    let (small_key, &(small_n, _)) = sizes.iter().min_by_key(|(_, (n, _))| *n).unwrap();
    assert!(sizes.values().any(|(n, _)| *n > small_n), "the sample's grades differ in size");
    // min_n just above the smallest group: that group (both years) is left unfitted.
    let t = run::baseline(&two_year_samples(dir.path(), small_n + 1), dir.path(), false).unwrap();
    let g = groups(t.norms.as_ref().unwrap());
    assert_eq!(g[small_key], (small_n, false));
    let grade = &small_key[1];
    let unfitted: Vec<_> =
        t.history.ledger.exceptions().iter().filter(|e| e.reason.contains("norm group could not be fitted")).collect();
    assert_eq!(unfitted.len(), 2 * small_n, "pre- and post-test row of every record of the group");
    assert!(unfitted.iter().all(|e| e.reason.contains(&format!("grade {grade} norm group"))));
    let ids = |y: &str| -> Vec<&str> {
        let mut v: Vec<&str> = t
            .history
            .students
            .iter()
            .filter(|s| s.grade.map(|g| g.to_string()).as_deref() == Some(grade.as_str()))
            .filter(|s| s.school_year.as_deref() == Some(y))
            .map(|s| s.student_id.as_str())
            .collect();
        v.sort_unstable();
        v
    };
    assert_eq!(ids("2023-24"), ids("2024-25"), "the same IDs in both years");
    assert_eq!(ids("2023-24").len() * 2, small_n);
    let a = t.history.accounting().unwrap();
    assert_eq!(a.rows_read, a.rows_used + a.rows_excepted);
    assert_eq!(a.rows_used, probe.history.accounting().unwrap().rows_used - 2 * small_n as u64);
}

/// The DerSimonian–Laird fit over the history years of a simulated district: per year, the
/// share of its students meeting the norms fitted on all years (growth at least the
/// expected growth), with its binomial variance.
fn drift_fit(spec: &SimSpec) -> CohortFit {
    let district = simulate::generate(spec).unwrap();
    let dir = tempfile::tempdir().unwrap();
    simulate::write(&district, dir.path()).unwrap();
    // The contract obc simulate writes, naming every history year's winter break.
    let contract = Contract::from_toml(&simulate::contract_toml(spec), "contract.toml").unwrap();
    assert_eq!(contract.history.breaks.len(), spec.history_years);
    let history =
        load_history(&dir.path().join("history.csv"), "history.csv", &Default::default(), &contract.history_options())
            .unwrap();
    let norms = contract_norms(&contract, Some(&history), None).unwrap().unwrap();
    assert!(norms.unfitted.is_empty(), "every grade is fitted on the pooled years");
    let scorer = Scorer::new(&norms.model);
    let mut per_year: BTreeMap<&str, (usize, usize)> = BTreeMap::new();
    for s in &history.students {
        let grade = s.grade.unwrap();
        let Ok(score) = norm_score(&scorer, &s.subject, grade, s.pre.score, s.post.score, Some(s.weeks_between)) else {
            continue;
        };
        let e = per_year.entry(s.school_year.as_deref().unwrap()).or_default();
        e.0 += usize::from(s.growth >= score.expected_growth.unwrap());
        e.1 += 1;
    }
    assert_eq!(per_year.len(), spec.history_years);
    let years = per_year.iter().map(|(y, &(met, n))| YearLevel::share(y, met, n)).collect();
    CohortSpec { years }.fit().unwrap()
}

#[test]
fn between_year_variance_is_near_zero_without_drift_and_positive_with_it() {
    let seeds = 1..=6u64;
    let run = |cohort_sd: f64| -> Vec<CohortFit> {
        seeds
            .clone()
            .map(|seed| drift_fit(&SimSpec { students: 2000, seed, history_years: 3, cohort_sd, ..SimSpec::default() }))
            .collect()
    };
    let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;
    // The sampling variance of one year's share: about 0.25 / 1,700 students with both tests.
    let v = 0.25 / 1700.0;
    let null = run(0.0);
    let tau2: Vec<f64> = null.iter().map(|f| f.tau2).collect();
    assert!(null.iter().all(|f| f.years == 3 && f.df == 2));
    // Without drift E[τ²] is about 0.37 v (truncation of Q − df with Q ~ χ²₂).
    assert!(mean(&tau2) < v, "mean tau2 {:.2e} without drift (v = {v:.2e}): {tau2:?}", mean(&tau2));
    assert!(null.iter().all(|f| (0.45..0.6).contains(&f.mean)), "{null:?}");
    // ν_y with an SD of 3 points per 28 weeks moves a year's share by about 0.15 (SD).
    let drift = run(3.0);
    let tau2: Vec<f64> = drift.iter().map(|f| f.tau2).collect();
    assert!(mean(&tau2) > 20.0 * v, "mean tau2 {:.2e} with drift: {tau2:?}", mean(&tau2));
    assert!(tau2.iter().filter(|&&t| t > 0.0).count() >= 5, "{tau2:?}");
}
