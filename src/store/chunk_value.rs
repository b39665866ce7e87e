//! The value of a chunk key, and the SlateDB merge operator that lets a partial write skip the
//! read of the chunk it lands in.
//!
//! A WRITE that covers only part of a stored 64 KiB chunk adds a merge operand holding just the
//! patch, rather than reading the chunk, patching it and putting all 64 KiB back (a chunk read
//! plus 64 KiB of WAL and of L0 table for a 4 KiB write). SlateDB folds operands into the chunk
//! when it reads it and when it compacts, so the chunk stays one key and the write costs its
//! own size.
//!
//! Encoding (first byte is the tag):
//! - `0x00 data…`: the chunk's bytes (`Data`).
//! - `0x01 (offset:u32 len:u32 bytes…)*`: patches to apply in order to the chunk as it was
//!   (`Patches`); applied to a missing chunk (a hole) they apply to zeros.
//!
//! The merge operator only ever sees values this module wrote. With a base value (the newest
//! put) it returns `Data`; without one (only operands known, as during a compaction that does
//! not reach the base) it returns `Patches`, which is also what a hole patched by a write reads
//! as, so either form is a complete description of the chunk given what lies below it.

use bytes::{BufMut, Bytes, BytesMut};
use slatedb::{MergeOperator, MergeOperatorError};

/// Largest chunk (matches the filesystem's chunk size).
pub const MAX_CHUNK: usize = 64 * 1024;

const TAG_DATA: u8 = 0;
const TAG_PATCHES: u8 = 1;

