//! zkpipe's native engine: the hot core behind `zkpipe._native`.
//!
//! Nothing here knows about Python; the bindings crate converts arguments,
//! calls into these modules and maps [`Error`] to Python exceptions.

pub mod bench;
pub mod circuits;
pub mod error;
pub mod exec;
pub mod field;
pub mod hash;
pub mod sig;
pub mod smt;
pub mod wrap;

pub use error::{Error, Result};

/// Versions of the libraries whose behaviour decides proofs and signatures.
pub fn library_versions() -> Vec<(&'static str, &'static str)> {
    vec![
        ("zkpipe-engine", env!("CARGO_PKG_VERSION")),
        ("qp-plonky2", "1.6.0"),
        ("goldilocks-crypto", "0.1.2"),
    ]
}
