//! Typed keys of the SlateDB key space.
//!
//! Every key starts with one tag byte, followed by big-endian integers so that byte order equals
//! numeric order (all chunks of a file, and all entries of a directory in cookie order, are one
//! contiguous range).
//!
//! | key | layout |
//! | --- | --- |
//! | superblock | `S` |
//! | inode | `I ino:u64` |
//! | directory entry | `D dir:u64 name` |
//! | readdir cookie | `C dir:u64 cookie:u64` |
//! | chunk | `K ino:u64 index:u64`, then `0x00` from format 4 on ([`ChunkKeyLayout`]) |
//! | inode id allocator | `A slot:u32` |
//! | reclaim queue | `R ino:u64` |
//! | lock manager's NSM state number | `N 0x00` |
//! | client monitored by the lock manager | `N 0x01 addr:16 caller_name` |

use bytes::{BufMut, Bytes, BytesMut};

/// Tag byte of the superblock key.
pub const TAG_SUPERBLOCK: u8 = b'S';
/// Tag byte of inode keys.
pub const TAG_INODE: u8 = b'I';
/// Tag byte of directory entry keys.
pub const TAG_DIRENT: u8 = b'D';
/// Tag byte of readdir cookie keys.
pub const TAG_COOKIE: u8 = b'C';
/// Tag byte of chunk keys.
pub const TAG_CHUNK: u8 = b'K';
/// Tag byte of inode allocator keys.
pub const TAG_ALLOC: u8 = b'A';
/// Tag byte of reclaim queue keys.
pub const TAG_RECLAIM: u8 = b'R';
/// Tag byte of the lock manager's status-monitor (NSM) keys: its own state number and the
/// clients to notify when it restarts. Not filesystem data: `fs` never reads them.
pub const TAG_NSM: u8 = b'N';

/// A half-open key range `[start, end)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyRange {
    /// Inclusive start.
    pub start: Bytes,
    /// Exclusive end.
    pub end: Bytes,
}

impl KeyRange {
    /// The range `[start, end)`.
    pub fn new(start: impl Into<Bytes>, end: impl Into<Bytes>) -> Self {
        KeyRange {
            start: start.into(),
            end: end.into(),
        }
    }

    /// Every key starting with `prefix`.
    pub fn prefix(prefix: &[u8]) -> Self {
        KeyRange {
            start: Bytes::copy_from_slice(prefix),
            end: prefix_end(prefix),
        }
    }

    /// The same range starting just after `key` (for paging).
    pub fn after(&self, key: &[u8]) -> Self {
        let mut start = BytesMut::with_capacity(key.len() + 1);
        start.extend_from_slice(key);
        start.put_u8(0);
        KeyRange {
            start: start.freeze(),
            end: self.end.clone(),
        }
    }

    /// Whether `key` lies within the range.
    pub fn contains(&self, key: &[u8]) -> bool {
        key >= self.start.as_ref() && key < self.end.as_ref()
    }
}

/// The smallest key greater than every key starting with `prefix`.
fn prefix_end(prefix: &[u8]) -> Bytes {
    let mut end = prefix.to_vec();
    while let Some(last) = end.pop() {
        if last < 0xff {
            end.push(last + 1);
            return Bytes::from(end);
        }
    }
    // All 0xff (or empty): no finite upper bound below; use a long run of 0xff.
    Bytes::from(vec![0xff; prefix.len() + 9])
}

fn tagged_u64(tag: u8, a: u64) -> BytesMut {
    let mut k = BytesMut::with_capacity(17);
    k.put_u8(tag);
    k.put_u64(a);
    k
}

fn read_u64(b: &[u8], at: usize) -> Option<u64> {
    let s = b.get(at..at + 8)?;
    let mut a = [0u8; 8];
    a.copy_from_slice(s);
    Some(u64::from_be_bytes(a))
}

/// The superblock key `S`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SuperblockKey;

impl SuperblockKey {
    /// Encodes the key.
    pub fn encode(&self) -> Bytes {
        Bytes::from_static(&[TAG_SUPERBLOCK])
    }
    /// Decodes the key.
    pub fn decode(b: &[u8]) -> Option<Self> {
        (b == [TAG_SUPERBLOCK]).then_some(SuperblockKey)
    }
}

/// Inode record key `I ino`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct InodeKey(pub u64);

