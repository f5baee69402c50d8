//! Coverage of the fixed model's 95% intervals on simulated districts with known provider
//! effects (issue: value-added, item 9). Slow, so ignored by default; run with
//!
//! ```sh
//! OBC_COVERAGE_REPS=500 cargo test --release --test it vam_coverage -- --ignored --nocapture
//! ```
//!
//! Each replication simulates a district (`obc simulate` model, 3,000 students, 6
//! providers, seed 10,000 + r), prepares it with its contract, runs
//! `obc vam --only analysed --fixed-effect school_id --fixed-effect grade` (HC1 SEs) plus
//! the arguments in `OBC_COVERAGE_ARGS` (e.g. `--cluster school_id`, `--sem-col pre_sem`),
//! and compares each provider's interval with the provider's true effect on the analysed
//! students: the mean over them of the realised effect at their spring test
//! (`District::student_effects`). The assertion (93-97%) is the issue's target for the
//! default model; the variants are for the comparison in the issue note.

use std::collections::HashMap;

use obc::simulate::{self, SimSpec};

use crate::common::{obc_ok, read_csv, s};

#[test]
#[ignore = "simulation study: minutes in release; run explicitly"]
fn vam_coverage() {
    let reps: u64 = std::env::var("OBC_COVERAGE_REPS").ok().and_then(|v| v.parse().ok()).unwrap_or(500);
    // Extra `obc vam` arguments, e.g. "--sem-col pre_sem" (the default, the issue's model
    // corrected for the pretest's measurement error) or "" (no correction).
    let extra = std::env::var("OBC_COVERAGE_ARGS").unwrap_or_default();
    let mut covered = 0usize;
    let mut total = 0usize;
    let mut errors: Vec<f64> = Vec::new();
    let mut z_scores: Vec<f64> = Vec::new();
    for r in 0..reps {
        let dir = tempfile::tempdir().unwrap();
        let spec = SimSpec { students: 3000, providers: 6, seed: 10_000 + r, ..SimSpec::default() };
        let district = simulate::generate(&spec).unwrap();
        simulate::write(&district, dir.path()).unwrap();
        simulate::write_contract(&spec, dir.path()).unwrap();
        let (contract, base) = obc::cli::read_contract(&dir.path().join("contract.toml")).unwrap();
        let analytic = obc::data::prepare_files(
            &contract.input_files(&base),
            &contract.validate_options(),
            &contract.prepare_options(),
            None,
        )
        .unwrap();
        let data = dir.path().join("analytic.csv");
        analytic.table().write(&data, obc::data::table::Format::Csv).unwrap();
        let effect: HashMap<&str, f64> = district.student_effects.iter().map(|(id, e)| (id.as_str(), *e)).collect();
        let mut truth: HashMap<String, (f64, usize)> = HashMap::new();
        for row in analytic.rows.iter().filter(|r| r.analysed) {
            if let Some(p) = &row.provider_id {
                let t = truth.entry(p.clone()).or_default();
                t.0 += effect[row.student_id.as_str()];
                t.1 += 1;
            }
        }
        let out = dir.path().join("vam");
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
            "--min-cell",
            "1",
            "--out",
            s(&out),
        ];
        args.extend(extra.split_whitespace());
        obc_ok(&args);
        let (h, rows) = read_csv(&out.join("effects.csv"));
        let col = |n: &str| h.iter().position(|c| c == n).unwrap();
        for row in rows {
            let (sum, n) = truth[&row[col("group")]];
            let truth = sum / n as f64;
            let (est, se, lo, hi): (f64, f64, f64, f64) = (
                row[col("estimate")].parse().unwrap(),
                row[col("std_error")].parse().unwrap(),
                row[col("conf_low")].parse().unwrap(),
                row[col("conf_high")].parse().unwrap(),
            );
            total += 1;
            covered += usize::from(lo <= truth && truth <= hi);
            errors.push(est - truth);
            z_scores.push((est - truth) / se);
        }
    }
    let coverage = covered as f64 / total as f64;
    let bias = errors.iter().sum::<f64>() / errors.len() as f64;
    let z_mean = z_scores.iter().sum::<f64>() / z_scores.len() as f64;
    let z_sd = (z_scores.iter().map(|z| (z - z_mean).powi(2)).sum::<f64>() / (z_scores.len() - 1) as f64).sqrt();
    // Monte Carlo SE of a 95% coverage over `total` intervals (independent approximation).
    let mc_se = (0.95 * 0.05 / total as f64).sqrt();
    eprintln!(
        "vam coverage ({extra}): {reps} districts, {total} intervals: coverage {coverage:.4} (MC SE {mc_se:.4}), \
         mean error {bias:.4} points, z mean {z_mean:.3}, z sd {z_sd:.3}"
    );
    assert!((0.93..=0.97).contains(&coverage), "coverage {coverage:.4} outside 93-97%");
}
