//! NFS file handles: version, filesystem id, inode id, generation.
//!
//! Layout (28 bytes, a multiple of 4, well under the 64-byte NFSv3 limit):
//! `[version=1, kind=0, 0, 0] fsid:u64 ino:u64 generation:u64`, all big-endian.
//! Handles depend only on stored data, so they survive restarts.

use super::error::FsError;
use super::object::InodeId;

const VERSION: u8 = 1;
/// Length of an encoded handle.
pub const HANDLE_LEN: usize = 28;

/// An opaque NFS file handle.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct FileHandle([u8; HANDLE_LEN]);

/// The decoded content of a handle.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HandleParts {
    /// Filesystem id.
    pub fsid: u64,
    /// Inode id.
    pub ino: InodeId,
    /// Inode generation.
    pub generation: u64,
}

fn be64(b: &[u8], at: usize) -> Result<u64, FsError> {
    let s = b.get(at..at + 8).ok_or(FsError::BadHandle)?;
    let mut a = [0u8; 8];
    a.copy_from_slice(s);
    Ok(u64::from_be_bytes(a))
}

impl FileHandle {
    /// Builds a handle.
    pub fn new(fsid: u64, ino: InodeId, generation: u64) -> Self {
        let mut b = [0u8; HANDLE_LEN];
        b[0] = VERSION;
        b[4..12].copy_from_slice(&fsid.to_be_bytes());
        b[12..20].copy_from_slice(&ino.0.to_be_bytes());
        b[20..28].copy_from_slice(&generation.to_be_bytes());
        FileHandle(b)
    }

    /// The wire bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// Parses wire bytes; anything malformed is `BadHandle`.
    pub fn decode(bytes: &[u8]) -> Result<HandleParts, FsError> {
        if bytes.len() != HANDLE_LEN || bytes.first() != Some(&VERSION) {
            return Err(FsError::BadHandle);
        }
        if bytes.get(1..4) != Some(&[0, 0, 0][..]) {
            return Err(FsError::BadHandle);
        }
        let ino = be64(bytes, 12)?;
        if ino == 0 {
            return Err(FsError::BadHandle);
        }
        Ok(HandleParts {
            fsid: be64(bytes, 4)?,
            ino: InodeId(ino),
            generation: be64(bytes, 20)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roundtrip_and_garbage() {
        let h = FileHandle::new(0xdead_beef, InodeId(42), 7);
        assert_eq!(h.as_bytes().len() % 4, 0);
        assert!(h.as_bytes().len() <= 64);
        let p = FileHandle::decode(h.as_bytes()).unwrap();
        assert_eq!(p.fsid, 0xdead_beef);
        assert_eq!(p.ino, InodeId(42));
        assert_eq!(p.generation, 7);
        for bad in [&b""[..], &[0u8; 28][..], &[1u8; 27][..], &[1u8; 32][..]] {
            assert!(matches!(FileHandle::decode(bad), Err(FsError::BadHandle)));
        }
        let mut zero_ino = h.as_bytes().to_vec();
        zero_ino[12..20].fill(0);
        assert!(matches!(
            FileHandle::decode(&zero_ino),
            Err(FsError::BadHandle)
        ));
    }
}
