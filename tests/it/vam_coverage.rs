//! Coverage of the fixed model's 95% intervals for provider effects on simulated districts
//! with known effects, by standard error (issue 18: honest intervals when clusters are
//! few). Slow, so ignored by default; run with
//!
//! ```sh
//! OBC_COVERAGE_REPS=80 cargo test --test it vam_coverage -- --ignored --nocapture
//! ```
//!
//! Each replication simulates a district (`obc simulate` model, 3,000 students, 6
//! providers, seed 10,000 + r), prepares it with its contract, and runs
//! `obc vam --only analysed --fixed-effect school_id --fixed-effect grade --cluster
//! school_id` with
//!
//! - `--vcov hc1 --wild-bootstrap B --weights webb`: HC1 and WCR Webb;
//! - `--vcov cr1 --wild-bootstrap B`: CR1 and WCR Rademacher;
//! - `--vcov cr2`: CR2 with Satterthwaite df, unless `OBC_COVERAGE_CR2=0`,
//!
//! with `B = OBC_COVERAGE_WILD` (default 999) and seed r. `OBC_COVERAGE_BIN` runs another
//! `obc` binary than the one cargo built (e.g. a copy, so the study can run while building). Each interval is compared with
//! the provider's true effect on its analysed students: the mean over them of the realised
//! effect at their spring test (`District::student_effects`), and with the provider's
//! tutors' own effects taken out (`δᵢ d_k/(d_k + τ_j)` from `truth.tutors`). The simulated district puts
//! each provider in few schools (the distribution is printed), so the school clusters that
//! hold a provider's students are few. Results: docs/methods.md 3.8.
//!
//! `OBC_COVERAGE_TUTOR_SD=0.25` gives the tutors five times the default effect SD (a
//! design where the within-school correlation matters).
//!
//! The assertions are what the measured results support (docs/methods.md 3.8): HC1 within
//! 93-97%, CR1 below 90% (the few-cluster problem is present in the design), and CR2 (when
//! run) and both WCR intervals at least 93% (they over-cover, about 98%, so the issue's
//! 93-97% band is not asserted for them); with `OBC_COVERAGE_TUTOR_SD` above the default,
//! also, against the effect with the tutors' effects out, HC1 below 90% and CR2 and WCR at
//! least 93%.

use std::collections::{BTreeMap, HashMap, HashSet};

use obc::simulate::{self, SimSpec};

use crate::common::{read_csv, s};

/// The intervals compared: name, `obc vam` run (0: HC1 + Webb, 1: CR1 + Rademacher, 2:
/// CR2), low and high columns.
const METHODS: [(&str, usize, &str, &str); 5] = [
    ("HC1", 0, "conf_low", "conf_high"),
    ("CR1", 1, "conf_low", "conf_high"),
    ("CR2 + Satterthwaite", 2, "conf_low", "conf_high"),
    ("WCR Rademacher", 1, "wild_conf_low", "wild_conf_high"),
    ("WCR Webb", 0, "wild_conf_low", "wild_conf_high"),
];

/// One district: the analytic file and each provider's true effect (on its analysed
/// students, and the same with its tutors' own effects taken out) and schools.
struct District {
    dir: tempfile::TempDir,
    truth: HashMap<String, f64>,
    over_tutors: HashMap<String, f64>,
    schools: HashMap<String, usize>,
    all_schools: usize,
}

