//! Integration tests: one binary (polars makes every test binary large).

mod architecture;
mod bootstrap;
mod browser;
mod calibration;
mod check;
mod cli;
mod common;
mod drift;
mod effect_bias;
mod failsafe;
mod failsafe_input;
mod failsafe_output;
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
