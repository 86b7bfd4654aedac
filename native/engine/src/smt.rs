//! A sparse Merkle tree of Poseidon digests, keyed by leaf index, that stores only non-empty nodes.
//!
//! Level 0 holds the leaves; level `depth` holds the root. An empty leaf is the
//! zero digest and an empty subtree of height h hashes to `empty[h]`, so a
//! tree of depth 32 costs memory only for the leaves it actually holds.

use std::collections::HashMap;
use std::fs::File;
use std::io::{BufReader, BufWriter, Read, Write};
use std::path::Path;

use plonky2::hash::hash_types::HashOut;
use rayon::prelude::*;

use crate::field::F;
use crate::hash::{from_hash_out, to_hash_out, two_to_one_out, Digest, ZERO_DIGEST};
use crate::{Error, Result};

const FILE_MAGIC: &[u8; 8] = b"ZKSMT\x00\x01\x00";

/// The sparse Merkle tree.
#[derive(Clone, Debug)]
pub struct SparseMerkleTree {
    depth: u32,
    empty: Vec<HashOut<F>>,
    levels: Vec<HashMap<u64, HashOut<F>>>,
}

/// Root of an empty tree of the given depth.
pub fn empty_root(depth: u32) -> Result<Digest> {
    Ok(from_hash_out(*empty_hashes(depth)?.last().expect("depth >= 1")))
}

fn empty_hashes(depth: u32) -> Result<Vec<HashOut<F>>> {
    if !(1..=64).contains(&depth) {
        return Err(Error::BadDepth(depth));
    }
    let mut empty = vec![to_hash_out(&ZERO_DIGEST)?];
    for h in 0..depth as usize {
        empty.push(two_to_one_out(empty[h], empty[h]));
    }
    Ok(empty)
}

/// Checks that `siblings` (leaf level first) lead from `leaf` at `index` to `root`.
pub fn verify_proof(depth: u32, root: &Digest, index: u64, leaf: &Digest, siblings: &[Digest]) -> Result<bool> {
    check_index(depth, index)?;
    if siblings.len() != depth as usize {
        return Err(Error::WrongLength { expected: depth as usize, got: siblings.len() });
    }
    let mut node = to_hash_out(leaf)?;
    for (h, sibling) in siblings.iter().enumerate() {
        let sibling = to_hash_out(sibling)?;
        node = if (index >> h) & 1 == 0 { two_to_one_out(node, sibling) } else { two_to_one_out(sibling, node) };
    }
    Ok(from_hash_out(node) == *root)
}

fn check_index(depth: u32, index: u64) -> Result<()> {
    if depth < 64 && index >> depth != 0 {
        return Err(Error::IndexOutOfRange { index, depth });
    }
    Ok(())
}

impl SparseMerkleTree {
    /// An empty tree of the given depth (1..=64).
    pub fn new(depth: u32) -> Result<Self> {
        let empty = empty_hashes(depth)?;
        Ok(Self { depth, empty, levels: vec![HashMap::new(); depth as usize + 1] })
    }

    /// The tree's depth.
    pub fn depth(&self) -> u32 {
        self.depth
    }

    /// Number of non-empty leaves.
    pub fn len(&self) -> usize {
        self.levels[0].len()
    }

    /// Whether the tree holds no leaf.
    pub fn is_empty(&self) -> bool {
        self.levels[0].is_empty()
    }

    /// The current root.
    pub fn root(&self) -> Digest {
        from_hash_out(self.node(self.depth as usize, 0))
    }

    /// The leaf at `index` (the zero digest if empty).
    pub fn get(&self, index: u64) -> Result<Digest> {
        check_index(self.depth, index)?;
        Ok(from_hash_out(self.node(0, index)))
    }

    /// Sets many leaves at once and returns the new root; later entries win on repeated indices.
    pub fn update(&mut self, updates: &[(u64, Digest)]) -> Result<Digest> {
        self.update_with(updates, false)
    }

    /// Like [`update`](Self::update), with each level's node hashes computed in parallel (on the
    /// current rayon pool): the disjoint subtrees under one level are independent.
    pub fn update_par(&mut self, updates: &[(u64, Digest)]) -> Result<Digest> {
        self.update_with(updates, true)
    }

    fn update_with(&mut self, updates: &[(u64, Digest)], parallel: bool) -> Result<Digest> {
        let mut validated = Vec::with_capacity(updates.len());
        for (index, leaf) in updates {
            check_index(self.depth, *index)?;
            validated.push((*index, to_hash_out(leaf)?));
        }
        // Validate everything before touching the tree, so a bad entry changes nothing.
        let mut dirty: Vec<u64> = Vec::with_capacity(validated.len());
        for (index, leaf) in validated {
            self.set_node(0, index, leaf);
            dirty.push(index);
        }
        for h in 0..self.depth as usize {
            let mut parents: Vec<u64> = dirty.iter().map(|i| i >> 1).collect();
            parents.sort_unstable();
            parents.dedup();
            let hash_pair = |&p: &u64| two_to_one_out(self.node(h, 2 * p), self.node(h, 2 * p + 1));
            let values: Vec<HashOut<F>> = if parallel && parents.len() >= 64 {
                parents.par_iter().with_min_len(32).map(hash_pair).collect()
            } else {
                parents.iter().map(hash_pair).collect()
            };
            for (&p, value) in parents.iter().zip(values) {
                self.set_node(h + 1, p, value);
            }
            dirty = parents;
        }
        Ok(self.root())
    }

