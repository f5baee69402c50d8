//! `[baseline] population` (issue 20 item 2): the like-served population from a planned
//! roster agrees with the same population given as rules, every planned row is used or
//! excepted, and reweighting to the students served moves business as usual the way the
//! simulated growth gap says it must.

use std::collections::HashMap;
use std::path::Path;

use obc::contract::baseline::Served;
use obc::contract::run;
use obc::contract::terms::{Contract, PopulationKind};
use obc::simulate::{self, SimSpec};

use super::common::{copy_samples, read_csv};

/// Writes `planned.csv` from the history file: every student with a valid fall and a valid
/// spring test (the history's students with both tests) whose `low_income` is `Y`, with
/// the fall grade and score; then `extra` rows as written.
fn planned_from_history(dir: &Path, extra: &str) -> usize {
    let (h, rows) = read_csv(&dir.join("history.csv"));
    let col = |name: &str| h.iter().position(|x| x == name).unwrap();
    let (id, window, valid, grade, score, li) =
        (col("student_id"), col("window"), col("valid"), col("grade"), col("scale_score"), col("low_income"));
    let mut fall: HashMap<&str, (&str, &str, &str)> = HashMap::new();
    let mut spring: HashMap<&str, ()> = HashMap::new();
    for r in rows.iter().filter(|r| r[valid] == "true") {
        match r[window].as_str() {
            "fall" => {
                fall.insert(&r[id], (&r[grade], &r[score], &r[li]));
            }
            "spring" => {
                spring.insert(&r[id], ());
            }
            _ => {}
        }
    }
    let mut ids: Vec<&&str> = fall.keys().filter(|k| spring.contains_key(**k) && fall[**k].2 == "Y").collect();
    ids.sort();
    let mut text = String::from("student_id,grade,pre_score,low_income\n");
    for i in &ids {
        let (g, s, l) = fall[**i];
        text.push_str(&format!("{i},{g},{s},{l}\n"));
    }
    text.push_str(extra);
    std::fs::write(dir.join("planned.csv"), text).unwrap();
    ids.len()
}

fn contract_with(dir: &Path, extra: &str) -> Contract {
    let text = std::fs::read_to_string(dir.join("contract.toml")).unwrap();
    Contract::from_toml(&format!("{text}\n[baseline]\nsizes = [50, 100]\nreplicates = 200\n{extra}"), "contract.toml")
        .unwrap()
}

#[test]
fn a_planned_roster_of_history_students_gives_the_population_its_rules_give() {
    let dir = copy_samples();
    // two more rows: a grade no history student has (unmatched) and a score that is no number
    let n = planned_from_history(dir.path(), "999001,12,250,Y\n999002,4,n/a,Y\n");
    let roster =
        contract_with(dir.path(), "[baseline.served]\nroster = \"planned.csv\"\nmatch_groups = [\"low_income\"]\n");
    let rules = contract_with(dir.path(), "[baseline.served]\ngroups = { low_income = [\"Y\"] }\n");
    let a = run::baseline(&roster, dir.path(), false).unwrap();
    let b = run::baseline(&rules, dir.path(), false).unwrap();
    let (pa, pb) = (&a.baseline.population, &b.baseline.population);
    assert_eq!((pa.kind, pb.kind), (PopulationKind::LikeServed, PopulationKind::LikeServed));
    // the planned students are exactly the rules' students, so every weight is equal
    assert_eq!(pa.target_students, pb.target_students);
    assert_eq!(pa.target_students, n, "the test's students with both tests are the baseline's");
    assert!((pa.effective_size.unwrap() - n as f64).abs() < 1e-6, "{:?}", pa.effective_size);
    let (ea, eb) = (&a.baseline.business_as_usual, &b.baseline.business_as_usual);
    assert!((ea.point - eb.point).abs() < 1e-12, "{} vs {}", ea.point, eb.point);
    for row in pa.balance.iter().filter(|r| r.covariate.starts_with("low_income") || r.covariate.starts_with("grade")) {
        assert!(row.std_diff.unwrap().abs() < 1e-9, "{row:?}");
    }
    let Some(Served::Roster { planned, matched, converged, .. }) = &pa.served else { panic!("{:?}", pa.served) };
    assert_eq!((*planned, *matched, *converged), (n + 1, n, true));
    // every planned row is used or excepted, with its column and reason
    let p = a.planned.as_ref().unwrap();
    let acc = p.accounting().unwrap();
    assert_eq!((acc.rows_read, acc.rows_used, acc.rows_excepted), (n as u64 + 2, n as u64, 2));
    let ex = p.ledger.exceptions();
    assert!(
        ex.iter()
            .any(|e| e.column == "grade" && e.value == "12" && e.reason.contains("no history student of grade 12"))
    );
    assert!(ex.iter().any(|e| e.column == "pre_score" && e.value == "n/a"));
    // one planned student in n + 1 unmatched is under the 5% warning limit
    assert!(!a.baseline.warnings.iter().any(|w| w.message.contains("planned students")), "{:?}", a.baseline.warnings);
}

