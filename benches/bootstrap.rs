//! Scale benchmark of the cluster bootstrap (issue: bootstrap, item 6): 2,000 replicates
//! resampling 20,000 tutor clusters of a 1,000,000-student district with 10 providers,
//! - `mean_growth`: the mean growth (per-cluster sums, `ClusterSums`), with its BCa
//!   interval (jackknife over clusters);
//! - `provider_ols`: the provider effects of `growth ~ 1 + pre + 9 provider indicators`
//!   (per-cluster `X'X`, `X'y`, `ClusterGram`), percentile interval of provider 1's effect.
//!
//! Each timing includes building the per-cluster statistics from the student rows.
//! `cargo bench --bench bootstrap`; OBC_BENCH_BOOT_N (default 1000000) and
//! OBC_BENCH_BOOT_CLUSTERS (default 20000) change the size; OBC_BENCH_BOOT_CSV=FILE writes
//! the district (tutor, provider, pre, growth) for `benches/bootstrap_r.R` and stops.

use criterion::{Criterion, criterion_group, criterion_main};
use obc::stats::bootstrap::{ClusterGram, ClusterSums, Plan, bca, percentile, replicates};
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, Normal};

struct District {
    tutor: Vec<usize>,
    provider: Vec<usize>,
    pre: Vec<f64>,
    growth: Vec<f64>,
}

fn district(n: usize, clusters: usize) -> District {
    let mut rng = ChaCha8Rng::seed_from_u64(2026);
    let z = Normal::new(0.0f64, 1.0).unwrap();
    // each tutor works for one provider; tutor effects N(0, 1.5^2)
    let tutor_provider: Vec<usize> = (0..clusters).map(|c| c % 10).collect();
    let tutor_effect: Vec<f64> = (0..clusters).map(|_| 1.5 * z.sample(&mut rng)).collect();
    let tutor: Vec<usize> = (0..n).map(|_| rng.random_range(0..clusters)).collect();
    let provider: Vec<usize> = tutor.iter().map(|&t| tutor_provider[t]).collect();
    let pre: Vec<f64> = (0..n).map(|_| 200.0 + 15.0 * z.sample(&mut rng)).collect();
    let growth: Vec<f64> = (0..n)
        .map(|i| {
            8.0 - 0.05 * (pre[i] - 200.0) + 0.3 * provider[i] as f64 + tutor_effect[tutor[i]] + 6.0 * z.sample(&mut rng)
        })
        .collect();
    District { tutor, provider, pre, growth }
}

fn bench(c: &mut Criterion) {
    let n: usize = std::env::var("OBC_BENCH_BOOT_N").ok().and_then(|v| v.parse().ok()).unwrap_or(1_000_000);
    let clusters: usize = std::env::var("OBC_BENCH_BOOT_CLUSTERS").ok().and_then(|v| v.parse().ok()).unwrap_or(20_000);
    let d = district(n, clusters);
    if let Ok(path) = std::env::var("OBC_BENCH_BOOT_CSV") {
        let mut out = String::from("tutor,provider,pre,growth\n");
        for i in 0..n {
            out.push_str(&format!("{},{},{},{}\n", d.tutor[i] + 1, d.provider[i] + 1, d.pre[i], d.growth[i]));
        }
        std::fs::write(path, out).unwrap();
        return;
    }
    let mut group = c.benchmark_group("bootstrap");
    group.sample_size(10);
    group.bench_function(format!("mean_growth/{n}/{clusters}"), |b| {
        b.iter(|| {
            let sums = ClusterSums::new(&d.growth, &d.tutor, clusters);
            let all: Vec<usize> = (0..clusters).collect();
            let t0 = sums.mean(&all);
            let plan = Plan { units: clusters, strata: None, reps: 2000, seed: 1 };
            let t = replicates(&plan, |i| sums.mean(i)).unwrap();
            let (s, m) = (sums.sum.iter().sum::<f64>(), sums.count.iter().sum::<f64>());
            let l: Vec<f64> = (0..clusters)
                .map(|u| (clusters as f64 - 1.0) * (t0 - (s - sums.sum[u]) / (m - sums.count[u])))
                .collect();
            bca(&t, t0, &l, 0.95).unwrap()
        })
    });
    // design: 1, pre, provider 2..10 indicators
    let mut x = vec![1.0; n];
    x.extend(&d.pre);
    for k in 1..10 {
        x.extend(d.provider.iter().map(|&p| if p == k { 1.0 } else { 0.0 }));
    }
    group.bench_function(format!("provider_ols/{n}/{clusters}"), |b| {
        b.iter(|| {
            let g = ClusterGram::new(&x, n, 11, &d.growth, &d.tutor, clusters);
            let plan = Plan { units: clusters, strata: None, reps: 2000, seed: 2 };
            let t = replicates(&plan, |i| g.coefficients(i).map_or(f64::NAN, |b| b[2])).unwrap();
            percentile(&t, 0.95).unwrap()
        })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
