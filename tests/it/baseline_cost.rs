//! The price of a contract before signing (issue 17 item 3, docs/methods.md 10.7): `obc
//! baseline` writes the distribution of a provider's payment under the contract's card
//! (`cost.csv`, `baseline.cost`), checked against what can be computed by hand, and against
//! the settled payments of the simulated providers of data-samples.

use std::path::{Path, PathBuf};

use crate::common::{obc, obc_ok, read_csv, s, samples, stderr};

/// The samples' contract with `terms` (outcome, metric, decision, tiers, payment, rate lines)
/// in place of its own, `[midpoint]` only when `midpoint` is set, `eligibility` in place of
/// its eligibility block when given, and `[baseline]` set to `grid`; written with the
/// samples' inputs into `dir`.
fn contract(dir: &Path, terms: &str, midpoint: bool, eligibility: Option<&str>, grid: &str) -> PathBuf {
    for f in ["roster.csv", "sessions.csv", "assessments.csv", "history.csv"] {
        std::fs::copy(samples().join(f), dir.join(f)).unwrap();
    }
    let text = std::fs::read_to_string(samples().join("contract.toml")).unwrap();
    let cut = |from: &str, to: &str| -> (String, String) {
        let (a, b) = (text.find(from).unwrap(), text.find(to).unwrap());
        (text[..a].to_string(), text[b..].to_string())
    };
    let (head, _) = cut("[outcome]", "[outcome]");
    let (_, tail) = cut("[inference]", "[inference]");
    let (inference, mid) = tail.split_at(tail.find("[midpoint]").unwrap());
    let head = match eligibility {
        Some(e) => {
            let (a, b) = (head.find("[eligibility]").unwrap(), head.find("[reporting]").unwrap());
            format!("{}{e}\n{}", &head[..a], &head[b..])
        }
        None => head,
    };
    let mid = if midpoint { mid } else { "" };
    let path = dir.join("contract.toml");
    std::fs::write(&path, format!("{head}{terms}\n{inference}{mid}\n[baseline]\n{grid}\n")).unwrap();
    path
}

fn json(path: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// `cost.csv` as (provider size, effect, mean, p10, p90, p_cap_binds, mean per student, mc_se).
fn cost_rows(out: &Path) -> Vec<(usize, f64, [f64; 6])> {
    let (h, rows) = read_csv(&out.join("cost.csv"));
    assert_eq!(h, ["provider_size", "effect_sd", "mean", "p10", "p90", "p_cap_binds", "mean_per_student", "mc_se"]);
    rows.iter()
        .map(|r| {
            let f = |i: usize| r[i].parse::<f64>().unwrap();
            (r[0].parse().unwrap(), f(1), [f(2), f(3), f(4), f(5), f(6), f(7)])
        })
        .collect()
}

/// Per-student outcome on growth of at least 10 points, the metric its share.
const SCALE_GROWTH: &str = r#"[outcome]
kind = "scale_growth"
at_least = 10
[metric]
kind = "share_meeting"
[decision]
rule = "point"
[[thresholds]]
value = 0.5
"#;

const GRID: &str = "sizes = [30, 120]\neffects = [0.0, 0.1, 0.2, 0.3]\nreplicates = 2000\nthresholds = [0.5]";

#[test]
fn a_flat_price_per_student_meeting_an_outcome_costs_base_plus_price_times_n_times_p() {
    // base 1,000 per provider and 300 per student meeting growth >= 10, no cap: each drawn
    // student meets with the population's share p(d), so a provider of n students is paid
    // 1,000 + 300 × Binomial(n, p(d)): mean 1,000 + 300 n p(d), Monte Carlo SE
    // 300 sqrt(n p (1 − p) / reps). Tolerance: 4 of those SEs. The share p(d) is the
    // population's metric at d (metric_by_effect, the same shifted students).
    let dir = tempfile::tempdir().unwrap();
    let terms = format!(
        "{SCALE_GROWTH}[payment]\nbase_fixed = 1000\n[[rate]]\nkind = \"per_student\"\noutcome = {{ kind = \"scale_growth\", at_least = 10 }}\nprice = 300\n"
    );
    let c = contract(dir.path(), &terms, true, None, GRID);
    let out = dir.path().join("out");
    let o = obc_ok(&["baseline", s(&c), "--out", s(&out)]);
    let rec = json(&out.join("recommendation.json"));
    let curve: Vec<(f64, f64)> = rec["baseline"]["metric_by_effect"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p[0].as_f64().unwrap(), p[1].as_f64().unwrap()))
        .collect();
    let p_at = |d: f64| curve.iter().find(|(x, _)| (x - d).abs() < 1e-9).unwrap().1;
    let rows = cost_rows(&out);
    assert_eq!(rows.len(), 2 * 4);
    for (n, d, [mean, p10, p90, cap, per_student, mc_se]) in rows {
        let p = p_at(d);
        let nf = n as f64;
        let expected = 1000.0 + 300.0 * nf * p;
        let se = 300.0 * (nf * p * (1.0 - p) / 2000.0).sqrt();
        assert!((mean - expected).abs() < 4.0 * se, "n {n} d {d}: mean {mean} vs {expected} (SE {se})");
        // the reported Monte Carlo SE is the binomial one within 10%
        assert!((mc_se / se - 1.0).abs() < 0.1, "n {n} d {d}: mc_se {mc_se} vs {se}");
        assert_eq!(cap, 0.0, "no cap, yet it binds");
        assert!(p10 <= mean && mean <= p90 && (per_student - mean / nf).abs() < 1e-9);
        // whole students meet: every percentile is 1,000 + a multiple of 300
        assert!(((p10 - 1000.0) / 300.0).fract().abs() < 1e-9, "{p10}");
    }
    // the payment for business as usual at the provider size nearest [baseline]
    // provider_size (100 by default: 120), in recommendation.json and the console
    let bau = &rec["baseline"]["cost"]["business_as_usual"];
    assert_eq!((bau["n"].as_u64(), bau["effect"].as_f64()), (Some(120), Some(0.0)));
    let console = stderr(&o);
    let per = bau["mean_per_student"].as_f64().unwrap();
    let line = console.lines().find(|l| l.starts_with("Payment for business as usual")).expect(&console);
    assert!(line.contains(&format!("{per:.2}")), "{line} / {per}");
    // registered in the manifest, drawn in the report
    let m = json(&out.join("manifest.json"));
    let cost = m["outputs"].as_array().unwrap().iter().find(|f| f["file"] == "cost.csv").expect("cost.csv listed");
    assert_eq!(cost["rows"].as_u64(), Some(8));
    assert!(out.join("figures/cost.svg").exists());
    let html = std::fs::read_to_string(out.join("report.html")).unwrap();
    assert!(html.contains("Payment for business as usual") && html.contains("cost.svg"));
}

