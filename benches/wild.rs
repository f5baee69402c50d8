//! Few-cluster inference at state scale (issue 18: honest intervals when clusters are few):
//! - `wcr/N`: the wild cluster restricted bootstrap (`stats::wild::WildSpec::test`,
//!   Rademacher, 9,999 replicates, seed 1, level 0.95) of the provider coefficient: N
//!   students in 50 school clusters, an intercept, the pretest, two covariates and a provider
//!   indicator (no absorbed effects). Includes the O(n) setup, the replicates and the
//!   interval by test inversion.
//! - `cr2/N`: CR2 with Satterthwaite df (`FixedFit::cr2_test`) of the provider coefficient on
//!   the same students, clustered by school, with school effects absorbed (nested in the
//!   clusters) and grade absorbed (5 levels, not nested); the fit is made once, outside the
//!   timing. `cr2_no_fe/N`: the same with an intercept and nothing absorbed.
//!
//! Run with `cargo bench --bench wild`; OBC_BENCH_WILD_N sets the sizes (default 1000000).
//! Figures: benches/README.md.

use criterion::{Criterion, criterion_group, criterion_main};
use ndarray::{ArrayView1, ArrayView2, ShapeBuilder};
use obc::stats::vam::fixed::{Factor, FixedSpec};
use obc::stats::wild::{Weights, WildSpec};
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, Normal};

const SCHOOLS: usize = 50;
const GRADES: usize = 5;

struct Data {
    n: usize,
    /// pre, low_income, english_learner, provider (column-major, no intercept)
    x: Vec<f64>,
    y: Vec<f64>,
    school: Vec<usize>,
    grade: Vec<usize>,
}

/// N students in 50 schools of equal expected size; the provider works in 10 schools and
/// tutors 60% of their students (effect 1 point).
fn district(n: usize) -> Data {
    let mut rng = ChaCha8Rng::seed_from_u64(2026);
    let z = Normal::new(0.0f64, 1.0).unwrap();
    let school: Vec<usize> = (0..n).map(|_| rng.random_range(0..SCHOOLS)).collect();
    let grade: Vec<usize> = (0..n).map(|_| rng.random_range(0..GRADES)).collect();
    let school_effect: Vec<f64> = (0..SCHOOLS).map(|_| 3.0 * z.sample(&mut rng)).collect();
    let pre: Vec<f64> =
        (0..n).map(|i| 200.0 + 5.0 * grade[i] as f64 + school_effect[school[i]] + 14.0 * z.sample(&mut rng)).collect();
    let li: Vec<f64> = (0..n).map(|_| f64::from(u8::from(rng.random::<f64>() < 0.5))).collect();
    let el: Vec<f64> = (0..n).map(|_| f64::from(u8::from(rng.random::<f64>() < 0.15))).collect();
    let provider: Vec<f64> =
        (0..n).map(|i| f64::from(u8::from(school[i].is_multiple_of(5) && rng.random::<f64>() < 0.6))).collect();
    let y: Vec<f64> = (0..n)
        .map(|i| {
            10.0 + 0.95 * pre[i] - 1.5 * li[i] - 1.0 * el[i]
                + 0.2 * school_effect[school[i]]
                + provider[i]
                + 6.0 * z.sample(&mut rng)
        })
        .collect();
    let mut x = pre;
    x.extend(li);
    x.extend(el);
    x.extend(provider);
    Data { n, x, y, school, grade }
}

fn bench(c: &mut Criterion) {
    let sizes: Vec<usize> = std::env::var("OBC_BENCH_WILD_N")
        .unwrap_or_else(|_| "1000000".into())
        .split(',')
        .map(|s| s.trim().parse().expect("OBC_BENCH_WILD_N: numbers"))
        .collect();
    let mut group = c.benchmark_group("wild");
    group.sample_size(10);
    for n in sizes {
        let d = district(n);
        let y = ArrayView1::from(&d.y);
        // intercept, pre, low_income, english_learner, provider
        let mut xi = vec![1.0; n];
        xi.extend_from_slice(&d.x);
        let xi = ArrayView2::from_shape((n, 5).f(), &xi[..]).unwrap();
        let spec = WildSpec { weights: Weights::Rademacher, reps: 9999, seed: 1, level: 0.95, absorbed: 0 };
        let provider = [0.0, 0.0, 0.0, 0.0, 1.0];
        group.bench_function(format!("wcr/{n}"), |b| {
            b.iter(|| {
                let t = spec.test(xi, y, &d.school, &provider, 0.0).unwrap();
                assert!(!t.enumerated && t.conf_low < t.conf_high);
                t
            })
        });
        let schools = Factor { level: &d.school, levels: SCHOOLS };
        let grades = Factor { level: &d.grade, levels: GRADES };
        let x = ArrayView2::from_shape((d.n, 4).f(), &d.x[..]).unwrap();
        let fit = FixedSpec { absorb: &[schools, grades], ..FixedSpec::default() }.fit(x, y).unwrap();
        group.bench_function(format!("cr2/{n}"), |b| {
            b.iter(|| fit.cr2_test(&schools, &[0.0, 0.0, 0.0, 1.0], 0.95).unwrap())
        });
        let fit = FixedSpec::default().fit(xi, y).unwrap();
        group.bench_function(format!("cr2_no_fe/{n}"), |b| b.iter(|| fit.cr2_test(&schools, &provider, 0.95).unwrap()));
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
