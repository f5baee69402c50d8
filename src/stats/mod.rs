//! Pure statistics on plain slices and vectors. Nothing here reads files or uses polars
//! (a test scans the source to keep it so).
//!
//! - [`wwc`]: What Works Clearinghouse attrition boundaries.

pub mod wwc;
