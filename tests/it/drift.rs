//! Cohort drift at settlement and the drift-robust metric `share_meeting_vs_comparison`
//! (issue 20, item 3; docs/methods.md 9).

use std::collections::BTreeMap;
use std::path::Path;

use obc::contract::run::Options;
use obc::contract::settle::{self, Drift, DriftReport, HistoryLevel, NoDrift, Settlement, Student, Verdict};
use obc::contract::terms::Contract;
use obc::simulate::{self, Selection, SimSpec};
use obc::stats::warning::WarningCode;

use crate::common::samples;

fn sample_text() -> String {
    std::fs::read_to_string(samples().join("contract.toml")).unwrap()
}

fn settle_text(text: &str, dir: &Path) -> Settlement {
    let contract = Contract::from_toml(text, "contract.toml").unwrap();
    obc::settle(&contract, dir, &Options::default()).unwrap().settlement
}

fn reported(s: &Settlement) -> &DriftReport {
    match s.drift.as_ref().expect("a drift section") {
        Drift::Reported(r) => r,
        Drift::NotReported { reason } => panic!("drift not reported: {reason}"),
    }
}

/// The sample contract with `share_meeting_vs_comparison` as its metric.
fn vs_comparison(text: &str) -> String {
    let old = "[metric]\nkind = \"share_meeting\"";
    assert!(text.contains(old), "the sample contract's metric section");
    text.replace(old, "[metric]\nkind = \"share_meeting_vs_comparison\"")
}

#[test]
fn drift_shift_is_the_comparison_level_minus_the_history_level() {
    let s = settle_text(&sample_text(), &samples());
    let r = reported(&s);
    let c = s.comparison.as_ref().unwrap();
    assert_eq!(r.comparison, c.point);
    assert_eq!(r.shift, c.point - r.history.point);
    let h = &r.history;
    assert!(h.n > 100 && h.point > 0.0 && h.point < 1.0, "{h:?}");
    assert!((h.se - (h.point * (1.0 - h.point) / h.n as f64).sqrt()).abs() < 1e-15, "binomial SE");
    // the interval holds the comparison's interval shifted, widened by the history SE
    let (lo, hi) = (r.shift_low.unwrap(), r.shift_high.unwrap());
    assert!(lo < c.low.unwrap() - h.point && c.high.unwrap() - h.point < hi, "{lo} {hi}");
    assert_eq!(r.providers.len(), s.providers.iter().filter(|p| p.counts.counted > 0).count());
    for (d, p) in r.providers.iter().zip(&s.providers) {
        assert_eq!(d.provider, p.provider);
        let settled: Vec<Verdict> = p.tiers.iter().map(|t| t.verdict).collect();
        assert_eq!(d.tiers.iter().map(|t| t.settled).collect::<Vec<_>>(), settled);
        assert_eq!(d.changed, d.tiers.iter().any(|t| t.settled != t.without_shift));
    }
}

/// Districts whose tutored students are drawn at random (no selection on the pre-test,
/// none on dosage or attrition): the comparison group is a random part of a cohort
/// simulated by the same model as the history, so the shift is zero in expectation. Over
/// 10 districts its 90% interval covers 0 in most (at least 7: fewer happens with
/// probability 0.013 when the coverage is 90%), and the mean shift is near 0.
#[test]
fn a_district_without_selection_has_a_shift_interval_covering_zero() {
    let mut covered = 0;
    let mut shifts = Vec::new();
    for seed in 5..15 {
        let spec = SimSpec {
            students: 5000,
            providers: 6,
            seed,
            selection: Selection::Random,
            dosage_selection: false,
            ..SimSpec::default()
        };
        let district = simulate::generate(&spec).unwrap();
        let dir = tempfile::tempdir().unwrap();
        simulate::write(&district, dir.path()).unwrap();
        let path = simulate::write_contract(&spec, dir.path()).unwrap();
        let s = settle_text(&std::fs::read_to_string(path).unwrap(), dir.path());
        let r = reported(&s);
        let (lo, hi) = (r.shift_low.unwrap(), r.shift_high.unwrap());
        assert!(lo < r.shift && r.shift < hi);
        assert!(hi - lo < 0.1, "seed {seed}: a 3,000-student comparison group pins the shift: [{lo}, {hi}]");
        covered += usize::from(lo <= 0.0 && 0.0 <= hi);
        shifts.push(r.shift);
    }
    let mean = shifts.iter().sum::<f64>() / shifts.len() as f64;
    assert!(covered >= 7, "the shift's interval covers 0 in {covered} of 10 districts: {shifts:?}");
    assert!(mean.abs() < 0.015, "mean shift {mean}: {shifts:?}");
}

const SMALL: &str = r#"
[contract]
name = "drift"
subject = "math"
[files]
roster = "r.csv"
sessions = "s.csv"
assessments = "a.csv"
[tests]
pre = { window = "fall" }
post = { window = "spring" }
[outcome]
kind = "scale_growth"
at_least = 0
[metric]
kind = "share_meeting"
[decision]
rule = "point"
level = 0.9
[[thresholds]]
value = 0.5
[inference]
replicates = 400
seed = 7
"#;

