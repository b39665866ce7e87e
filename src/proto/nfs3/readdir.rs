//! Fitting directory entries into the client's size limits.
//!
//! RFC 1813 and the traps other servers fell into:
//! - READDIR `count` bounds the reply: here the whole `READDIR3res` (status included), which is
//!   slightly stricter than the `READDIR3resok` the RFC names.
//! - READDIRPLUS `maxcount` bounds the whole `READDIRPLUS3res` the same way; `dircount` bounds
//!   the directory information alone: for each entry its fileid (8), name (4 + padded length)
//!   and cookie (8) as encoded, without the attributes and handle (RFC 1813 3.3.17; the sum
//!   FreeBSD's and Ganesha's servers compute).
//! - Fixed overheads are subtracted with saturation: a tiny client value leaves room for no
//!   entry, never an underflow.
//! - Entries are taken in cookie order; after the first refusal every later entry is refused
//!   too, so the page stays contiguous and the next call resumes at the last cookie sent.
//! - A page is never empty without EOF: when the first entry does not fit, [`finish`] answers
//!   NFS3ERR_TOOSMALL instead.
//!
//! [`finish`]: ReaddirBuilder::finish

use super::results::{
    Dirlist3, Dirlistplus3, Nfs3Res, Readdir3Res, Readdir3ResOk, Readdirplus3Res, Readdirplus3ResOk,
};
use super::types::{post_op_attr_size, Cookieverf3, Entry3, Entryplus3, Nfsstat3, PostOpAttr};

/// Bytes of a READDIR / READDIRPLUS result that do not depend on the entries, besides the
/// directory's `post_op_attr`: status (4), cookieverf (8), the list's final `FALSE` (4) and
/// `eof` (4).
pub const DIRLIST_FIXED_OVERHEAD: usize = 4 + 8 + 4 + 4;

/// Whether an entry was added to a page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Push {
    /// The entry is in the page.
    Added,
    /// The entry (and every later one) does not fit: the page is full, EOF will be false.
    Refused,
}

/// Builds a READDIR result that respects the client's `count`.
#[derive(Debug, Clone)]
pub struct ReaddirBuilder<'a> {
    dir_attributes: PostOpAttr,
    entries: Vec<Entry3<'a>>,
    room: usize,
    refused: bool,
    header_fits: bool,
}

impl<'a> ReaddirBuilder<'a> {
    /// A page for a client that asked for at most `count` bytes. `dir_attributes` is part of
    /// the reply, so its size is reserved now.
    pub fn new(count: u32, dir_attributes: PostOpAttr) -> Self {
        let fixed = DIRLIST_FIXED_OVERHEAD + post_op_attr_size(&dir_attributes);
        ReaddirBuilder {
            dir_attributes,
            entries: Vec::new(),
            room: (count as usize).saturating_sub(fixed),
            refused: false,
            header_fits: count as usize >= fixed,
        }
    }

    /// Adds `entry` if it fits in what remains of `count`; refuses it (and all later ones)
    /// otherwise.
    pub fn push(&mut self, entry: Entry3<'a>) -> Push {
        let size = entry.wire_size();
        if self.refused || size > self.room {
            self.refused = true;
            return Push::Refused;
        }
        self.room -= size;
        self.entries.push(entry);
        Push::Added
    }

    /// Entries accepted so far.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Whether an entry was refused: the reply must not claim EOF.
    pub fn is_full(&self) -> bool {
        self.refused
    }

    /// Whether the reply must be NFS3ERR_TOOSMALL: an entry was refused and none was accepted,
    /// or the client's limit cannot hold even a reply without entries.
    pub fn is_too_small(&self) -> bool {
        (self.refused && self.entries.is_empty()) || !self.header_fits
    }

    /// Bytes still available for entries.
    pub fn remaining(&self) -> usize {
        self.room
    }

    /// The result. `eof` says whether the caller offered every entry up to the end of the
    /// directory; it is cleared when an entry was refused. With no entry accepted and one
    /// refused, the result is NFS3ERR_TOOSMALL (with the directory attributes).
    pub fn finish(self, cookieverf: Cookieverf3, eof: bool) -> Readdir3Res<'a> {
        if self.is_too_small() {
            return Nfs3Res::Fail(Nfsstat3::Toosmall, self.dir_attributes);
        }
        Nfs3Res::Ok(Readdir3ResOk {
            dir_attributes: self.dir_attributes,
            cookieverf,
            reply: Dirlist3 {
                entries: self.entries,
                eof: eof && !self.refused,
            },
        })
    }
}

/// Builds a READDIRPLUS result that respects the client's `dircount` and `maxcount`.
#[derive(Debug, Clone)]
pub struct ReaddirplusBuilder<'a> {
    dir_attributes: PostOpAttr,
    entries: Vec<Entryplus3<'a>>,
    room: usize,
    dir_room: usize,
    refused: bool,
    header_fits: bool,
}

impl<'a> ReaddirplusBuilder<'a> {
    /// A page for a client that asked for at most `dircount` bytes of directory information
    /// and `maxcount` bytes of reply.
    pub fn new(dircount: u32, maxcount: u32, dir_attributes: PostOpAttr) -> Self {
        let fixed = DIRLIST_FIXED_OVERHEAD + post_op_attr_size(&dir_attributes);
        ReaddirplusBuilder {
            dir_attributes,
            entries: Vec::new(),
            room: (maxcount as usize).saturating_sub(fixed),
            dir_room: dircount as usize,
            refused: false,
            header_fits: maxcount as usize >= fixed,
        }
    }

    /// Adds `entry` if it fits in what remains of both `dircount` and `maxcount`; refuses it
    /// (and all later ones) otherwise.
    pub fn push(&mut self, entry: Entryplus3<'a>) -> Push {
        let size = entry.wire_size();
        let dsize = entry.dircount_size();
        if self.refused || size > self.room || dsize > self.dir_room {
            self.refused = true;
            return Push::Refused;
        }
        self.room -= size;
        self.dir_room -= dsize;
        self.entries.push(entry);
        Push::Added
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Whether an entry was refused: the reply must not claim EOF.
    pub fn is_full(&self) -> bool {
        self.refused
    }

    /// Whether the reply must be NFS3ERR_TOOSMALL: an entry was refused and none was accepted,
    /// or the client's limit cannot hold even a reply without entries.
    pub fn is_too_small(&self) -> bool {
        (self.refused && self.entries.is_empty()) || !self.header_fits
    }

    /// Bytes still available for entries in `maxcount`.
    pub fn remaining(&self) -> usize {
        self.room
    }

    /// Bytes still available in `dircount`.
    pub fn remaining_dircount(&self) -> usize {
        self.dir_room
    }

    /// The result; see [`ReaddirBuilder::finish`].
    pub fn finish(self, cookieverf: Cookieverf3, eof: bool) -> Readdirplus3Res<'a> {
        if self.is_too_small() {
            return Nfs3Res::Fail(Nfsstat3::Toosmall, self.dir_attributes);
        }
        Nfs3Res::Ok(Readdirplus3ResOk {
            dir_attributes: self.dir_attributes,
            cookieverf,
            reply: Dirlistplus3 {
                entries: self.entries,
                eof: eof && !self.refused,
            },
        })
    }
}
