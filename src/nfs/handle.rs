//! NFS file handles: what names an object on the wire, authenticated so that a client cannot
//! make one up.
//!
//! Layout (52 bytes: a multiple of 4, within NFSv3's 64), integers big-endian:
//!
//! ```text
//!  0  version = 2      1  kind = 0 (object)     2..4  zero
//!  4  fsid: u64       12  inode: u64            20    generation: u64
//! 28  view: u32 (0 the live filesystem, 1 its `.snapshot` directory, others a snapshot)
//! 32  export id: u32
//! 36  MAC: HMAC-SHA-256(secret, bytes 0..36), first 16 bytes
//! ```
//!
//! The secret is the filesystem's (kept in its superblock), so handles stay valid across
//! restarts; the MAC is checked in constant time (`hmac`'s `verify_truncated_left`). A handle
//! that is not well formed or whose MAC does not match is `BadHandle`; one of another
//! filesystem or of the previous 28-byte layout is `Stale`, which tells a client to look the
//! path up again or remount. Whether the view still exists is [`super::views::Views`]'s check,
//! and whether the object does, with that generation, [`crate::fs::Fs::resolve`]'s.
use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::exports::ExportId;
use crate::fs::{FsError, FsResult, InodeId, ObjectId};

/// Length of a handle.
pub const HANDLE_LEN: usize = 52;

const VERSION: u8 = 2;
const KIND_OBJECT: u8 = 0;
const MAC_AT: usize = 36;
const MAC_LEN: usize = HANDLE_LEN - MAC_AT;
/// The handles of format 2 stores: `[1, 0, 0, 0] fsid ino generation`, no MAC.
const UNAUTHENTICATED_LEN: usize = 28;
const UNAUTHENTICATED_VERSION: u8 = 1;

/// A file handle's bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct FileHandle([u8; HANDLE_LEN]);

impl FileHandle {
    /// The wire bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }
}

/// What a verified handle names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HandleContent {
    /// The filesystem the object is in: the live one, the `.snapshot` directory or a snapshot.
    pub view: u32,
    pub object: ObjectId,
    /// The export the handle was issued under: its options apply to calls with it.
    pub export: ExportId,
}

/// Makes and checks the handles of one filesystem.
#[derive(Clone)]
pub struct HandleCodec {
    fsid: u64,
    /// Keyed once; each handle clones the keyed state.
    mac: Hmac<Sha256>,
}

impl std::fmt::Debug for HandleCodec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HandleCodec")
            .field("fsid", &self.fsid)
            .finish_non_exhaustive()
    }
}

fn be64(b: &[u8], at: usize) -> u64 {
    let mut a = [0u8; 8];
    a.copy_from_slice(&b[at..at + 8]);
    u64::from_be_bytes(a)
}

fn be32(b: &[u8], at: usize) -> u32 {
    let mut a = [0u8; 4];
    a.copy_from_slice(&b[at..at + 4]);
    u32::from_be_bytes(a)
}

impl HandleCodec {
    /// The codec of filesystem `fsid` whose handle secret is `secret`.
    pub fn new(fsid: u64, secret: &[u8]) -> Self {
        // HMAC takes keys of any length.
        let mac = <Hmac<Sha256> as Mac>::new_from_slice(secret)
            .unwrap_or_else(|_| unreachable!("HMAC accepts every key length"));
        HandleCodec { fsid, mac }
    }

    /// The handle of `object` in view `view`, issued under `export`.
    pub fn encode(&self, view: u32, object: ObjectId, export: ExportId) -> FileHandle {
        let mut b = [0u8; HANDLE_LEN];
        b[0] = VERSION;
        b[1] = KIND_OBJECT;
        b[4..12].copy_from_slice(&self.fsid.to_be_bytes());
        b[12..20].copy_from_slice(&object.ino.0.to_be_bytes());
        b[20..28].copy_from_slice(&object.generation.to_be_bytes());
        b[28..32].copy_from_slice(&view.to_be_bytes());
        b[32..36].copy_from_slice(&export.0.to_be_bytes());
        let mut mac = self.mac.clone();
        mac.update(&b[..MAC_AT]);
        let tag = mac.finalize().into_bytes();
        b[MAC_AT..].copy_from_slice(&tag[..MAC_LEN]);
        FileHandle(b)
    }