/// A malformed chunk value (never written by this module).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("malformed chunk value: {0}")]
pub struct BadChunk(&'static str);

/// Encodes a whole chunk.
pub fn encode_data(data: &[u8]) -> Bytes {
    let mut v = BytesMut::with_capacity(1 + data.len());
    v.put_u8(TAG_DATA);
    v.extend_from_slice(data);
    v.freeze()
}

/// Encodes one patch: `data` written at `offset` inside the chunk.
pub fn encode_patch(offset: usize, data: &[u8]) -> Bytes {
    let mut v = BytesMut::with_capacity(9 + data.len());
    v.put_u8(TAG_PATCHES);
    v.put_u32(offset as u32);
    v.put_u32(data.len() as u32);
    v.extend_from_slice(data);
    v.freeze()
}

/// The chunk's bytes from its stored value (a hole reads as empty). `Data` is returned without
/// copying.
pub fn decode(value: &Bytes) -> Result<Bytes, BadChunk> {
    match value.first() {
        Some(&TAG_DATA) => Ok(value.slice(1..)),
        Some(&TAG_PATCHES) => {
            let mut out = Vec::new();
            apply_patches(&mut out, value)?;
            Ok(Bytes::from(out))
        }
        Some(_) => Err(BadChunk("unknown tag")),
        None => Err(BadChunk("empty value")),
    }
}

/// Each patch of a `Patches` value as `(offset, bytes)`.
fn patches(value: &[u8]) -> impl Iterator<Item = Result<(usize, &[u8]), BadChunk>> {
    let mut rest = value.get(1..).unwrap_or_default();
    std::iter::from_fn(move || {
        if rest.is_empty() {
            return None;
        }
        let (Some(off), Some(len)) = (rest.get(0..4), rest.get(4..8)) else {
            rest = &[];
            return Some(Err(BadChunk("truncated patch header")));
        };
        let off = u32::from_be_bytes([off[0], off[1], off[2], off[3]]) as usize;
        let len = u32::from_be_bytes([len[0], len[1], len[2], len[3]]) as usize;
        let Some(data) = rest.get(8..8 + len) else {
            rest = &[];
            return Some(Err(BadChunk("truncated patch data")));
        };
        if off + len > MAX_CHUNK {
            rest = &[];
            return Some(Err(BadChunk("patch beyond chunk end")));
        }
        rest = &rest[8 + len..];
        Some(Ok((off, data)))
    })
}

/// Applies the patches of a `Patches` value to `out` in order.
fn apply_patches(out: &mut Vec<u8>, value: &[u8]) -> Result<(), BadChunk> {
    for p in patches(value) {
        let (off, data) = p?;
        if out.len() < off + data.len() {
            out.resize(off + data.len(), 0);
        }
        out[off..off + data.len()].copy_from_slice(data);
    }
    Ok(())
}

/// Applies any stored value (`Data` replaces, `Patches` patch) to `out`.
fn apply(out: &mut Vec<u8>, value: &[u8]) -> Result<(), BadChunk> {
    match value.first() {
        Some(&TAG_DATA) => {
            out.clear();
            out.extend_from_slice(&value[1..]);
            Ok(())
        }
        Some(&TAG_PATCHES) => apply_patches(out, value),
        Some(_) => Err(BadChunk("unknown tag")),
        None => Err(BadChunk("empty value")),
    }
}

/// Operands folded without their base: the bytes they set, as few non-overlapping patches.
fn fold_operands(operands: &[Bytes]) -> Result<Bytes, BadChunk> {
    // The chunk as far as the operands know it, and which of its bytes they set.
    let mut buf = vec![0u8; MAX_CHUNK];
    let mut set = vec![false; MAX_CHUNK];
    let mut end = 0;
    for op in operands {
        if op.first() == Some(&TAG_DATA) {
            // Never produced as an operand; handled for completeness (it replaces).
            return Err(BadChunk("data value as operand"));
        }
        for p in patches(op) {
            let (off, data) = p?;
            buf[off..off + data.len()].copy_from_slice(data);
            set[off..off + data.len()]
                .iter_mut()
                .for_each(|s| *s = true);
            end = end.max(off + data.len());
        }
    }
    let mut out = BytesMut::new();
    out.put_u8(TAG_PATCHES);
    let mut i = 0;
    while i < end {
        if !set[i] {
            i += 1;
            continue;
        }
        let start = i;
        while i < end && set[i] {
            i += 1;
        }
        out.put_u32(start as u32);
        out.put_u32((i - start) as u32);
        out.extend_from_slice(&buf[start..i]);
    }
    Ok(out.freeze())
}

/// SlateDB merge operator for chunk keys (the only keys that ever get merge operands).
pub struct ChunkMergeOperator;

impl MergeOperator for ChunkMergeOperator {
    fn merge(
        &self,
        key: &Bytes,
        existing_value: Option<Bytes>,
        value: Bytes,
    ) -> Result<Bytes, MergeOperatorError> {
        self.merge_batch(key, existing_value, &[value])
    }

    fn merge_batch(
        &self,
        _key: &Bytes,
        existing_value: Option<Bytes>,
        operands: &[Bytes],
    ) -> Result<Bytes, MergeOperatorError> {
        let err = |e: BadChunk| MergeOperatorError::Callback {
            message: e.to_string(),
        };
        match existing_value {
            Some(base) => {
                let mut out = Vec::with_capacity(MAX_CHUNK);
                apply(&mut out, &base).map_err(err)?;
                for op in operands {
                    apply(&mut out, op).map_err(err)?;
                }
                Ok(encode_data(&out))
            }
            None => fold_operands(operands).map_err(err),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn read(v: &Bytes) -> Vec<u8> {
        decode(v).unwrap().to_vec()
    }

    #[test]
    fn data_and_patches_decode() {
        assert_eq!(read(&encode_data(b"abc")), b"abc");
        assert_eq!(read(&encode_data(b"")), b"");
        assert_eq!(read(&encode_patch(3, b"xy")), b"\0\0\0xy");
        assert!(decode(&Bytes::new()).is_err());
        assert!(decode(&Bytes::from_static(&[7, 1, 2])).is_err());
        assert!(decode(&Bytes::from_static(&[1, 0, 0])).is_err());
        // Offset + length past 64 KiB.
        let mut bad = vec![1u8];
        bad.extend_from_slice(&(65535u32).to_be_bytes());
        bad.extend_from_slice(&2u32.to_be_bytes());
        bad.extend_from_slice(b"zz");
        assert!(decode(&Bytes::from(bad)).is_err());
    }

    #[test]
    fn merge_with_base_gives_data() {
        let op = ChunkMergeOperator;
        let k = Bytes::new();
        let out = op
            .merge_batch(
                &k,
                Some(encode_data(b"hello world")),
                &[encode_patch(0, b"J"), encode_patch(11, b"!")],
            )
            .unwrap();
        assert_eq!(out.first(), Some(&TAG_DATA));
        assert_eq!(read(&out), b"Jello world!");
    }

    /// A model: the chunk as bytes; writes are (offset, data); at some point the history is cut
    /// into base + operand groups folded in any association. Every way must read the same.
    fn apply_model(model: &mut Vec<u8>, off: usize, data: &[u8]) {
        if model.len() < off + data.len() {
            model.resize(off + data.len(), 0);
        }
        model[off..off + data.len()].copy_from_slice(data);
    }

    proptest! {
        #[test]
        fn any_association_reads_the_same(
            base in proptest::option::of(proptest::collection::vec(any::<u8>(), 0..300)),
            writes in proptest::collection::vec((0usize..400, proptest::collection::vec(any::<u8>(), 1..64)), 1..12),
            cut in 0usize..12,
        ) {
            let op = ChunkMergeOperator;
            let k = Bytes::new();
            let mut model = base.clone().unwrap_or_default();
            let operands: Vec<Bytes> = writes
                .iter()
                .map(|(o, d)| { apply_model(&mut model, *o, d); encode_patch(*o, d) })
                .collect();
            let base_v = base.as_ref().map(|b| encode_data(b));
            // All at once.
            let all = op.merge_batch(&k, base_v.clone(), &operands).unwrap();
            prop_assert_eq!(read(&all), model.clone());
            // Operands folded in two groups without the base, then with it.
            let cut = cut.min(operands.len());
            let (a, b) = operands.split_at(cut);
            let mut partial = Vec::new();
            if !a.is_empty() { partial.push(op.merge_batch(&k, None, a).unwrap()); }
            if !b.is_empty() { partial.push(op.merge_batch(&k, None, b).unwrap()); }
            let folded = op.merge_batch(&k, None, &partial).unwrap();
            let last = match &base_v {
                Some(bv) => op.merge_batch(&k, Some(bv.clone()), &[folded]).unwrap(),
                None => folded,
            };
            prop_assert_eq!(read(&last), model);
        }
    }
}