/// `n` students of `provider` (`None`: comparison), the first `met` of whom grow.
fn students(provider: Option<&str>, n: usize, met: usize) -> Vec<Student> {
    (0..n)
        .map(|i| Student {
            student_id: format!("{}-{i}", provider.unwrap_or("c")),
            subject: "math".into(),
            school: "s".into(),
            grade: 4,
            provider: provider.map(str::to_string),
            tutor: None,
            groups: Default::default(),
            analysed: true,
            excluded: None,
            served: provider.is_some(),
            pre: Some(200.0),
            post: Some(if i < met { 210.0 } else { 195.0 }),
            pre_sem: None,
            growth_se: None,
            weeks: Some(30.0),
            sessions: 30,
            minutes: 900.0,
            score: Err(settle::NoOutcome::NoNorms),
            vendor: None,
            provider_source: Default::default(),
        })
        .collect()
}

/// Comparison share 0.70 against a history level of 0.50: a shift of 0.20. P1 (40 of 60,
/// 0.667) meets the 0.50 tier only thanks to the shift (0.467 without it); P2 (0.90) meets
/// it either way; P3 (4 of 5, under min_cell) keeps its verdicts but not its share.
#[test]
fn a_decision_that_rests_on_the_shift_is_reported_as_changed() {
    let contract = Contract::from_toml(SMALL, "c.toml").unwrap();
    let mut all = students(None, 100, 70);
    all.extend(students(Some("P1"), 60, 40));
    all.extend(students(Some("P2"), 60, 54));
    all.extend(students(Some("P3"), 5, 4));
    let history = HistoryLevel { point: 0.5, se: 0.0, n: 1000 };
    let s = settle::settle(&contract, &all, Ok(&history));
    let r = reported(&s);
    assert!((r.shift - 0.2).abs() < 1e-12, "{}", r.shift);
    assert!(r.shift_low.unwrap() > 0.0, "the shift's interval excludes 0: {:?}", r.shift_low);
    let by: BTreeMap<&str, _> = r.providers.iter().map(|p| (p.provider.as_str(), p)).collect();
    let t1 = &by["P1"].tiers[0];
    assert_eq!((t1.settled, t1.without_shift, t1.changed), (Verdict::Met, Verdict::NotMet, true));
    assert!(by["P1"].changed && !by["P2"].changed && !by["P3"].changed);
    assert_eq!(by["P2"].tiers[0].without_shift, Verdict::Met);
    assert!(by["P3"].suppressed && by["P3"].tiers[0].p_at_least_without_shift.is_none());
    assert!(by["P1"].tiers[0].p_at_least_without_shift.is_some());
    let warned: Vec<&str> =
        s.warnings.iter().filter(|w| w.code == WarningCode::CohortDrift).map(|w| w.message.as_str()).collect();
    assert_eq!(warned.len(), 1, "{warned:?}");
    assert!(warned[0].contains("P1") && !warned[0].contains("P2"), "{}", warned[0]);
    // without a history level the drift is not reported, with its reason
    let s = settle::settle(&contract, &all, Err(NoDrift::NoHistory));
    assert_eq!(s.drift, Some(Drift::NotReported { reason: NoDrift::NoHistory }));
    assert!(!s.warnings.iter().any(|w| w.code == WarningCode::CohortDrift));
}

#[test]
fn share_vs_comparison_is_the_provider_share_minus_the_comparison_share() {
    let text = sample_text();
    let share = settle_text(&text, &samples());
    let diff = settle_text(&vs_comparison(&text), &samples());
    let (cs, cd) = (share.comparison.as_ref().unwrap(), diff.comparison.as_ref().unwrap());
    assert_eq!(cs.point, cd.point, "the comparison group's own share in both");
    assert!(cd.point > 0.3 && cd.point < 0.7);
    for (a, b) in share.providers.iter().zip(&diff.providers) {
        let (a, b) = (a.estimate.as_ref().unwrap(), b.estimate.as_ref().unwrap());
        assert_eq!(b.point, a.point - cs.point, "{} vs {} - {}", b.point, a.point, cs.point);
        assert_eq!(b.replicates.len(), a.replicates.len());
        // each replicate: the provider's share replicate minus the comparison's replicate
        for (k, (x, y)) in b.replicates.iter().zip(&a.replicates).enumerate().take(50) {
            assert!((x - (y - cd.replicates[k])).abs() < 1e-12, "replicate {k}");
        }
        assert!(b.low.unwrap() < b.point && b.point < b.high.unwrap());
    }
    assert_eq!(diff.drift, Some(Drift::NotReported { reason: NoDrift::RelativeMetric }));
}

#[test]
fn share_vs_comparison_replicates_do_not_depend_on_threads() {
    let text = vs_comparison(&sample_text());
    let run = |threads: usize| {
        let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
        pool.install(|| settle_text(&text, &samples()))
    };
    let (one, two) = (run(1), run(2));
    let bits = |s: &Settlement| -> Vec<Vec<u64>> {
        s.providers
            .iter()
            .map(|p| p.estimate.as_ref().unwrap().replicates.iter().map(|v| v.to_bits()).collect())
            .collect()
    };
    assert!(bits(&one).iter().all(|r| r.len() == 2000));
    assert_eq!(bits(&one), bits(&two));
    assert_eq!(one.providers, two.providers);
}

#[test]
fn share_vs_comparison_without_a_comparison_group_is_a_contract_error() {
    let text = vs_comparison(&sample_text()).replacen("[contract]\n", "[contract]\nrequire_comparison = false\n", 1);
    let err = Contract::from_toml(&text, "contract.toml").unwrap_err().to_string();
    assert!(err.contains("require_comparison") && err.contains("comparison group"), "{err}");
    // tiers are differences of shares
    let text = vs_comparison(&sample_text()).replace("value = 0.60", "value = 1.5");
    let err = Contract::from_toml(&text, "contract.toml").unwrap_err().to_string();
    assert!(err.contains("difference of shares"), "{err}");
}
