//! `obc bootstrap` end to end: reproducibility across thread counts, estimates, exported
//! draws, accounting.

use std::process::Command;

use crate::common::{assert_same_file, obc_ok, read_csv, repo, s};

fn students() -> std::path::PathBuf {
    repo().join("tests/fixtures/r/boot_D_students.csv")
}

#[test]
fn same_seed_same_bytes_whatever_the_thread_count() {
    let dir = tempfile::tempdir().unwrap();
    let run = |name: &str, threads: &str| {
        let out = dir.path().join(name);
        let o = Command::new(env!("CARGO_BIN_EXE_obc"))
            .env("RAYON_NUM_THREADS", threads)
            .args([
                "bootstrap",
                "--data",
                s(&students()),
                "--statistic",
                "mean",
                "--column",
                "y",
                "--cluster",
                "cluster",
                "--reps",
                "999",
                "--seed",
                "11",
                "--out",
                s(&out),
            ])
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        out
    };
    let a = run("one.csv", "1");
    let b = run("two.csv", "2");
    let c = run("sixteen.csv", "16");
    assert_same_file(&a, &b);
    assert_same_file(&a, &c);
}

#[test]
fn cluster_mean_share_and_median_intervals() {
    let dir = tempfile::tempdir().unwrap();
    let (h, rows) = read_csv(&students());
    let col = |n: &str| h.iter().position(|c| c == n).unwrap();
    let scores: Vec<f64> = rows.iter().map(|r| r[col("y")].parse().unwrap()).collect();
    let clusters: std::collections::BTreeSet<&str> = rows.iter().map(|r| r[col("cluster")].as_str()).collect();
    let mean = scores.iter().sum::<f64>() / scores.len() as f64;
    let out = dir.path().join("mean.csv");
    let idx = dir.path().join("draws.csv");
    obc_ok(&[
        "bootstrap",
        "--data",
        s(&students()),
        "--statistic",
        "mean",
        "--column",
        "y",
        "--cluster",
        "cluster",
        "--reps",
        "1000",
        "--export-indices",
        s(&idx),
        "--out",
        s(&out),
    ]);
    let (oh, o) = read_csv(&out);
    let f = |n: &str| o[0][oh.iter().position(|c| c == n).unwrap()].parse::<f64>().unwrap();
    assert!((f("estimate") - mean).abs() < 1e-9);
    assert!(f("conf_low") < mean && mean < f("conf_high"));
    assert_eq!(f("clusters") as usize, clusters.len());
    assert_eq!(o[0][oh.iter().position(|c| c == "method").unwrap()], "bca");
    // exported draws: one line per replicate, each with one draw per cluster, 1-based
    let text = std::fs::read_to_string(&idx).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 1000);
    for (b, l) in lines.iter().enumerate() {
        let fields: Vec<&str> = l.split(',').collect();
        assert_eq!(fields[1], b.to_string());
        assert_eq!(fields.len(), 2 + clusters.len());
        assert!(fields[2..].iter().all(|v| (1..=clusters.len()).contains(&v.parse::<usize>().unwrap())));
    }
    // the median defaults to the percentile method; every row is accounted for
    let med = dir.path().join("median.csv");
    obc_ok(&[
        "bootstrap",
        "--data",
        s(&students()),
        "--statistic",
        "median",
        "--column",
        "y",
        "--reps",
        "999",
        "--out",
        s(&med),
    ]);
    let (mh, m) = read_csv(&med);
    assert_eq!(m[0][mh.iter().position(|c| c == "method").unwrap()], "percentile");
    let manifest: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("median.manifest.json")).unwrap()).unwrap();
    let inputs = crate::common::assert_accounting(&manifest);
    assert_eq!(inputs[0]["rows_used"].as_u64().unwrap() as usize, scores.len());
}

/// A BCa interval of a median over clusters whose jackknife influence is all zero (tied
/// values) has no acceleration: the group gets no interval and a warning, and the command
/// does not panic (it did: `sorted[ki - 1]` with a NaN level).
#[test]
fn bca_without_acceleration_is_a_warning_not_a_panic() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("prep");
    obc_ok(&["prepare", s(&repo().join("data-samples/contract.toml")), "--out", s(&p)]);
    let out = dir.path().join("iv.csv");
    let data = p.join("analytic.csv");
    let args = ["bootstrap", "--data", s(&data), "--statistic", "median", "--column", "growth", "--by", "provider_id"];
    let more = ["--cluster", "tutor_id", "--reps", "200", "--method", "bca", "--out", s(&out)];
    obc_ok(&[&args[..], &more[..]].concat());
    let (h, rows) = read_csv(&out);
    let col = |n: &str| h.iter().position(|x| x == n).unwrap();
    let undefined: Vec<&Vec<String>> =
        rows.iter().filter(|r| r[col("warnings")].contains("acceleration is undefined")).collect();
    assert!(!undefined.is_empty(), "the tied medians of data-samples have no acceleration");
    for r in &undefined {
        assert!(r[col("conf_low")].is_empty() && r[col("conf_high")].is_empty(), "{r:?}");
    }
}