impl InodeKey {
    /// Encodes the key.
    pub fn encode(&self) -> Bytes {
        tagged_u64(TAG_INODE, self.0).freeze()
    }
    /// Decodes the key.
    pub fn decode(b: &[u8]) -> Option<Self> {
        if b.len() != 9 || b.first() != Some(&TAG_INODE) {
            return None;
        }
        Some(InodeKey(read_u64(b, 1)?))
    }
    /// All inode keys.
    pub fn all() -> KeyRange {
        KeyRange::prefix(&[TAG_INODE])
    }
}

/// Directory entry key `D dir name`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct DirEntryKey(pub u64, pub Bytes);

impl DirEntryKey {
    /// Encodes the key.
    pub fn encode(&self) -> Bytes {
        let mut k = tagged_u64(TAG_DIRENT, self.0);
        k.extend_from_slice(&self.1);
        k.freeze()
    }
    /// Decodes the key.
    pub fn decode(b: &[u8]) -> Option<Self> {
        if b.len() < 9 || b.first() != Some(&TAG_DIRENT) {
            return None;
        }
        Some(DirEntryKey(
            read_u64(b, 1)?,
            Bytes::copy_from_slice(b.get(9..)?),
        ))
    }
    /// All entries of directory `dir` (in name order).
    pub fn dir_range(dir: u64) -> KeyRange {
        KeyRange::prefix(&tagged_u64(TAG_DIRENT, dir))
    }
    /// All directory entries of all directories.
    pub fn all() -> KeyRange {
        KeyRange::prefix(&[TAG_DIRENT])
    }
}

/// Readdir cookie key `C dir cookie`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct DirCookieKey(pub u64, pub u64);

impl DirCookieKey {
    /// Encodes the key.
    pub fn encode(&self) -> Bytes {
        let mut k = tagged_u64(TAG_COOKIE, self.0);
        k.put_u64(self.1);
        k.freeze()
    }
    /// Decodes the key.
    pub fn decode(b: &[u8]) -> Option<Self> {
        if b.len() != 17 || b.first() != Some(&TAG_COOKIE) {
            return None;
        }
        Some(DirCookieKey(read_u64(b, 1)?, read_u64(b, 9)?))
    }
    /// Entries of `dir` with cookie `>= from`, in cookie order.
    pub fn dir_range_from(dir: u64, from: u64) -> KeyRange {
        KeyRange {
            start: DirCookieKey(dir, from).encode(),
            end: prefix_end(&tagged_u64(TAG_COOKIE, dir)),
        }
    }
    /// All cookie keys.
    pub fn all() -> KeyRange {
        KeyRange::prefix(&[TAG_COOKIE])
    }
}

/// How a filesystem spells its chunk keys: fixed when it is formatted, told by the format in
/// its superblock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChunkKeyLayout {
    /// `K ino index` (formats 2 and 3).
    Bare,
    /// `K ino index 0x00` (format 4 on).
    ///
    /// SlateDB indexes each table block by the shortest key that sorts after the previous
    /// block's last key. Every chunk fills a block of its own, and for a bare chunk key that
    /// separator is the whole key; a read of the key then starts one block early (that block
    /// might end with older versions of the key) and fetches the previous chunk too: on object
    /// storage a second GET, or twice the bytes. With the trailing byte the separator is
    /// `K ino index`, strictly below the key, so a read of one chunk fetches its block alone.
    Terminated,
}

/// File data chunk key `K ino index` (see [`ChunkKeyLayout`] for how it is spelt).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct ChunkKey(pub u64, pub u64);

impl ChunkKey {
    /// Encodes the key in `layout`.
    pub fn encode(&self, layout: ChunkKeyLayout) -> Bytes {
        let mut k = self.bare();
        if layout == ChunkKeyLayout::Terminated {
            k.put_u8(0);
        }
        k.freeze()
    }
    /// `K ino index`, which sorts after every key of chunks below `index` in either layout and
    /// before every key of chunks from `index` on.
    fn bare(&self) -> BytesMut {
        let mut k = tagged_u64(TAG_CHUNK, self.0);
        k.put_u64(self.1);
        k
    }
    /// Decodes the key (either layout).
    pub fn decode(b: &[u8]) -> Option<Self> {
        let terminated = b.len() == 18 && b[17] == 0;
        if (b.len() != 17 && !terminated) || b.first() != Some(&TAG_CHUNK) {
            return None;
        }
        Some(ChunkKey(read_u64(b, 1)?, read_u64(b, 9)?))
    }
    /// All chunks of `ino`.
    pub fn file_range(ino: u64) -> KeyRange {
        KeyRange::prefix(&tagged_u64(TAG_CHUNK, ino))
    }
    /// Chunks of `ino` with index `>= from` (either layout).
    pub fn file_range_from(ino: u64, from: u64) -> KeyRange {
        KeyRange {
            start: ChunkKey(ino, from).bare().freeze(),
            end: prefix_end(&tagged_u64(TAG_CHUNK, ino)),
        }
    }
    /// Chunks `first..=last` of `ino` in `layout`. The range starts at the first chunk's own
    /// key, so that a scan of it begins at that chunk's block (see [`ChunkKeyLayout`]).
    pub fn span(layout: ChunkKeyLayout, ino: u64, first: u64, last: u64) -> KeyRange {
        KeyRange {
            start: ChunkKey(ino, first).encode(layout),
            end: match last.checked_add(1) {
                Some(next) => ChunkKey(ino, next).bare().freeze(),
                None => prefix_end(&tagged_u64(TAG_CHUNK, ino)),
            },
        }
    }
    /// All chunk keys.
    pub fn all() -> KeyRange {
        KeyRange::prefix(&[TAG_CHUNK])
    }
}

