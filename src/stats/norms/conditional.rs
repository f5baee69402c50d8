//! Conditional-normal growth norms (work in progress in this commit: see issue 3).
