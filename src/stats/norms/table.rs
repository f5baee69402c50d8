//! Imported norms tables (work in progress in this commit: see issue 3).