/// Inode id allocator key `A slot` (one per allocating shard).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct AllocKey(pub u32);

impl AllocKey {
    /// Encodes the key.
    pub fn encode(&self) -> Bytes {
        let mut k = BytesMut::with_capacity(5);
        k.put_u8(TAG_ALLOC);
        k.put_u32(self.0);
        k.freeze()
    }
    /// Decodes the key.
    pub fn decode(b: &[u8]) -> Option<Self> {
        if b.len() != 5 || b.first() != Some(&TAG_ALLOC) {
            return None;
        }
        let mut a = [0u8; 4];
        a.copy_from_slice(b.get(1..5)?);
        Some(AllocKey(u32::from_be_bytes(a)))
    }
    /// All allocator keys.
    pub fn all() -> KeyRange {
        KeyRange::prefix(&[TAG_ALLOC])
    }
}

/// Reclaim queue key `R ino`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct ReclaimKey(pub u64);

impl ReclaimKey {
    /// Encodes the key.
    pub fn encode(&self) -> Bytes {
        tagged_u64(TAG_RECLAIM, self.0).freeze()
    }
    /// Decodes the key.
    pub fn decode(b: &[u8]) -> Option<Self> {
        if b.len() != 9 || b.first() != Some(&TAG_RECLAIM) {
            return None;
        }
        Some(ReclaimKey(read_u64(b, 1)?))
    }
    /// The whole queue.
    pub fn all() -> KeyRange {
        KeyRange::prefix(&[TAG_RECLAIM])
    }
}

/// The lock manager's NSM state number `N 0x00`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NsmStateKey;

impl NsmStateKey {
    /// Encodes the key.
    pub fn encode(&self) -> Bytes {
        Bytes::from_static(&[TAG_NSM, 0])
    }
}

/// A client the lock manager monitors, `N 0x01 addr caller_name`: the client's IP address (16
/// bytes, IPv4 mapped into IPv6) and the host name it gave in its lock requests.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct MonitoredClientKey {
    pub addr: [u8; 16],
    pub caller_name: Bytes,
}

