//! zkpipe's own plonky2 gates.

pub mod algebra;
pub mod ecadd;
pub mod gfp5;
pub mod sha256;
