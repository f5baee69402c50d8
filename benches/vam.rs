//! Scale benchmark of the value-added models (issue: value-added, item 10):
//! - `fixed/N`: N students, 500 schools absorbed, 10 providers plus comparison, pretest and
//!   two covariates, CR1 standard errors clustered by school (`stats::vam::fixed::FixedSpec`
//!   then `FixedFit::vcov`); `fixed_three_vcov/N` the same fit with the classical, HC1 and
//!   CR1 covariances (the work of one fit before inference was chosen on the fit);
//! - `random/N`: REML random intercept for N students in N/200 groups with the same
//!   covariates (`stats::vam::random::RandomSpec`).
//!
//! Run with `cargo bench --bench vam`; OBC_BENCH_VAM_N sets the sizes (default 1000000).
//! Figures: benches/README.md.

use criterion::{Criterion, criterion_group, criterion_main};
use ndarray::{ArrayView1, ArrayView2, ShapeBuilder};
use obc::stats::vam::fixed::{Factor, FixedSpec, Vcov};
use obc::stats::vam::random::{Likelihood, RandomSpec};
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, Normal};

struct Data {
    n: usize,
    /// pre, low_income, english_learner, then 10 provider dummies (column-major, no intercept)
    x: Vec<f64>,
    y: Vec<f64>,
    school: Vec<usize>,
    group: Vec<usize>,
}

fn district(n: usize) -> Data {
    let mut rng = ChaCha8Rng::seed_from_u64(2026);
    let z = Normal::new(0.0f64, 1.0).unwrap();
    let school: Vec<usize> = (0..n).map(|_| rng.random_range(0..500)).collect();
    let school_effect: Vec<f64> = (0..500).map(|_| 3.0 * z.sample(&mut rng)).collect();
    let pre: Vec<f64> = (0..n).map(|i| 200.0 + school_effect[school[i]] + 14.0 * z.sample(&mut rng)).collect();
    let li: Vec<f64> = (0..n).map(|_| f64::from(u8::from(rng.random::<f64>() < 0.5))).collect();
    let el: Vec<f64> = (0..n).map(|_| f64::from(u8::from(rng.random::<f64>() < 0.15))).collect();
    // 40% tutored by one of 10 providers (effects 0..2.7 points)
    let provider: Vec<Option<usize>> =
        (0..n).map(|_| (rng.random::<f64>() < 0.4).then(|| rng.random_range(0..10))).collect();
    let y: Vec<f64> = (0..n)
        .map(|i| {
            10.0 + 0.95 * pre[i] - 1.5 * li[i] - 1.0 * el[i]
                + school_effect[school[i]] * 0.2
                + provider[i].map_or(0.0, |k| 0.3 * k as f64)
                + 6.0 * z.sample(&mut rng)
        })
        .collect();
    let mut x = pre;
    x.extend(li);
    x.extend(el);
    for k in 0..10 {
        x.extend(provider.iter().map(|p| if *p == Some(k) { 1.0 } else { 0.0 }));
    }
    let group: Vec<usize> = (0..n).map(|i| i % (n / 200).max(2)).collect();
    Data { n, x, y, school, group }
}

fn bench(c: &mut Criterion) {
    let sizes: Vec<usize> = std::env::var("OBC_BENCH_VAM_N")
        .unwrap_or_else(|_| "1000000".into())
        .split(',')
        .map(|s| s.trim().parse().expect("OBC_BENCH_VAM_N: numbers"))
        .collect();
    let mut group = c.benchmark_group("vam");
    group.sample_size(10);
    for n in sizes {
        let d = district(n);
        let schools = Factor { level: &d.school, levels: 500 };
        let x = ArrayView2::from_shape((d.n, 13).f(), &d.x[..]).unwrap();
        let y = ArrayView1::from(&d.y);
        group.bench_function(format!("fixed/{n}"), |b| {
            b.iter(|| {
                let fit = FixedSpec { absorb: &[schools], ..FixedSpec::default() }.fit(x, y).unwrap();
                let cov = fit.vcov(&Vcov::Cr1 { cluster: schools }).unwrap();
                assert_eq!(cov.n_clusters, Some(500));
                (fit, cov)
            })
        });
        // the work of one call before estimation and inference were separated: all three
        // covariances
        group.bench_function(format!("fixed_three_vcov/{n}"), |b| {
            b.iter(|| {
                let fit = FixedSpec { absorb: &[schools], ..FixedSpec::default() }.fit(x, y).unwrap();
                let all = [Vcov::Classical, Vcov::Hc1, Vcov::Cr1 { cluster: schools }].map(|v| fit.vcov(&v).unwrap());
                (fit, all)
            })
        });
        // random: intercept + the same 3 covariates, groups of about 200
        let mut xr = vec![1.0; n];
        xr.extend_from_slice(&d.x[..3 * n]);
        let levels = (n / 200).max(2);
        group.bench_function(format!("random/{n}"), |b| {
            let xr = ArrayView2::from_shape((d.n, 4).f(), &xr[..]).unwrap();
            let spec = RandomSpec { group: Factor { level: &d.group, levels }, likelihood: Likelihood::Reml };
            b.iter(|| spec.fit(xr, y).unwrap())
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
