//! Contracts: the terms (TOML spec), and, as they are built, metrics, checks, payments and
//! baselines. Nothing here reads files or uses polars (a test scans the source).

pub mod baseline;
pub mod benchmarks;
pub mod figures;
pub mod inputs;
pub mod midpoint;
pub mod norms;
pub mod oc;
pub mod run;
pub mod settle;
pub mod students;
pub mod suppress;
pub mod terms;
