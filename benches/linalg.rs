//! Least squares at value-added scale: `gram` + Cholesky (normal equations) and Householder
//! `qr_lstsq` on a simulated `n × p` design (intercept plus uniform covariates). Run with
//! `cargo bench --bench linalg`; OBC_BENCH_LINALG_N (default 1000000) and OBC_BENCH_LINALG_P
//! (comma-separated, default 20,50) choose the sizes. Figures: benches/README.md.

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use obc::stats::linalg::{Cholesky, gram, gram_with_threads, qr_lstsq};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, Uniform};

/// Column-major `n × p` design: a column of ones, then `p − 1` columns uniform on (−1, 1);
/// `y = Σ_j 0.1 j x_j + e` with `e` uniform on (−1, 1).
fn design(n: usize, p: usize, seed: u64) -> (Vec<f64>, Vec<f64>) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let u = Uniform::new(-1.0, 1.0).unwrap();
    let mut x = vec![1.0; n];
    x.extend((0..n * (p - 1)).map(|_| u.sample(&mut rng)));
    let y = (0..n).map(|i| (0..p).map(|j| 0.1 * j as f64 * x[j * n + i]).sum::<f64>() + u.sample(&mut rng)).collect();
    (x, y)
}

fn normal_equations(x: &[f64], n: usize, p: usize, y: &[f64], threads: Option<usize>) -> Vec<f64> {
    let (xtx, xty) = match threads {
        Some(t) => gram_with_threads(x, n, p, y, t),
        None => gram(x, n, p, y),
    }
    .unwrap();
    Cholesky::new(&xtx, p).unwrap().solve(&xty)
}

fn bench(c: &mut Criterion) {
    let n: usize = std::env::var("OBC_BENCH_LINALG_N").map_or(1_000_000, |s| s.trim().parse().expect("a number"));
    let ps: Vec<usize> = std::env::var("OBC_BENCH_LINALG_P")
        .unwrap_or_else(|_| "20,50".into())
        .split(',')
        .map(|s| s.trim().parse().expect("OBC_BENCH_LINALG_P: numbers"))
        .collect();
    let mut group = c.benchmark_group(format!("least_squares_n{n}"));
    group.sample_size(10);
    for &p in &ps {
        let (x, y) = design(n, p, 2026);
        // the two methods agree here (a well-conditioned design)
        let b_ne = normal_equations(&x, n, p, &y, None);
        let b_qr = qr_lstsq(&x, n, p, &y).unwrap().coefficients;
        let diff = b_ne.iter().zip(&b_qr).map(|(a, b)| (a - b).abs()).fold(0.0, f64::max);
        assert!(diff < 1e-10, "p = {p}: normal equations and QR differ by {diff:e}");
        group.bench_function(BenchmarkId::new("gram_cholesky", p), |b| b.iter(|| normal_equations(&x, n, p, &y, None)));
        group.bench_function(BenchmarkId::new("gram_cholesky_1_thread", p), |b| {
            b.iter(|| normal_equations(&x, n, p, &y, Some(1)))
        });
        group.bench_function(BenchmarkId::new("qr_lstsq", p), |b| b.iter(|| qr_lstsq(&x, n, p, &y).unwrap()));
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