fn district(r: u64, tutor_sd: f64) -> District {
    let dir = tempfile::tempdir().unwrap();
    let spec = SimSpec { students: 3000, providers: 6, seed: 10_000 + r, tutor_sd, ..SimSpec::default() };
    let d = simulate::generate(&spec).unwrap();
    simulate::write(&d, dir.path()).unwrap();
    simulate::write_contract(&spec, dir.path()).unwrap();
    let (contract, base) = obc::cli::read_contract(&dir.path().join("contract.toml")).unwrap();
    let analytic = obc::data::prepare_files(
        &contract.input_files(&base),
        &contract.validate_options(),
        &contract.prepare_options(),
        None,
    )
    .unwrap();
    analytic.table().write(&dir.path().join("analytic.csv"), obc::data::table::Format::Csv).unwrap();
    let effect: HashMap<&str, f64> = d.student_effects.iter().map(|(id, e)| (id.as_str(), *e)).collect();
    // δᵢ = (d_k + τ_j) σ f(doseᵢ): the share d_k/(d_k + τ_j) of it is the provider's own
    let provider_share: HashMap<&str, f64> = d
        .truth
        .tutors
        .iter()
        .map(|t| {
            let share = if t.total_effect_points == 0.0 { 0.0 } else { 1.0 - t.effect_points / t.total_effect_points };
            (t.tutor_id.as_str(), share)
        })
        .collect();
    let mut sums: HashMap<String, (f64, f64, usize)> = HashMap::new();
    let mut schools: HashMap<String, HashSet<String>> = HashMap::new();
    let mut all = HashSet::new();
    for row in analytic.rows.iter().filter(|r| r.analysed) {
        all.insert(row.school_id.clone());
        if let Some(p) = &row.provider_id {
            let t = sums.entry(p.clone()).or_default();
            let e = effect[row.student_id.as_str()];
            t.0 += e;
            t.1 += e * provider_share[row.tutor_id.as_deref().expect("a tutored student has a tutor")];
            t.2 += 1;
            schools.entry(p.clone()).or_default().insert(row.school_id.clone());
        }
    }
    District {
        dir,
        truth: sums.iter().map(|(p, (s, _, n))| (p.clone(), s / *n as f64)).collect(),
        over_tutors: sums.iter().map(|(p, (_, s, n))| (p.clone(), s / *n as f64)).collect(),
        schools: schools.into_iter().map(|(p, s)| (p, s.len())).collect(),
        all_schools: all.len(),
    }
}

/// effects.csv of one `obc vam` run as group -> column -> value.
fn run(d: &District, name: &str, extra: &[&str]) -> HashMap<String, HashMap<String, f64>> {
    let data = d.dir.path().join("analytic.csv");
    let out = d.dir.path().join(name);
    let mut args = vec![
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
        "--fixed-effect",
        "grade",
        "--cluster",
        "school_id",
        "--min-cell",
        "1",
        "--out",
        s(&out),
    ];
    args.extend(extra);
    let bin = std::env::var("OBC_COVERAGE_BIN").unwrap_or_else(|_| env!("CARGO_BIN_EXE_obc").to_string());
    let o = std::process::Command::new(bin).args(&args).output().expect("run obc");
    assert!(o.status.success(), "obc {args:?} failed: {}", String::from_utf8_lossy(&o.stderr));
    let (h, rows) = read_csv(&out.join("effects.csv"));
    rows.into_iter()
        .map(|r| {
            let values = h.iter().zip(&r).filter_map(|(c, v)| v.parse().ok().map(|v| (c.clone(), v))).collect();
            (r[0].clone(), values)
        })
        .collect()
}

