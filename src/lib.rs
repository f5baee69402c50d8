//! # obc: student growth for outcomes-based tutoring contracts
//!
//! Districts pay tutoring providers partly on results. `obc` joins rosters, tutoring session
//! logs and pre/post assessments; accounts for every input row; estimates growth norms,
//! provider value-added and bootstrap intervals; and sets (`obc baseline`) and checks
//! (`obc check`) contract thresholds and payments. Methods: docs/methods.md; the contract
//! file: docs/contracts.md; layers and house rules: docs/architecture.md.
//!
//! ## The model in one page
//! Student *i* with a provider *p(i)* (or none: the comparison group) has a pre-test
//! `pre_i` and post-test `post_i`, taken `w_i` instructional weeks apart, and attended
//! `s_i` sessions (`m_i` minutes). The contract decides who counts (enrolled by a date,
//! at least `N` sessions, a valid test in each window), each counted student's outcome,
//! and each provider's metric with its uncertainty. The analytic file holds one row per
//! student x subject with everything needed for those steps, and the flow table follows
//! every provider's students from rostered to analysed (WWC attrition).
//!
//! ## Module map
//! - [`data`]: schema, loading (CSV/Parquet, IDs as text), validation with row-level
//!   exceptions, join to the analytic file, flow table. The only module that uses polars.
//! - [`stats`]: pure statistics (no files, no polars).
//! - [`contract`]: the contract as code (TOML terms), settlement, suppression and target
//!   setting.
//! - [`simulate`]: a synthetic district with known truth.
//! - [`manifest`]: provenance written with every output.
//! - [`report`]: the public HTML report and its SVG figures (pure; no file I/O).
//! - [`cli`]: the `obc` command line.

pub mod cli;
pub mod contract;
pub mod data;
pub mod error;
pub mod manifest;
pub mod profile;
pub mod report;
pub mod simulate;
pub mod stats;

/// Settles a contract from its files: [`contract::run::settle`].
pub use contract::run::settle;
