//! Scale benchmark of the foundation: load + validate + join (`obc prepare`) on simulated
//! districts. Run with `cargo bench --bench prepare`; set OBC_BENCH_STUDENTS to a
//! comma-separated list of sizes (default 5000,100000). Figures: benches/README.md.

use std::path::Path;
use std::time::Instant;

use criterion::{Criterion, criterion_group, criterion_main};
use obc::cli::read_contract;
use obc::data;
use obc::simulate::{self, SimSpec};

fn district(dir: &Path, students: usize) {
    let spec = SimSpec { students, ..SimSpec::default() };
    let t = Instant::now();
    let d = simulate::generate(&spec).expect("simulate");
    simulate::write(&d, dir).expect("write");
    simulate::write_contract(&spec, dir).expect("write contract");
    eprintln!(
        "simulated {students} students: {} sessions, {} tests in {:.2} s",
        d.sessions.len(),
        d.assessments.len(),
        t.elapsed().as_secs_f64()
    );
}

fn bench(c: &mut Criterion) {
    let sizes: Vec<usize> = std::env::var("OBC_BENCH_STUDENTS")
        .unwrap_or_else(|_| "5000,100000".into())
        .split(',')
        .map(|s| s.trim().parse().expect("OBC_BENCH_STUDENTS: numbers"))
        .collect();
    let mut group = c.benchmark_group("prepare");
    group.sample_size(10);
    for n in sizes {
        let dir = tempfile::tempdir().unwrap();
        district(dir.path(), n);
        let (contract, base) = read_contract(&dir.path().join("contract.toml")).unwrap();
        let prepare = || {
            data::prepare_files(
                &contract.input_files(&base),
                &contract.validate_options(),
                &contract.prepare_options(),
                None,
            )
            .unwrap()
        };
        group.bench_function(format!("load_validate_join/{n}"), |b| {
            b.iter(|| {
                let a = prepare();
                assert!(!a.rows.is_empty());
                a
            })
        });
        let a = prepare();
        let out = dir.path().join("out");
        std::fs::create_dir_all(&out).unwrap();
        group.bench_function(format!("write_analytic_csv/{n}"), |b| {
            b.iter(|| a.table().write(&out.join("analytic.csv"), data::table::Format::Csv).unwrap())
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
