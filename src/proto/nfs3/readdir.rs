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
//! [`finish`]: PageBuilder::finish

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

/// An entry of a READDIR or READDIRPLUS page: what it costs against the client's limits.
pub trait PageEntry {
    /// Bytes it takes in the reply.
    fn wire_size(&self) -> usize;
    /// Bytes it counts against READDIRPLUS `dircount` (READDIR has no such limit).
    fn dircount_size(&self) -> usize;
}

impl PageEntry for Entry3<'_> {
    fn wire_size(&self) -> usize {
        Entry3::wire_size(self)
    }
    fn dircount_size(&self) -> usize {
        0
    }
}

impl PageEntry for Entryplus3<'_> {
    fn wire_size(&self) -> usize {
        Entryplus3::wire_size(self)
    }
    fn dircount_size(&self) -> usize {
        Entryplus3::dircount_size(self)
    }
}

/// Builds a page of entries that respects the client's limits: the reply size (`count` or
/// `maxcount`) and, for READDIRPLUS, `dircount`.
#[derive(Debug, Clone)]
pub struct PageBuilder<E> {
    dir_attributes: PostOpAttr,
    entries: Vec<E>,
    room: usize,
    dir_room: usize,
    refused: bool,
    header_fits: bool,
}

/// A READDIR page.
pub type ReaddirBuilder<'a> = PageBuilder<Entry3<'a>>;
/// A READDIRPLUS page.
pub type ReaddirplusBuilder<'a> = PageBuilder<Entryplus3<'a>>;

impl<E: PageEntry> PageBuilder<E> {
    /// A page whose whole result may take `reply_limit` bytes and whose entries may count
    /// `dircount` bytes of directory information. `dir_attributes` is part of the reply, so
    /// its size is reserved now.
    fn with_limits(reply_limit: u32, dircount: usize, dir_attributes: PostOpAttr) -> Self {
        let fixed = DIRLIST_FIXED_OVERHEAD + post_op_attr_size(&dir_attributes);
        PageBuilder {
            dir_attributes,
            entries: Vec::new(),
            room: (reply_limit as usize).saturating_sub(fixed),
            dir_room: dircount,
            refused: false,
            header_fits: reply_limit as usize >= fixed,
        }
    }

    /// Adds `entry` if it fits in what remains of the limits; refuses it (and all later ones)
    /// otherwise.
    pub fn push(&mut self, entry: E) -> Push {
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

    /// Adds entries in order until one is refused.
    pub fn push_all(&mut self, entries: impl IntoIterator<Item = E>) {
        for e in entries {
            if self.push(e) == Push::Refused {
                break;
            }
        }
    }

    /// Entries accepted so far.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Whether the reply must be NFS3ERR_TOOSMALL: an entry was refused and none was accepted,
    /// or the client's limit cannot hold even a reply without entries.
    pub fn is_too_small(&self) -> bool {
        (self.refused && self.entries.is_empty()) || !self.header_fits
    }

    /// Bytes still available for entries in the reply.
    pub fn remaining(&self) -> usize {
        self.room
    }

    /// Bytes still available in `dircount`.
    pub fn remaining_dircount(&self) -> usize {
        self.dir_room
    }

    /// The page's parts for a result: its directory attributes, its entries and whether it
    /// ends the directory (`eof` says whether the caller offered every entry up to the end;
    /// cleared when one was refused), or NFS3ERR_TOOSMALL with the directory attributes.
    fn into_result(self, eof: bool) -> Result<(PostOpAttr, Vec<E>, bool), PostOpAttr> {
        if self.is_too_small() {
            return Err(self.dir_attributes);
        }
        let eof = eof && !self.refused;
        Ok((self.dir_attributes, self.entries, eof))
    }
}

impl<'a> PageBuilder<Entry3<'a>> {
    /// A READDIR page for a client that asked for at most `count` bytes.
    pub fn new(count: u32, dir_attributes: PostOpAttr) -> Self {
        Self::with_limits(count, usize::MAX, dir_attributes)
    }

    /// The result (see `into_result` for `eof` and NFS3ERR_TOOSMALL).
    pub fn finish(self, cookieverf: Cookieverf3, eof: bool) -> Readdir3Res<'a> {
        match self.into_result(eof) {
            Err(dir_attributes) => Nfs3Res::Fail(Nfsstat3::Toosmall, dir_attributes),
            Ok((dir_attributes, entries, eof)) => Nfs3Res::Ok(Readdir3ResOk {
                dir_attributes,
                cookieverf,
                reply: Dirlist3 { entries, eof },
            }),
        }
    }
}

impl<'a> PageBuilder<Entryplus3<'a>> {
    /// A READDIRPLUS page for a client that asked for at most `dircount` bytes of directory
    /// information and `maxcount` bytes of reply.
    pub fn new(dircount: u32, maxcount: u32, dir_attributes: PostOpAttr) -> Self {
        Self::with_limits(maxcount, dircount as usize, dir_attributes)
    }

    /// The result (see `into_result` for `eof` and NFS3ERR_TOOSMALL).
    pub fn finish(self, cookieverf: Cookieverf3, eof: bool) -> Readdirplus3Res<'a> {
        match self.into_result(eof) {
            Err(dir_attributes) => Nfs3Res::Fail(Nfsstat3::Toosmall, dir_attributes),
            Ok((dir_attributes, entries, eof)) => Nfs3Res::Ok(Readdirplus3ResOk {
                dir_attributes,
                cookieverf,
                reply: Dirlistplus3 { entries, eof },
            }),
        }
    }
}
