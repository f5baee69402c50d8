//! Contracts: the terms (TOML spec, docs/contracts.md), settlement (outcomes, provider
//! metrics with bootstrap intervals, tier decisions, payments, equity and fairness tables,
//! audit), small-cell suppression, the report's figure aggregates, target setting
//! (baseline, OC curves, published benchmarks), and the schema of the results files that
//! `obc check` and `obc baseline` write and `obc report` reads (`results`); methods in
//! docs/methods.md 9-11. Nothing
//! here reads files or uses polars (a test scans the source).

pub mod baseline;
pub mod benchmarks;
pub mod calibration;
pub mod cost;
pub mod drift;
pub mod error;
pub mod figures;
pub mod inputs;
pub mod midpoint;
pub mod norms;
pub mod oc;
pub mod population;
pub mod rates;
pub mod results;
pub mod run;
pub mod settle;
pub mod students;
pub mod suppress;
pub mod template;
pub mod terms;