#[test]
fn the_cap_binds_never_without_a_cap_and_always_below_the_base() {
    let dir = tempfile::tempdir().unwrap();
    let card = "[[rate]]\nkind = \"per_student\"\noutcome = { kind = \"scale_growth\", at_least = 10 }\nprice = 300\n";
    let grid = "sizes = [30]\neffects = [0.0, 0.2]\nreplicates = 300\nthresholds = [0.5]";
    // base 1,000 + 50 per student, cap 500: every replicate is cut to 500
    let terms = format!("{SCALE_GROWTH}[payment]\nbase_fixed = 1000\nbase_per_student = 50\ncap = 500\n{card}");
    let c = contract(dir.path(), &terms, true, None, grid);
    let out = dir.path().join("capped");
    obc_ok(&["baseline", s(&c), "--out", s(&out)]);
    for (n, d, [mean, p10, p90, cap, _, mc_se]) in cost_rows(&out) {
        assert_eq!((cap, mean, p10, p90, mc_se), (1.0, 500.0, 500.0, 500.0, 0.0), "n {n} d {d}");
    }
    let terms = format!("{SCALE_GROWTH}[payment]\nbase_fixed = 1000\nbase_per_student = 50\n{card}");
    let c = contract(dir.path(), &terms, true, None, grid);
    let out = dir.path().join("uncapped");
    obc_ok(&["baseline", s(&c), "--out", s(&out)]);
    for (n, d, [mean, _, _, cap, _, _]) in cost_rows(&out) {
        assert_eq!(cap, 0.0, "n {n} d {d}");
        assert!(mean >= 1000.0 + 50.0 * n as f64, "n {n} d {d}: {mean}");
    }
}

#[test]
fn engagement_lines_are_priced_at_the_planned_dosage_or_refused_naming_the_key() {
    // 10 per attended session, no outcome line: every drawn student is paid 10 × the
    // planned sessions, whatever the effect, so the payment has no spread.
    let dir = tempfile::tempdir().unwrap();
    let grid = "sizes = [30]\neffects = [0.0, 0.2]\nreplicates = 200\nthresholds = [0.5]";
    let terms = format!("{SCALE_GROWTH}[payment]\n[[rate]]\nkind = \"engagement\"\nper = \"session\"\nprice = 10\n");
    for (midpoint, sessions, key) in
        [(true, 55.0, "[midpoint] contracted_sessions"), (false, 20.0, "[eligibility] min_sessions")]
    {
        let c = contract(dir.path(), &terms, midpoint, None, grid);
        let out = dir.path().join(format!("s{sessions}"));
        let o = obc_ok(&["baseline", s(&c), "--out", s(&out)]);
        for (_, _, [mean, p10, p90, _, per, _]) in cost_rows(&out) {
            assert_eq!((mean, p10, p90, per), (300.0 * sessions, 300.0 * sessions, 300.0 * sessions, 10.0 * sessions));
        }
        let dosage = json(&out.join("recommendation.json"))["baseline"]["cost"]["dosage"].as_str().unwrap().to_string();
        assert!(dosage.contains(key) && dosage.contains(&format!("{sessions} sessions")), "{dosage}");
        assert!(stderr(&o).contains(key));
    }
    // no planned dosage: exit 2, naming the key to set
    let no_dosage = "[eligibility]\nenrolled_by = \"2025-11-15\"\nmin_sessions = 0\nmin_minutes = 0\n";
    let c = contract(dir.path(), &terms, false, Some(no_dosage), grid);
    let o = obc(&["baseline", s(&c), "--out", s(&dir.path().join("none"))]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("midpoint.contracted_sessions"), "{}", stderr(&o));
    let hours = terms.replace("per = \"session\"", "per = \"hour\"");
    let c = contract(dir.path(), &hours, true, Some(no_dosage), grid);
    let o = obc(&["baseline", s(&c), "--out", s(&dir.path().join("hours"))]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("eligibility.min_minutes"), "{}", stderr(&o));
}