    /// Checks `bytes` and says what they name (see the module docs for the errors).
    pub fn decode(&self, bytes: &[u8]) -> FsResult<HandleContent> {
        if bytes.len() != HANDLE_LEN {
            return Err(
                if bytes.len() == UNAUTHENTICATED_LEN
                    && bytes.first() == Some(&UNAUTHENTICATED_VERSION)
                {
                    FsError::Stale
                } else {
                    FsError::BadHandle
                },
            );
        }
        if bytes[..4] != [VERSION, KIND_OBJECT, 0, 0] {
            return Err(FsError::BadHandle);
        }
        if be64(bytes, 4) != self.fsid {
            return Err(FsError::Stale);
        }
        let mut mac = self.mac.clone();
        mac.update(&bytes[..MAC_AT]);
        mac.verify_truncated_left(&bytes[MAC_AT..])
            .map_err(|_| FsError::BadHandle)?;
        let ino = be64(bytes, 12);
        if ino == 0 {
            return Err(FsError::BadHandle);
        }
        Ok(HandleContent {
            view: be32(bytes, 28),
            object: ObjectId {
                ino: InodeId(ino),
                generation: be64(bytes, 20),
            },
            export: ExportId(be32(bytes, 32)),
        })
    }

    /// The inode a handle claims to name, unverified: enough to pick the core that owns it
    /// (which verifies the handle before doing anything with it).
    pub fn route_key(bytes: &[u8]) -> Option<u64> {
        (bytes.len() == HANDLE_LEN && bytes[0] == VERSION).then(|| be64(bytes, 12))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn codec() -> HandleCodec {
        HandleCodec::new(0xdead_beef, &[9; 32])
    }

    const OBJ: ObjectId = ObjectId {
        ino: InodeId(42),
        generation: 7,
    };

    #[test]
    fn round_trip_and_size() {
        let c = codec();
        let h = c.encode(7, OBJ, ExportId(5));
        assert_eq!(h.as_bytes().len() % 4, 0);
        assert!(h.as_bytes().len() <= 64);
        let d = c.decode(h.as_bytes()).unwrap();
        assert_eq!((d.view, d.object, d.export), (7, OBJ, ExportId(5)));
        assert_eq!(HandleCodec::route_key(h.as_bytes()), Some(42));
        // The same object, export and secret give the same bytes (handles survive restarts).
        assert_eq!(
            HandleCodec::new(0xdead_beef, &[9; 32]).encode(7, OBJ, ExportId(5)),
            h
        );
    }

    #[test]
    fn every_changed_byte_is_rejected() {
        let c = codec();
        let h = c.encode(7, OBJ, ExportId(5));
        for at in 0..HANDLE_LEN {
            for delta in 1..=255u8 {
                let mut b = h.as_bytes().to_vec();
                b[at] = b[at].wrapping_add(delta);
                match c.decode(&b) {
                    Err(FsError::BadHandle | FsError::Stale) => {}
                    other => panic!("byte {at} +{delta}: {other:?}"),
                }
            }
        }
    }

    #[test]
    fn other_secrets_lengths_and_layouts_are_rejected() {
        let h = codec().encode(7, OBJ, ExportId(5));
        let other_secret = HandleCodec::new(0xdead_beef, &[8; 32]);
        assert!(matches!(
            other_secret.decode(h.as_bytes()),
            Err(FsError::BadHandle)
        ));
        let other_fs = HandleCodec::new(1, &[9; 32]);
        assert!(matches!(other_fs.decode(h.as_bytes()), Err(FsError::Stale)));
        for len in [0, 1, 27, 51, 53, 64] {
            let mut b = h.as_bytes().to_vec();
            b.resize(len, 0);
            assert!(
                matches!(codec().decode(&b), Err(FsError::BadHandle)),
                "len {len}"
            );
        }
        // A handle of the unauthenticated layout: stale, so the client remounts.
        let mut old = [0u8; 28];
        old[0] = 1;
        old[4..12].copy_from_slice(&0xdead_beef_u64.to_be_bytes());
        assert!(matches!(codec().decode(&old), Err(FsError::Stale)));
    }
}