#[test]
fn reweighting_to_the_students_served_finds_the_growth_gap_the_norms_miss() {
    // low-income students grow 6 points a year less than like-scoring students; the norms
    // condition on the pre-test only, so they meet the norm far less often than half
    let spec = SimSpec { seed: 5, low_income_growth: 6.0, ..SimSpec::default() };
    let district = simulate::generate(&spec).unwrap();
    let dir = tempfile::tempdir().unwrap();
    simulate::write(&district, dir.path()).unwrap();
    simulate::write_contract(&spec, dir.path()).unwrap();
    let n = planned_from_history(dir.path(), "");
    let all = run::baseline(&contract_with(dir.path(), ""), dir.path(), false).unwrap().baseline;
    let served =
        run::baseline(&contract_with(dir.path(), "[baseline.served]\nroster = \"planned.csv\"\n"), dir.path(), false)
            .unwrap()
            .baseline;
    assert!(n > 500);
    let (a, s) = (all.business_as_usual.point, served.business_as_usual.point);
    assert!(a - s > 0.1, "all {a}, like served {s}");
    // the reweighted history is the low-income students: the balance table says so
    let li = served.population.balance.iter().find(|r| r.covariate == "low_income = Y").unwrap();
    assert!((li.population.unwrap() - 1.0).abs() < 1e-9 && li.served == Some(1.0), "{li:?}");
    assert!(li.history.unwrap() < 0.6, "{li:?}");
    // and the recommended threshold for a provider of these students is lower
    assert!(served.recommendation.threshold < all.recommendation.threshold);
}

#[test]
fn population_settings_that_contradict_each_other_are_contract_errors() {
    let dir = copy_samples();
    let text = std::fs::read_to_string(dir.path().join("contract.toml")).unwrap();
    for (extra, key, words) in [
        ("population = \"like_pre\"\n", "baseline.population", "max_pre_percentile"),
        ("population = \"like_served\"\n", "baseline.population", "[baseline.served]"),
        ("[baseline.served]\nroster = \"p.csv\"\ngrades = [3]\n", "baseline.served", "not both"),
        ("[baseline.served]\npre_bins = 5\n", "baseline.served", "planned roster"),
        ("[baseline.served]\nroster = \"../p.csv\"\n", "baseline.served.roster", "outside"),
        ("population = \"all\"\nmax_pre_percentile = 40\n", "baseline.max_pre_percentile", "like_pre"),
        ("[baseline.served]\npre_percentile = [60, 40]\n", "baseline.served.pre_percentile", "low < high"),
    ] {
        let e = Contract::from_toml(&format!("{text}\n[baseline]\n{extra}"), "contract.toml").unwrap_err().to_string();
        assert!(e.contains(key) && e.contains(words), "{extra}: {e}");
    }
}
