//! Coverage of a provider's share and mean intervals when its students sit in few schools
//! (issue 18, item 3; docs/methods.md 9.6 "Few clusters"). A simulation study of the
//! settlement's estimators with a known truth, ignored by default; run with
//!
//! ```sh
//! OBC_SHARE_COVERAGE_REPS=4000 cargo test --test it coverage_share -- --ignored --nocapture
//! ```
//!
//! Each replicate draws a provider in `G ~ U{2..6}` schools of `n_g ~ U{8..60}` counted
//! students; school `g` has an effect `u_g ~ N(0, τ²)` and student `i` a value
//! `y = u_g + e`, `e ~ N(0, 1)`, so the intra-school correlation is `τ²/(1 + τ²)`.
//! - mean metric (mean CGI): the student's `y`; truth 0;
//! - share metric (share meeting): `1{y ≥ 0}`; truth `P(u + e ≥ 0) = 0.5`.
//!
//! The truth is the population value over schools: a provider paid on its metric is paid
//! for what it does in schools like these, not in these four schools only. At the decision
//! level 0.90 it compares, on the same draws: the bootstrap over students (`cluster =
//! "student"`), the bootstrap over schools (`cluster = "school"`, percentile, the default
//! interval), and `method = "cluster_t"` (CR2 with Satterthwaite df,
//! `obc::contract::settle::cluster_t`). Reported per method: two-sided coverage and the
//! rate at which the lower end exceeds the truth, i.e. how often a provider exactly at the
//! threshold passes a `lower_bound` rule (nominal 5%), each with its Monte Carlo SE.

use obc::contract::settle::cluster_t::{cluster_t_difference, cluster_t_mean};
use obc::contract::settle::{Resampling, estimate_mean};
use obc::contract::terms::IntervalMethod;
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, Normal};

/// Counts of one method: intervals, covering, and lower end above the truth.
#[derive(Default)]
struct Tally {
    n: usize,
    covered: usize,
    low_above: usize,
}

impl Tally {
    fn add(&mut self, low: f64, high: f64, truth: f64) {
        self.n += 1;
        self.covered += usize::from(low <= truth && truth <= high);
        self.low_above += usize::from(low > truth);
    }

    fn line(&self, name: &str) -> String {
        let n = self.n as f64;
        let (c, a) = (self.covered as f64 / n, self.low_above as f64 / n);
        format!(
            "{name:<22} coverage {c:.3} (MC SE {:.3})  lower end above truth {a:.3} (MC SE {:.3})",
            (c * (1.0 - c) / n).sqrt(),
            (a * (1.0 - a) / n).sqrt()
        )
    }

    fn rates(&self) -> (f64, f64) {
        (self.covered as f64 / self.n as f64, self.low_above as f64 / self.n as f64)
    }
}

/// One provider: values per student and the school of each, for a metric.
fn draw(rng: &mut ChaCha8Rng, tau: f64, share: bool) -> (Vec<f64>, Vec<usize>, usize) {
    let z = Normal::new(0.0, 1.0).unwrap();
    let g = rng.random_range(2..=6usize);
    let (mut v, mut cl) = (Vec::new(), Vec::new());
    for k in 0..g {
        let u = tau * z.sample(rng);
        for _ in 0..rng.random_range(8..=60usize) {
            let y = u + z.sample(rng);
            v.push(if share { f64::from(u8::from(y >= 0.0)) } else { y });
            cl.push(k);
        }
    }
    (v, cl, g)
}

/// The three methods on `reps` providers; returns the tallies (student bootstrap, school
/// bootstrap, cluster t) and prints them.
fn study(reps: u64, icc: f64, share: bool) -> [Tally; 3] {
    let tau = (icc / (1.0 - icc)).sqrt();
    let truth = if share { 0.5 } else { 0.0 };
    let level = 0.90;
    let mut t: [Tally; 3] = Default::default();
    for r in 0..reps {
        let mut rng = ChaCha8Rng::seed_from_u64(18_000 + r);
        let (v, cl, g) = draw(&mut rng, tau, share);
        let students: Vec<usize> = (0..v.len()).collect();
        let boot = |cluster: &[usize], clusters: usize| {
            let rs = Resampling { cluster, clusters, reps: 999, seed: r, method: IntervalMethod::Percentile, level };
            let e = estimate_mean(&v, &rs);
            (e.low.unwrap_or(f64::NEG_INFINITY), e.high.unwrap_or(f64::INFINITY))
        };
        let (lo, hi) = boot(&students, v.len());
        t[0].add(lo, hi, truth);
        let (lo, hi) = boot(&cl, g);
        t[1].add(lo, hi, truth);
        let c = cluster_t_mean(&v, &cl, g, level).unwrap();
        t[2].add(c.conf_low, c.conf_high, truth);
    }
    eprintln!(
        "{} metric, ICC {icc}, {reps} providers in 2-6 schools, level {level}:",
        if share { "share" } else { "mean" }
    );
    for (tally, name) in t.iter().zip(["bootstrap (students)", "bootstrap (schools)", "cluster_t"]) {
        eprintln!("  {}", tally.line(name));
    }
    t
}

#[test]
#[ignore = "simulation study: a minute or more; run explicitly"]
fn coverage_share() {
    let reps: u64 = std::env::var("OBC_SHARE_COVERAGE_REPS").ok().and_then(|v| v.parse().ok()).unwrap_or(4000);
    for share in [false, true] {
        for icc in [0.02, 0.10] {
            let [students, schools, ct] = study(reps, icc, share);
            let mc = (0.9 * 0.1 / reps as f64).sqrt();
            let (c, above) = ct.rates();
            // cluster_t holds its level within 3 MC SEs, or errs on the safe side
            assert!(c >= 0.90 - 3.0 * mc, "cluster_t coverage {c}");
            assert!(above <= 0.05 + 3.0 * (0.05 * 0.95 / reps as f64).sqrt(), "cluster_t false pass {above}");
            // and the bootstrap over 2-6 schools does not
            assert!(schools.rates().0 < 0.90 - 3.0 * mc, "school bootstrap coverage {}", schools.rates().0);
            let _ = students;
        }
    }
}

#[test]
fn cluster_t_of_a_difference_of_shares_covers_a_shared_school_effect() {
    // a fast check of the difference: provider and comparison students in the same few
    // schools, no provider effect; the school effects cancel in expectation
    let (reps, level) = (300u64, 0.90);
    let mut covered = 0;
    for r in 0..reps {
        let mut rng = ChaCha8Rng::seed_from_u64(91_000 + r);
        let z = Normal::new(0.0, 1.0).unwrap();
        let g = rng.random_range(2..=6usize);
        let (mut p, mut pc, mut c, mut cc) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        for k in 0..g {
            // the school effect moves its tutored and comparison students alike
            let u = 0.5 * z.sample(&mut rng);
            for _ in 0..rng.random_range(8..=60usize) {
                p.push(f64::from(u8::from(u + z.sample(&mut rng) >= 0.0)));
                pc.push(k);
            }
            for _ in 0..40 {
                c.push(f64::from(u8::from(u + z.sample(&mut rng) >= 0.0)));
                cc.push(k);
            }
        }
        let t = cluster_t_difference(&p, &pc, &c, &cc, g, level).unwrap();
        covered += usize::from(t.conf_low <= 0.0 && 0.0 <= t.conf_high);
    }
    let coverage = covered as f64 / reps as f64;
    // MC SE 0.017 at 0.90; the interval may be conservative
    assert!(coverage >= 0.85, "coverage {coverage}");
}