/// Linear interpolation of y(x) on increasing x.
fn interp(xy: &[(f64, f64)], x: f64) -> f64 {
    let i = xy.windows(2).position(|w| w[0].0 <= x && x <= w[1].0).unwrap_or_else(|| panic!("{x} outside the grid"));
    let ((x0, y0), (x1, y1)) = (xy[i], xy[i + 1]);
    y0 + (x - x0) / (x1 - x0) * (y1 - y0)
}

#[test]
fn baseline_expected_payment_agrees_with_the_settled_payments_of_the_simulated_providers() {
    // data-samples was made by `obc simulate` with known provider effects (truth.json). A
    // card with a base per counted student, a price per student meeting the norm and a tier
    // bonus: the baseline, from the history alone, gives the distribution of a provider's
    // payment at its counted size and realised effect; settlement gives the payment. Each
    // provider's settled payment is one draw of that distribution: z = (settled − mean) /
    // sqrt(SD² + MC SE²), with SD = MC SE × sqrt(reps) interpolated between the grid's
    // effects like the mean. Every |z| < 3, and the mean of the six within 3/sqrt(6) of 0.
    let dir = tempfile::tempdir().unwrap();
    let terms = r#"[outcome]
kind = "growth_vs_norm"
[metric]
kind = "share_meeting"
[decision]
rule = "point"
[[thresholds]]
value = 0.5
pool_share = 0.5
[[thresholds]]
value = 0.6
pool_share = 1.0
[payment]
base_per_student = 670
base_basis = "counted"
[[rate]]
name = "met the norm"
kind = "per_student"
outcome = { kind = "growth_vs_norm" }
price = 400
[[rate]]
name = "bonus"
kind = "tier_bonus"
pool_per_student = 300
"#;
    let c = contract(dir.path(), terms, true, None, "replicates = 10");
    let out = dir.path().join("check");
    obc_ok(&["check", s(&c), "--out", s(&out)]);
    let (h, prov) = read_csv(&out.join("providers.csv"));
    let at = |k: &str| h.iter().position(|x| x == k).unwrap();
    let sizes: Vec<usize> = prov.iter().map(|p| p[at("counted")].parse().unwrap()).collect();
    let reps = 2000;
    let grid = format!(
        "sizes = {sizes:?}\neffects = [0.0, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4]\nthresholds = [0.5, 0.6]\nreplicates = {reps}"
    );
    let c = contract(dir.path(), terms, true, None, &grid);
    let bout = dir.path().join("baseline");
    obc_ok(&["baseline", s(&c), "--out", s(&bout)]);
    let rec = json(&bout.join("recommendation.json"));
    let sds: Vec<f64> = rec["baseline"]["population"]["sd_post_by_grade"]
        .as_object()
        .unwrap()
        .values()
        .map(|v| v.as_f64().unwrap())
        .collect();
    let sd = sds.iter().sum::<f64>() / sds.len() as f64;
    let truth = json(&samples().join("truth.json"));
    let rows = cost_rows(&bout);
    let mut z_all = Vec::new();
    for (p, &n) in prov.iter().zip(&sizes) {
        let t = truth["providers"].as_array().unwrap().iter().find(|t| t["provider_id"] == p[0].as_str()).unwrap();
        let d = t["realised_mean_points_posttest"].as_f64().unwrap() / sd;
        let mine: Vec<&(usize, f64, [f64; 6])> = rows.iter().filter(|r| r.0 == n).collect();
        let curve = |k: usize| -> Vec<(f64, f64)> { mine.iter().map(|r| (r.1, r.2[k])).collect() };
        let mean = interp(&curve(0), d);
        let mc_se = interp(&curve(5), d);
        let spread = mc_se * (reps as f64).sqrt();
        let settled: f64 = p[at("payable")].parse().unwrap();
        let z = (settled - mean) / (spread * spread + mc_se * mc_se).sqrt();
        eprintln!(
            "{} n {n} d {d:.3}: settled {settled:.2}, baseline {mean:.2} (SD {spread:.2}, MC SE {mc_se:.2}), z {z:.2}",
            p[0]
        );
        z_all.push(z);
    }
    assert!(z_all.iter().all(|z| z.abs() < 3.0), "{z_all:?}");
    let mean_z = z_all.iter().sum::<f64>() / z_all.len() as f64;
    assert!(mean_z.abs() < 3.0 / (z_all.len() as f64).sqrt(), "{z_all:?}");
}