    /// Sibling digests from the leaf level up to just below the root.
    pub fn proof(&self, index: u64) -> Result<Vec<Digest>> {
        check_index(self.depth, index)?;
        Ok((0..self.depth as usize).map(|h| from_hash_out(self.node(h, (index >> h) ^ 1))).collect())
    }

    /// All non-empty leaves, sorted by index.
    pub fn leaves(&self) -> Vec<(u64, Digest)> {
        let mut leaves: Vec<(u64, Digest)> = self.levels[0].iter().map(|(&i, &v)| (i, from_hash_out(v))).collect();
        leaves.sort_unstable_by_key(|(i, _)| *i);
        leaves
    }

    /// Writes the leaves to `path` atomically (temporary file, fsync, rename).
    pub fn save(&self, path: &Path) -> Result<()> {
        let tmp = path.with_extension("tmp");
        {
            let mut out = BufWriter::new(File::create(&tmp)?);
            out.write_all(FILE_MAGIC)?;
            out.write_all(&self.depth.to_le_bytes())?;
            let leaves = self.leaves();
            out.write_all(&(leaves.len() as u64).to_le_bytes())?;
            for (index, leaf) in &leaves {
                out.write_all(&index.to_le_bytes())?;
                for limb in leaf {
                    out.write_all(&limb.to_le_bytes())?;
                }
            }
            out.write_all(&self.root().iter().flat_map(|l| l.to_le_bytes()).collect::<Vec<u8>>())?;
            out.into_inner().map_err(|e| e.into_error())?.sync_all()?;
        }
        std::fs::rename(&tmp, path)?;
        Ok(())
    }

    /// Reads a tree written by [`save`](Self::save), checking the stored root.
    pub fn load(path: &Path) -> Result<Self> {
        let mut input = BufReader::new(File::open(path)?);
        let mut magic = [0u8; 8];
        read_exact(&mut input, &mut magic)?;
        if &magic != FILE_MAGIC {
            return Err(Error::CorruptTreeFile("bad magic".into()));
        }
        let depth = read_u32(&mut input)?;
        let mut tree = Self::new(depth)?;
        let count = read_u64(&mut input)?;
        let mut leaves = Vec::new();
        for _ in 0..count {
            let index = read_u64(&mut input)?;
            let mut leaf = [0u64; 4];
            for limb in leaf.iter_mut() {
                *limb = read_u64(&mut input)?;
            }
            leaves.push((index, leaf));
        }
        let mut stored_root = [0u64; 4];
        for limb in stored_root.iter_mut() {
            *limb = read_u64(&mut input)?;
        }
        let root = tree.update(&leaves).map_err(|e| Error::CorruptTreeFile(e.to_string()))?;
        if root != stored_root {
            return Err(Error::CorruptTreeFile("stored root does not match the leaves".into()));
        }
        Ok(tree)
    }

    fn node(&self, h: usize, index: u64) -> HashOut<F> {
        self.levels[h].get(&index).copied().unwrap_or(self.empty[h])
    }

    fn set_node(&mut self, h: usize, index: u64, value: HashOut<F>) {
        if value == self.empty[h] {
            self.levels[h].remove(&index);
        } else {
            self.levels[h].insert(index, value);
        }
    }
}

fn read_exact(input: &mut impl Read, buf: &mut [u8]) -> Result<()> {
    input.read_exact(buf).map_err(|e| Error::CorruptTreeFile(format!("truncated: {e}")))
}

fn read_u64(input: &mut impl Read) -> Result<u64> {
    let mut buf = [0u8; 8];
    read_exact(input, &mut buf)?;
    Ok(u64::from_le_bytes(buf))
}

fn read_u32(input: &mut impl Read) -> Result<u32> {
    let mut buf = [0u8; 4];
    read_exact(input, &mut buf)?;
    Ok(u32::from_le_bytes(buf))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hash::hash;

    #[test]
    fn proofs_verify_after_updates_and_deletes() {
        let mut tree = SparseMerkleTree::new(8).unwrap();
        let a = hash(&[1]).unwrap();
        let b = hash(&[2]).unwrap();
        tree.update(&[(3, a), (200, b)]).unwrap();
        let root = tree.root();
        assert!(verify_proof(8, &root, 3, &a, &tree.proof(3).unwrap()).unwrap());
        assert!(!verify_proof(8, &root, 3, &b, &tree.proof(3).unwrap()).unwrap());
        tree.update(&[(3, ZERO_DIGEST), (200, ZERO_DIGEST)]).unwrap();
        assert_eq!(tree.root(), empty_root(8).unwrap());
        assert!(tree.is_empty());
    }

    #[test]
    fn bad_update_leaves_tree_unchanged() {
        let mut tree = SparseMerkleTree::new(4).unwrap();
        let before = tree.root();
        assert!(tree.update(&[(1, hash(&[1]).unwrap()), (16, ZERO_DIGEST)]).is_err());
        assert_eq!(tree.root(), before);
    }
}
