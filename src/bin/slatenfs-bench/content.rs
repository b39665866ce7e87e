//! Deterministic file contents: every byte is a function of (file name, offset), so reads are
//! verified without keeping a copy of what was written.

use bytes::Bytes;

/// FNV-1a of a file name: the key its contents derive from.
pub fn file_key(name: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in name {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

/// The 8-byte word at (8-aligned) `offset` of the file with `key`.
#[inline]
fn word(key: u64, offset: u64) -> [u8; 8] {
    (key ^ offset.wrapping_mul(0x9e37_79b9_7f4a_7c15))
        .rotate_left(17)
        .to_le_bytes()
}

/// Contents of `len` bytes at `offset` (a multiple of 8).
pub fn content(key: u64, offset: u64, len: usize) -> Bytes {
    let mut v = vec![0u8; len];
    for (i, chunk) in v.chunks_mut(8).enumerate() {
        let w = word(key, offset + 8 * i as u64);
        chunk.copy_from_slice(&w[..chunk.len()]);
    }
    Bytes::from(v)
}

/// Whether `data` is what was written at `offset` (a multiple of 8).
pub fn verify(key: u64, offset: u64, data: &[u8]) -> bool {
    data.chunks(8)
        .enumerate()
        .all(|(i, chunk)| chunk == &word(key, offset + 8 * i as u64)[..chunk.len()])
}
