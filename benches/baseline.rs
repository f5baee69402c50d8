//! Scale benchmark of target setting (`contract::oc`): operating-characteristic curves on a
//! grid of 10 thresholds x 5 effects (0, 0.1, 0.2, 0.3, 0.4 SD) x 5 provider sizes (25, 50,
//! 100, 200, 400), 1,000 resamples per size, from 200,000 history students, for each
//! statistic (share meeting a growth target, mean and median of an SD-unit residual, with
//! `k = 1.281552`, the 80% lower-bound rule), and one `recommend` (threshold, power at 0.2 SD,
//! minimum size for 80% power) for the mean; and the share grid with weighted draws (a
//! history reweighted to the students served, `population = "like_served"`).
//!
//! `cargo bench --bench baseline`; OBC_BENCH_OC_N (default 200000) changes the history size.

use criterion::{Criterion, criterion_group, criterion_main};
use obc::contract::oc::{Draws, OcSpec, Statistic, oc_curves, recommend};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, Normal};

const EFFECTS: [f64; 5] = [0.0, 0.1, 0.2, 0.3, 0.4];

fn history(n: usize) -> Vec<f64> {
    let mut rng = ChaCha8Rng::seed_from_u64(2026);
    let z = Normal::new(0.0f64, 1.0).unwrap();
    (0..n).map(|_| z.sample(&mut rng)).collect()
}

fn bench(c: &mut Criterion) {
    let n: usize = std::env::var("OBC_BENCH_OC_N").ok().and_then(|s| s.parse().ok()).unwrap_or(200_000);
    let base = history(n);
    let shifted: Vec<Vec<f64>> = EFFECTS.iter().map(|d| base.iter().map(|x| x + d).collect()).collect();
    // "met the growth target": residual + d above the null median
    let flags: Vec<Vec<f64>> =
        EFFECTS.iter().map(|d| base.iter().map(|x| f64::from(u8::from(x + d >= 0.0))).collect()).collect();
    let spec = |thresholds: Vec<f64>| OcSpec {
        sizes: vec![25, 50, 100, 200, 400],
        thresholds,
        effects: EFFECTS.to_vec(),
        reps: 1000,
        seed: 7,
        k: 1.281552,
        draws: Draws::default(),
    };
    // like-served weights (issue 20): raking-like weights, 1 to 4 by a student's position
    let weights: Vec<f64> = (0..n).map(|i| 1.0 + (i % 4) as f64).collect();
    let weighted = |thresholds: Vec<f64>| OcSpec { draws: Draws::weighted(&weights).unwrap(), ..spec(thresholds) };
    let sd_thresholds: Vec<f64> = (0..10).map(|i| -0.1 + 0.05 * f64::from(i)).collect();
    let share_thresholds: Vec<f64> = (0..10).map(|i| 0.40 + 0.025 * f64::from(i)).collect();

    let mut g = c.benchmark_group("oc");
    g.sample_size(10);
    g.bench_function("share_grid", |b| {
        b.iter(|| oc_curves(&flags, Statistic::Share, &spec(share_thresholds.clone())).unwrap())
    });
    g.bench_function("share_grid_weighted", |b| {
        b.iter(|| oc_curves(&flags, Statistic::Share, &weighted(share_thresholds.clone())).unwrap())
    });
    g.bench_function("mean_grid", |b| {
        b.iter(|| oc_curves(&shifted, Statistic::Mean, &spec(sd_thresholds.clone())).unwrap())
    });
    g.bench_function("median_grid", |b| {
        b.iter(|| oc_curves(&shifted, Statistic::Median, &spec(sd_thresholds.clone())).unwrap())
    });
    g.bench_function("recommend_mean", |b| {
        b.iter(|| {
            recommend(&shifted[0], &shifted[2], Statistic::Mean, 100, 0.10, 0.2, 0.8, 1000, 7, 0.0, &Draws::default())
                .unwrap()
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