impl MonitoredClientKey {
    /// Encodes the key.
    pub fn encode(&self) -> Bytes {
        let mut k = BytesMut::with_capacity(18 + self.caller_name.len());
        k.put_u8(TAG_NSM);
        k.put_u8(1);
        k.extend_from_slice(&self.addr);
        k.extend_from_slice(&self.caller_name);
        k.freeze()
    }
    /// Decodes the key.
    pub fn decode(b: &[u8]) -> Option<Self> {
        if b.len() < 18 || b[..2] != [TAG_NSM, 1] {
            return None;
        }
        let mut addr = [0u8; 16];
        addr.copy_from_slice(&b[2..18]);
        Some(MonitoredClientKey {
            addr,
            caller_name: Bytes::copy_from_slice(&b[18..]),
        })
    }
    /// Every monitored client.
    pub fn all() -> KeyRange {
        KeyRange::prefix(&[TAG_NSM, 1])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roundtrip() {
        assert_eq!(
            SuperblockKey::decode(&SuperblockKey.encode()),
            Some(SuperblockKey)
        );
        let k = InodeKey(0x0102_0304_0506_0708);
        assert_eq!(InodeKey::decode(&k.encode()), Some(k));
        let k = DirEntryKey(7, Bytes::from_static(b"hello"));
        assert_eq!(DirEntryKey::decode(&k.encode()), Some(k));
        let k = DirCookieKey(7, 99);
        assert_eq!(DirCookieKey::decode(&k.encode()), Some(k));
        for layout in [ChunkKeyLayout::Bare, ChunkKeyLayout::Terminated] {
            let k = ChunkKey(7, u64::MAX);
            assert_eq!(ChunkKey::decode(&k.encode(layout)), Some(k));
        }
        assert_eq!(ChunkKey(7, 1).encode(ChunkKeyLayout::Bare).len(), 17);
        assert_eq!(ChunkKey(7, 1).encode(ChunkKeyLayout::Terminated).len(), 18);
        let k = AllocKey(3);
        assert_eq!(AllocKey::decode(&k.encode()), Some(k));
        let k = ReclaimKey(42);
        assert_eq!(ReclaimKey::decode(&k.encode()), Some(k));
        let k = MonitoredClientKey {
            addr: [7; 16],
            caller_name: Bytes::from_static(b"client"),
        };
        assert_eq!(MonitoredClientKey::decode(&k.encode()), Some(k.clone()));
        assert!(MonitoredClientKey::all().contains(&k.encode()));
        assert!(!MonitoredClientKey::all().contains(&NsmStateKey.encode()));
        assert_eq!(MonitoredClientKey::decode(&NsmStateKey.encode()), None);
        // Wrong tag or length is rejected.
        assert_eq!(InodeKey::decode(&ReclaimKey(1).encode()), None);
        assert_eq!(ChunkKey::decode(b"K12"), None);
        let mut odd_end = ChunkKey(7, 1).encode(ChunkKeyLayout::Bare).to_vec();
        odd_end.push(1);
        assert_eq!(ChunkKey::decode(&odd_end), None);
        assert_eq!(DirEntryKey::decode(b"D"), None);
    }

    #[test]
    fn ordering_is_numeric() {
        let ids = [0u64, 1, 255, 256, 65535, 65536, 1 << 40, u64::MAX];
        for w in ids.windows(2) {
            assert!(InodeKey(w[0]).encode() < InodeKey(w[1]).encode());
            assert!(DirCookieKey(5, w[0]).encode() < DirCookieKey(5, w[1]).encode());
            for layout in [ChunkKeyLayout::Bare, ChunkKeyLayout::Terminated] {
                assert!(ChunkKey(5, w[0]).encode(layout) < ChunkKey(5, w[1]).encode(layout));
                // Keys of a lower inode sort before every key of a higher one.
                assert!(ChunkKey(w[0], u64::MAX).encode(layout) < ChunkKey(w[1], 0).encode(layout));
            }
        }
    }

    #[test]
    fn ranges() {
        for layout in [ChunkKeyLayout::Bare, ChunkKeyLayout::Terminated] {
            let key = |ino, index| ChunkKey(ino, index).encode(layout);
            let r = ChunkKey::file_range(5);
            assert!(r.contains(&key(5, 0)));
            assert!(r.contains(&key(5, u64::MAX)));
            assert!(!r.contains(&key(4, u64::MAX)));
            assert!(!r.contains(&key(6, 0)));
            let r = ChunkKey::file_range_from(5, 10);
            assert!(!r.contains(&key(5, 9)));
            assert!(r.contains(&key(5, 10)));
            let r = ChunkKey::span(layout, 5, 10, 12);
            assert_eq!(r.start, key(5, 10));
            assert!(!r.contains(&key(5, 9)));
            assert!(r.contains(&key(5, 12)));
            assert!(!r.contains(&key(5, 13)));
            let r = ChunkKey::span(layout, 5, 10, u64::MAX);
            assert!(r.contains(&key(5, u64::MAX)));
            assert!(!r.contains(&key(6, 0)));
        }
        let r = DirCookieKey::dir_range_from(u64::MAX, 3);
        assert!(r.contains(&DirCookieKey(u64::MAX, u64::MAX).encode()));
        assert!(!r.contains(&DirCookieKey(u64::MAX, 2).encode()));
        let r = DirEntryKey::dir_range(9);
        assert!(r.contains(&DirEntryKey(9, Bytes::from_static(b"\xff\xff")).encode()));
        assert!(!r.contains(&DirEntryKey(10, Bytes::new()).encode()));
        let after = r.after(&DirEntryKey(9, Bytes::from_static(b"a")).encode());
        assert!(!after.contains(&DirEntryKey(9, Bytes::from_static(b"a")).encode()));
        assert!(after.contains(&DirEntryKey(9, Bytes::from_static(b"a\0")).encode()));
        assert!(InodeKey::all().contains(&InodeKey(u64::MAX).encode()));
        assert!(!InodeKey::all().contains(&SuperblockKey.encode()));
    }
}
