//! Errors of the contract layer: what stops a settlement or target setting that is neither a
//! bad contract file ([`ConfigError`]) nor bad input rows ([`DataError`]), and the error of
//! the library's entry points ([`Error`]), with the exit code each kind gets.

use crate::error::{ConfigError, DataError};

/// Errors of a contract's settlement or target setting that are neither a bad contract file
/// nor bad input rows: norms that cannot be had, a midpoint review without its terms.
#[derive(Debug, thiserror::Error)]
pub enum ContractError {
    #[error("norms: {0}")]
    Norms(String),
    #[error("{0}")]
    Midpoint(String),
    #[error("baseline: {0}")]
    Baseline(String),
    #[error("baseline: {0}")]
    Targets(#[from] super::baseline::BaselineError),
    /// `[payment] settle_on = "expected"` and a provider's expected payment cannot be had.
    #[error(
        "payment.settle_on: \"expected\" needs every provider's expected payment under test error, and {provider}'s \
         cannot be computed: {why}; settle on \"observed\" or supply the SEMs"
    )]
    Expected { provider: String, why: super::settle::test_error::NoExpected },
}

/// Any error of the library's entry points ([`crate::settle`]), by kind.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Data(#[from] DataError),
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(transparent)]
    Contract(#[from] ContractError),
}

impl Error {
    /// The exit code the command line gives it: 3 for output problems, 2 for everything a
    /// user fixes in the contract or the inputs (README "Exit codes").
    pub fn exit_code(&self) -> u8 {
        match self {
            Error::Data(DataError::Write { .. }) => 3,
            Error::Data(DataError::Output(o)) => o.exit_code(),
            _ => 2,
        }
    }
}
