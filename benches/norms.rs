//! Scale benchmark of growth norms: SGP norms (100 taus, one prior, p = 8) on simulated
//! integer scale scores. Run with `cargo bench --bench norms`; set OBC_BENCH_NORMS_N to a
//! comma-separated list of sizes (default 100000,1000000) and OBC_BENCH_NORMS_SOLVERS to
//! `fn`, `br` or `fn,br` (default fn). Figures and the R comparison: benches/README.md.

use std::time::Instant;

use criterion::{Criterion, criterion_group, criterion_main};
use obc::stats::norms::sgp::{Preprocess, SgpSpec, Solver};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, Normal};

/// prior ~ round(N(200, 15)); current = round(prior + 8 + 0.1 (prior − 200) + (6 + 0.05 |prior − 200|) e).
/// The same recipe as `benches/norms_r.R`, which reads the CSV this writes when asked.
fn cohort(n: usize, seed: u64) -> (Vec<f64>, Vec<f64>) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let z: Normal<f64> = Normal::new(0.0, 1.0).unwrap();
    let prior: Vec<f64> = (0..n).map(|_| (200.0 + 15.0 * z.sample(&mut rng)).round()).collect();
    let current = prior
        .iter()
        .map(|&p| {
            let d = p - 200.0;
            (p + 8.0 + 0.1 * d + (6.0 + 0.05 * d.abs()) * z.sample(&mut rng)).round()
        })
        .collect();
    (prior, current)
}

fn bench(c: &mut Criterion) {
    let sizes: Vec<usize> = std::env::var("OBC_BENCH_NORMS_N")
        .unwrap_or_else(|_| "100000,1000000".into())
        .split(',')
        .map(|s| s.trim().parse().expect("OBC_BENCH_NORMS_N: numbers"))
        .collect();
    let solvers: Vec<Solver> = std::env::var("OBC_BENCH_NORMS_SOLVERS")
        .unwrap_or_else(|_| "fn".into())
        .split(',')
        .map(|s| match s.trim() {
            "fn" => Solver::Fn,
            "br" => Solver::Br,
            other => panic!("OBC_BENCH_NORMS_SOLVERS: unknown solver {other}"),
        })
        .collect();
    if let Ok(path) = std::env::var("OBC_BENCH_NORMS_CSV") {
        // Write the cohorts for the R comparison and stop.
        for &n in &sizes {
            let (prior, current) = cohort(n, 2026);
            let mut out = String::from("prior,current\n");
            for (p, c) in prior.iter().zip(&current) {
                out.push_str(&format!("{p},{c}\n"));
            }
            std::fs::write(format!("{path}.{n}.csv"), out).unwrap();
        }
        return;
    }
    let mut group = c.benchmark_group("sgp_fit");
    group.sample_size(10);
    for &n in &sizes {
        let (prior, current) = cohort(n, 2026);
        for &solver in &solvers {
            let spec = SgpSpec { solver, ..SgpSpec::default() };
            let t = Instant::now();
            let norms = spec.fit(&prior, &current).expect("fit");
            let d = norms.diagnostics();
            eprintln!(
                "{solver:?} n = {n}: one fit {:.2} s, {} of 100 taus reduced, iterations {}, converged {}",
                t.elapsed().as_secs_f64(),
                d.reduced,
                d.iterations.iter().sum::<usize>(),
                d.converged
            );
            if let Ok(prefix) = std::env::var("OBC_BENCH_NORMS_R_OBJECTIVES") {
                // R's per-tau objectives (benches/norms_r.R, fn): tau,objective,b0..b7
                let text = std::fs::read_to_string(format!("{prefix}.{n}.csv")).expect("R objective file");
                let worst = text
                    .lines()
                    .skip(1)
                    .zip(&d.objective)
                    .map(|(line, ours)| {
                        let r: f64 = line.split(',').nth(1).unwrap().parse().unwrap();
                        (ours - r).abs() / r.abs()
                    })
                    .fold(0.0f64, f64::max);
                eprintln!("{solver:?} n = {n}: max relative objective difference from R fn over 100 taus {worst:.2e}");
            }
            group.bench_function(format!("{solver:?}/{n}").to_lowercase(), |b| {
                b.iter(|| spec.fit(&prior, &current).unwrap())
            });
            if std::env::var("OBC_BENCH_NORMS_UNREDUCED").is_ok() {
                let plain = SgpSpec { preprocess: Preprocess::Never, ..spec.clone() };
                let t = Instant::now();
                let unreduced = plain.fit(&prior, &current).expect("fit");
                let worst = norms
                    .diagnostics()
                    .objective
                    .iter()
                    .zip(&unreduced.diagnostics().objective)
                    .map(|(a, b)| (a - b).abs() / b.abs())
                    .fold(0.0f64, f64::max);
                eprintln!(
                    "{solver:?} n = {n} without preprocessing: {:.2} s; max relative objective difference {worst:.2e}",
                    t.elapsed().as_secs_f64()
                );
            }
        }
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
