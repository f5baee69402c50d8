//! Integration tests: one binary (polars makes every test binary large).

mod architecture;
mod bootstrap;
mod browser;
mod calibration;
mod check;
mod cli;
mod common;
mod coverage_decision;
mod coverage_share;
mod drift;
mod failsafe;
mod failsafe_input;
mod failsafe_output;
mod few_clusters;
mod fuzz_inputs;
mod fuzz_mutation;
mod history_years;
mod messy;
mod norms;
mod parquet_input;
mod population;
mod report;
mod row_accounting;
mod targets_drift;
mod vam;
mod vam_coverage;
