//! Fingerprints the circuit sources, so cached circuit data is never reused after a circuit changes.

use std::fs;
use std::path::{Path, PathBuf};

/// Every file under `dir`, subfolders included (custom gates live in `circuits/gates/`).
fn files_under(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in fs::read_dir(dir).expect("readable folder").flatten() {
        let path = entry.path();
        if path.is_dir() {
            println!("cargo:rerun-if-changed={}", path.display());
            files_under(&path, out);
        } else {
            out.push(path);
        }
    }
}

fn main() {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325; // FNV-1a
    let mut files = Vec::new();
    files_under(Path::new("src/circuits"), &mut files);
    files.push(Path::new("Cargo.toml").to_path_buf());
    files.sort();
    for path in &files {
        println!("cargo:rerun-if-changed={}", path.display());
        for byte in fs::read(path).expect("readable source") {
            hash ^= u64::from(byte);
            hash = hash.wrapping_mul(0x0100_0000_01b3);
        }
    }
    println!("cargo:rustc-env=ZKPIPE_CIRCUITS_HASH={hash:016x}");
}