#[test]
#[ignore = "simulation study: about 2 s per replication in debug; run explicitly"]
fn vam_coverage() {
    let reps: u64 = std::env::var("OBC_COVERAGE_REPS").ok().and_then(|v| v.parse().ok()).unwrap_or(100);
    let wild = std::env::var("OBC_COVERAGE_WILD").unwrap_or_else(|_| "999".into());
    let cr2 = std::env::var("OBC_COVERAGE_CR2").map_or(true, |v| v != "0");
    let tutor_sd: f64 =
        std::env::var("OBC_COVERAGE_TUTOR_SD").ok().and_then(|v| v.parse().ok()).unwrap_or(SimSpec::default().tutor_sd);
    let mut covered = [0usize; METHODS.len()];
    let mut covered_over_tutors = [0usize; METHODS.len()];
    let mut infinite = [0usize; METHODS.len()];
    let mut total = 0usize;
    let mut per_provider: BTreeMap<usize, usize> = BTreeMap::new();
    let mut all_schools: BTreeMap<usize, usize> = BTreeMap::new();
    let started = std::time::Instant::now();
    for r in 0..reps {
        let d = district(r, tutor_sd);
        *all_schools.entry(d.all_schools).or_default() += 1;
        let seed = r.to_string();
        let wild_args = |vcov: &'static str| ["--vcov", vcov, "--wild-bootstrap", &wild, "--seed", &seed];
        let runs = [
            run(&d, "hc1", &[&wild_args("hc1")[..], &["--weights", "webb"]].concat()),
            run(&d, "cr1", &wild_args("cr1")),
            if cr2 { run(&d, "cr2", &["--vcov", "cr2"]) } else { HashMap::new() },
        ];
        for (p, truth) in &d.truth {
            total += 1;
            *per_provider.entry(d.schools[p]).or_default() += 1;
            for (m, &(_, k, lo, hi)) in METHODS.iter().enumerate() {
                let Some(row) = runs[k].get(p) else { continue };
                let (lo, hi) = (row[lo], row[hi]);
                covered[m] += usize::from(lo <= *truth && *truth <= hi);
                let t = d.over_tutors[p];
                covered_over_tutors[m] += usize::from(lo <= t && t <= hi);
                infinite[m] += usize::from(lo.is_infinite() || hi.is_infinite());
            }
        }
    }
    let elapsed = started.elapsed().as_secs_f64();
    eprintln!(
        "vam coverage: {reps} districts, {total} provider intervals, {elapsed:.0} s, wild B = {wild}, tutor SD {tutor_sd}"
    );
    eprintln!("schools per provider (schools: providers): {per_provider:?}");
    eprintln!("schools per district (schools: districts): {all_schools:?}");
    eprintln!(
        "| method | coverage, effect on its students | MC SE | coverage, tutors' effects out | MC SE | infinite ends |"
    );
    let coverage: Vec<f64> = covered.iter().map(|&c| c as f64 / total as f64).collect();
    let coverage_over: Vec<f64> = covered_over_tutors.iter().map(|&c| c as f64 / total as f64).collect();
    for (m, (name, ..)) in METHODS.iter().enumerate() {
        if m == 2 && !cr2 {
            continue;
        }
        let c = coverage[m];
        // Binomial MC SE over the intervals (intervals of one district are treated as independent).
        let se = |c: f64| (c * (1.0 - c) / total as f64).sqrt();
        let o = coverage_over[m];
        eprintln!("| {name} | {c:.4} | {:.4} | {o:.4} | {:.4} | {} |", se(c), se(o), infinite[m]);
    }
    assert!((0.93..=0.97).contains(&coverage[0]), "HC1 coverage {:.4} outside 93-97%", coverage[0]);
    assert!(coverage[1] < 0.90, "CR1 coverage {:.4}: the design should have few clusters per provider", coverage[1]);
    for m in 2..METHODS.len() {
        if m == 2 && !cr2 {
            continue;
        }
        assert!(coverage[m] >= 0.93, "{} coverage {:.4} below 93%", METHODS[m].0, coverage[m]);
    }
    // with tutor effects that matter, against the effect a provider would have with other
    // tutors like these: the student-level SE misses the tutor draw, the cluster-robust ones
    // do not
    if tutor_sd > SimSpec::default().tutor_sd {
        assert!(coverage_over[0] < 0.90, "HC1 coverage {:.4} of the effect over tutors", coverage_over[0]);
        for m in 2..METHODS.len() {
            if m == 2 && !cr2 {
                continue;
            }
            assert!(
                coverage_over[m] >= 0.93,
                "{} coverage {:.4} of the effect over tutors",
                METHODS[m].0,
                coverage_over[m]
            );
        }
    }
}
