//! The engine's error type, with a stable code per variant.

/// Everything the engine can refuse, each with a stable code for the Python side.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("value {0} is not a canonical Goldilocks field element")]
    NonCanonicalField(u64),
    #[error("expected {expected} field elements, got {got}")]
    WrongLength { expected: usize, got: usize },
    #[error("index {index} is out of range for a tree of depth {depth}")]
    IndexOutOfRange { index: u64, depth: u32 },
    #[error("tree depth {0} is not in 1..=64")]
    BadDepth(u32),
    #[error("invalid secret key: {0}")]
    InvalidSecretKey(&'static str),
    #[error("invalid public key: {0}")]
    InvalidPublicKey(&'static str),
    #[error("malformed signature: {0}")]
    MalformedSignature(&'static str),
    #[error("invalid proof: {0}")]
    InvalidProof(String),
    #[error("proving failed: {0}")]
    ProvingFailed(String),
    #[error("corrupt tree file: {0}")]
    CorruptTreeFile(String),
    #[error("bad parameter: {0}")]
    BadParameter(String),
    #[error("unknown benchmark {0:?}")]
    UnknownBenchmark(String),
    #[error("execution failed: {0}")]
    ExecutionFailed(String),
    #[error("i/o error: {0}")]
    Io(#[from] std::io::Error),
}

impl Error {
    /// Stable, machine-readable code (mirrored by `zkpipe.errors`).
    pub fn code(&self) -> &'static str {
        match self {
            Error::NonCanonicalField(_) => "NON_CANONICAL_FIELD",
            Error::WrongLength { .. } => "WRONG_LENGTH",
            Error::IndexOutOfRange { .. } => "INDEX_OUT_OF_RANGE",
            Error::BadDepth(_) => "BAD_DEPTH",
            Error::InvalidSecretKey(_) => "INVALID_SECRET_KEY",
            Error::InvalidPublicKey(_) => "INVALID_PUBLIC_KEY",
            Error::MalformedSignature(_) => "MALFORMED_SIGNATURE",
            Error::InvalidProof(_) => "INVALID_PROOF",
            Error::ProvingFailed(_) => "PROVING_FAILED",
            Error::CorruptTreeFile(_) => "CORRUPT_TREE_FILE",
            Error::BadParameter(_) => "BAD_PARAMETER",
            Error::UnknownBenchmark(_) => "UNKNOWN_BENCHMARK",
            Error::ExecutionFailed(_) => "EXECUTION_FAILED",
            Error::Io(_) => "IO_ERROR",
        }
    }
}

pub type Result<T> = std::result::Result<T, Error>;
