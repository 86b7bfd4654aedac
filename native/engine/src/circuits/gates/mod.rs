//! zkpipe's own plonky2 gates.

pub mod sha256;
