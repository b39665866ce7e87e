//! NFSv3 procedure results (RFC 1813 section 3.3) and the [`Nfs3Reply`] dispatch enum.
//!
//! Every `XXX3res` is a union on `nfsstat3`: [`Nfs3Res::Ok`] carries the `resok` arm,
//! [`Nfs3Res::Fail`] a non-OK status and the `resfail` arm (attributes / wcc data, or `()` for
//! GETATTR). Where an arm is a single field (`wcc_data`, `post_op_attr`) the arm *is* that type.

use bytes::Bytes;

use crate::proto::xdr::{
    self, linked_list, put_linked_list, DecodeError, XdrDecode, XdrEncode, XdrResult, XdrSink,
    XdrWrite,
};

use super::consts::proc3;
use super::types::{
    nfspath3, xdr_struct, Cookieverf3, Entry3, Entryplus3, Fattr3, NfsFh3, Nfsstat3, Nfstime3,
    PostOpAttr, PostOpFh3, StableHow, WccData, Writeverf3,
};

/// Most entries accepted when decoding a directory listing (client mode).
pub const MAX_DECODED_DIR_ENTRIES: usize = 1 << 20;

/// `XXX3res`: the status-discriminated result of a procedure.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Nfs3Res<T, F> {
    /// `NFS3_OK` and the `resok` arm.
    Ok(T),
    /// An error status (never [`Nfsstat3::Ok`]) and the `resfail` arm. Encoding a `Fail` with
    /// status OK writes NFS3ERR_SERVERFAULT instead, so the message stays well-formed.
    Fail(Nfsstat3, F),
}

impl<T, F> Nfs3Res<T, F> {
    /// The status on the wire.
    pub fn status(&self) -> Nfsstat3 {
        match self {
            Nfs3Res::Ok(_) => Nfsstat3::Ok,
            Nfs3Res::Fail(Nfsstat3::Ok, _) => Nfsstat3::Serverfault,
            Nfs3Res::Fail(s, _) => *s,
        }
    }

    pub fn is_ok(&self) -> bool {
        matches!(self, Nfs3Res::Ok(_))
    }

    /// The `resok` arm, if any.
    pub fn ok(&self) -> Option<&T> {
        match self {
            Nfs3Res::Ok(v) => Some(v),
            Nfs3Res::Fail(..) => None,
        }
    }
}

impl<T: XdrEncode, F: XdrEncode> XdrEncode for Nfs3Res<T, F> {
    #[inline]
    fn encode(&self, out: &mut XdrSink) {
        self.status().encode(out);
        match self {
            Nfs3Res::Ok(v) => v.encode(out),
            Nfs3Res::Fail(_, f) => f.encode(out),
        }
    }
}

impl<'a, T: XdrDecode<'a>, F: XdrDecode<'a>> XdrDecode<'a> for Nfs3Res<T, F> {
    #[inline]
    fn decode(input: &'a [u8]) -> XdrResult<'a, Self> {
        let (input, status) = Nfsstat3::decode(input)?;
        if status == Nfsstat3::Ok {
            let (input, v) = T::decode(input)?;
            Ok((input, Nfs3Res::Ok(v)))
        } else {
            let (input, f) = F::decode(input)?;
            Ok((input, Nfs3Res::Fail(status, f)))
        }
    }
}

xdr_struct! {
    /// GETATTR3resok.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub struct Getattr3ResOk {
        pub obj_attributes: Fattr3,
    }
}
/// GETATTR3res: the failure arm is void.
pub type Getattr3Res = Nfs3Res<Getattr3ResOk, ()>;

/// SETATTR3res: both arms are `obj_wcc`.
pub type Setattr3Res = Nfs3Res<WccData, WccData>;

xdr_struct! {
    /// LOOKUP3resok.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub struct Lookup3ResOk<'a> {
        pub object: NfsFh3<'a>,
        pub obj_attributes: PostOpAttr,
        pub dir_attributes: PostOpAttr,
    }
}
/// LOOKUP3res: the failure arm is `dir_attributes`.
pub type Lookup3Res<'a> = Nfs3Res<Lookup3ResOk<'a>, PostOpAttr>;

xdr_struct! {
    /// ACCESS3resok: `access` holds the granted [`super::consts::access3`] bits.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub struct Access3ResOk {
        pub obj_attributes: PostOpAttr,
        pub access: u32,
    }
}
/// ACCESS3res: the failure arm is `obj_attributes`.
pub type Access3Res = Nfs3Res<Access3ResOk, PostOpAttr>;

/// READLINK3resok.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Readlink3ResOk<'a> {
    pub symlink_attributes: PostOpAttr,
    /// `nfspath3`.
    pub data: &'a [u8],
}

impl XdrEncode for Readlink3ResOk<'_> {
    fn encode(&self, out: &mut XdrSink) {
        self.symlink_attributes.encode(out);
        out.put_xdr_opaque_var(self.data);
    }
}

impl<'a> XdrDecode<'a> for Readlink3ResOk<'a> {
    fn decode(input: &'a [u8]) -> XdrResult<'a, Self> {
        let (input, symlink_attributes) = PostOpAttr::decode(input)?;
        let (input, data) = nfspath3(input)?;
        Ok((
            input,
            Readlink3ResOk {
                symlink_attributes,
                data,
            },
        ))
    }
}
/// READLINK3res: the failure arm is `symlink_attributes`.
pub type Readlink3Res<'a> = Nfs3Res<Readlink3ResOk<'a>, PostOpAttr>;

/// READ3resok. `data` is written with [`XdrSink::put_payload`]: zero-copy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Read3ResOk {
    pub file_attributes: PostOpAttr,
    /// Bytes read: must equal `data.len()`.
    pub count: u32,
    pub eof: bool,
    pub data: Bytes,
}

impl XdrEncode for Read3ResOk {
    fn encode(&self, out: &mut XdrSink) {
        self.file_attributes.encode(out);
        out.put_xdr_u32(self.count);
        out.put_xdr_bool(self.eof);
        out.put_payload(self.data.clone());
    }
}

impl Read3ResOk {
    /// Decodes, with `data` a zero-copy slice of `body` when the input lies in it, else a copy.
    fn decode_in<'a>(body: Option<&Bytes>, input: &'a [u8]) -> XdrResult<'a, Self> {
        let (input, file_attributes) = PostOpAttr::decode(input)?;
        let (input, count) = xdr::u32(input)?;
        let (input, eof) = xdr::bool(input)?;
        let (input, data) = xdr::opaque_var(u32::MAX as usize)(input)?;
        let data = match body {
            Some(body) if !data.is_empty() && contains(body, data) => body.slice_ref(data),
            _ => Bytes::copy_from_slice(data),
        };
        Ok((
            input,
            Read3ResOk {
                file_attributes,
                count,
                eof,
                data,
            },
        ))
    }
}

fn contains(body: &Bytes, part: &[u8]) -> bool {
    let start = body.as_ptr() as usize;
    let p = part.as_ptr() as usize;
    p >= start && p.saturating_add(part.len()) <= start.saturating_add(body.len())
}

/// Decoding from a plain slice copies `data`; [`Nfs3Reply::decode`] slices it out of the
/// reply's `Bytes` instead.
impl<'a> XdrDecode<'a> for Read3ResOk {
    fn decode(input: &'a [u8]) -> XdrResult<'a, Self> {
        Read3ResOk::decode_in(None, input)
    }
}
/// READ3res: the failure arm is `file_attributes`.
pub type Read3Res = Nfs3Res<Read3ResOk, PostOpAttr>;

xdr_struct! {
    /// WRITE3resok.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub struct Write3ResOk {
        pub file_wcc: WccData,
        pub count: u32,
        pub committed: StableHow,
        pub verf: Writeverf3,
    }
}
/// WRITE3res: the failure arm is `file_wcc`.
pub type Write3Res = Nfs3Res<Write3ResOk, WccData>;

xdr_struct! {
    /// CREATE3resok, and MKDIR3resok, SYMLINK3resok, MKNOD3resok (the same layout).
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub struct Create3ResOk<'a> {
        pub obj: PostOpFh3<'a>,
        pub obj_attributes: PostOpAttr,
        pub dir_wcc: WccData,
    }
}
/// CREATE3res: the failure arm is `dir_wcc`.
pub type Create3Res<'a> = Nfs3Res<Create3ResOk<'a>, WccData>;
/// MKDIR3res.
pub type Mkdir3Res<'a> = Create3Res<'a>;
/// SYMLINK3res.
pub type Symlink3Res<'a> = Create3Res<'a>;
/// MKNOD3res.
pub type Mknod3Res<'a> = Create3Res<'a>;

/// REMOVE3res: both arms are `dir_wcc`.
pub type Remove3Res = Nfs3Res<WccData, WccData>;
/// RMDIR3res: both arms are `dir_wcc`.
pub type Rmdir3Res = Nfs3Res<WccData, WccData>;

xdr_struct! {
    /// RENAME3resok and RENAME3resfail (the same layout).
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
    pub struct Rename3Wcc {
        pub fromdir_wcc: WccData,
        pub todir_wcc: WccData,
    }
}
/// RENAME3res.
pub type Rename3Res = Nfs3Res<Rename3Wcc, Rename3Wcc>;

xdr_struct! {
    /// LINK3resok and LINK3resfail (the same layout).
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
    pub struct Link3Wcc {
        pub file_attributes: PostOpAttr,
        pub linkdir_wcc: WccData,
    }
}
/// LINK3res.
pub type Link3Res = Nfs3Res<Link3Wcc, Link3Wcc>;

/// `dirlist3`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Dirlist3<'a> {
    pub entries: Vec<Entry3<'a>>,
    pub eof: bool,
}

impl XdrEncode for Dirlist3<'_> {
    fn encode(&self, out: &mut XdrSink) {
        put_linked_list(out, &self.entries);
        out.put_xdr_bool(self.eof);
    }
}

impl<'a> XdrDecode<'a> for Dirlist3<'a> {
    fn decode(input: &'a [u8]) -> XdrResult<'a, Self> {
        let (input, entries) = linked_list(MAX_DECODED_DIR_ENTRIES, Entry3::decode)(input)?;
        let (input, eof) = xdr::bool(input)?;
        Ok((input, Dirlist3 { entries, eof }))
    }
}

xdr_struct! {
    /// READDIR3resok. Build it with [`super::ReaddirBuilder`] to respect `count`.
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub struct Readdir3ResOk<'a> {
        pub dir_attributes: PostOpAttr,
        pub cookieverf: Cookieverf3,
        pub reply: Dirlist3<'a>,
    }
}
/// READDIR3res: the failure arm is `dir_attributes`.
pub type Readdir3Res<'a> = Nfs3Res<Readdir3ResOk<'a>, PostOpAttr>;

/// `dirlistplus3`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Dirlistplus3<'a> {
    pub entries: Vec<Entryplus3<'a>>,
    pub eof: bool,
}

impl XdrEncode for Dirlistplus3<'_> {
    fn encode(&self, out: &mut XdrSink) {
        put_linked_list(out, &self.entries);
        out.put_xdr_bool(self.eof);
    }
}

impl<'a> XdrDecode<'a> for Dirlistplus3<'a> {
    fn decode(input: &'a [u8]) -> XdrResult<'a, Self> {
        let (input, entries) = linked_list(MAX_DECODED_DIR_ENTRIES, Entryplus3::decode)(input)?;
        let (input, eof) = xdr::bool(input)?;
        Ok((input, Dirlistplus3 { entries, eof }))
    }
}

xdr_struct! {
    /// READDIRPLUS3resok. Build it with [`super::ReaddirplusBuilder`] to respect `dircount`
    /// and `maxcount`.
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub struct Readdirplus3ResOk<'a> {
        pub dir_attributes: PostOpAttr,
        pub cookieverf: Cookieverf3,
        pub reply: Dirlistplus3<'a>,
    }
}
/// READDIRPLUS3res: the failure arm is `dir_attributes`.
pub type Readdirplus3Res<'a> = Nfs3Res<Readdirplus3ResOk<'a>, PostOpAttr>;

xdr_struct! {
    /// FSSTAT3resok.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub struct Fsstat3ResOk {
        pub obj_attributes: PostOpAttr,
        pub tbytes: u64,
        pub fbytes: u64,
        pub abytes: u64,
        pub tfiles: u64,
        pub ffiles: u64,
        pub afiles: u64,
        pub invarsec: u32,
    }
}
/// FSSTAT3res: the failure arm is `obj_attributes`.
pub type Fsstat3Res = Nfs3Res<Fsstat3ResOk, PostOpAttr>;

xdr_struct! {
    /// FSINFO3resok. `properties` holds [`super::consts::fsf3`] bits.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub struct Fsinfo3ResOk {
        pub obj_attributes: PostOpAttr,
        pub rtmax: u32,
        pub rtpref: u32,
        pub rtmult: u32,
        pub wtmax: u32,
        pub wtpref: u32,
        pub wtmult: u32,
        pub dtpref: u32,
        pub maxfilesize: u64,
        pub time_delta: Nfstime3,
        pub properties: u32,
    }
}
/// FSINFO3res: the failure arm is `obj_attributes`.
pub type Fsinfo3Res = Nfs3Res<Fsinfo3ResOk, PostOpAttr>;

xdr_struct! {
    /// PATHCONF3resok.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub struct Pathconf3ResOk {
        pub obj_attributes: PostOpAttr,
        pub linkmax: u32,
        pub name_max: u32,
        pub no_trunc: bool,
        pub chown_restricted: bool,
        pub case_insensitive: bool,
        pub case_preserving: bool,
    }
}
/// PATHCONF3res: the failure arm is `obj_attributes`.
pub type Pathconf3Res = Nfs3Res<Pathconf3ResOk, PostOpAttr>;

xdr_struct! {
    /// COMMIT3resok.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub struct Commit3ResOk {
        pub file_wcc: WccData,
        pub verf: Writeverf3,
    }
}
/// COMMIT3res: the failure arm is `file_wcc`.
pub type Commit3Res = Nfs3Res<Commit3ResOk, WccData>;

/// The result of one NFSv3 procedure: the reply body after the RPC accepted-reply header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Nfs3Reply<'a> {
    Null,
    Getattr(Getattr3Res),
    Setattr(Setattr3Res),
    Lookup(Lookup3Res<'a>),
    Access(Access3Res),
    Readlink(Readlink3Res<'a>),
    Read(Read3Res),
    Write(Write3Res),
    Create(Create3Res<'a>),
    Mkdir(Mkdir3Res<'a>),
    Symlink(Symlink3Res<'a>),
    Mknod(Mknod3Res<'a>),
    Remove(Remove3Res),
    Rmdir(Rmdir3Res),
    Rename(Rename3Res),
    Link(Link3Res),
    Readdir(Readdir3Res<'a>),
    Readdirplus(Readdirplus3Res<'a>),
    Fsstat(Fsstat3Res),
    Fsinfo(Fsinfo3Res),
    Pathconf(Pathconf3Res),
    Commit(Commit3Res),
}

impl XdrEncode for Nfs3Reply<'_> {
    fn encode(&self, out: &mut XdrSink) {
        match self {
            Nfs3Reply::Null => {}
            Nfs3Reply::Getattr(r) => r.encode(out),
            Nfs3Reply::Setattr(r) => r.encode(out),
            Nfs3Reply::Lookup(r) => r.encode(out),
            Nfs3Reply::Access(r) => r.encode(out),
            Nfs3Reply::Readlink(r) => r.encode(out),
            Nfs3Reply::Read(r) => r.encode(out),
            Nfs3Reply::Write(r) => r.encode(out),
            Nfs3Reply::Create(r) => r.encode(out),
            Nfs3Reply::Mkdir(r) => r.encode(out),
            Nfs3Reply::Symlink(r) => r.encode(out),
            Nfs3Reply::Mknod(r) => r.encode(out),
            Nfs3Reply::Remove(r) => r.encode(out),
            Nfs3Reply::Rmdir(r) => r.encode(out),
            Nfs3Reply::Rename(r) => r.encode(out),
            Nfs3Reply::Link(r) => r.encode(out),
            Nfs3Reply::Readdir(r) => r.encode(out),
            Nfs3Reply::Readdirplus(r) => r.encode(out),
            Nfs3Reply::Fsstat(r) => r.encode(out),
            Nfs3Reply::Fsinfo(r) => r.encode(out),
            Nfs3Reply::Pathconf(r) => r.encode(out),
            Nfs3Reply::Commit(r) => r.encode(out),
        }
    }
}

fn res<'a, T: XdrDecode<'a>>(
    body: &'a [u8],
    wrap: impl FnOnce(T) -> Nfs3Reply<'a>,
) -> Result<Nfs3Reply<'a>, DecodeError> {
    xdr::decode_prefix::<T>(body).map(wrap)
}

impl<'a> Nfs3Reply<'a> {
    /// Decodes the result of procedure `proc` (client mode). READ data is a zero-copy slice of
    /// `body`. Trailing bytes are ignored.
    pub fn decode(proc: u32, body: &'a Bytes) -> Result<Nfs3Reply<'a>, DecodeError> {
        Self::decode_inner(proc, body, Some(body))
    }

    /// Like [`Nfs3Reply::decode`] from a plain slice: READ data is copied.
    pub fn decode_slice(proc: u32, body: &'a [u8]) -> Result<Nfs3Reply<'a>, DecodeError> {
        Self::decode_inner(proc, body, None)
    }

    fn decode_inner(
        proc: u32,
        body: &'a [u8],
        owner: Option<&Bytes>,
    ) -> Result<Nfs3Reply<'a>, DecodeError> {
        match proc {
            proc3::NULL => Ok(Nfs3Reply::Null),
            proc3::GETATTR => res(body, Nfs3Reply::Getattr),
            proc3::SETATTR => res(body, Nfs3Reply::Setattr),
            proc3::LOOKUP => res(body, Nfs3Reply::Lookup),
            proc3::ACCESS => res(body, Nfs3Reply::Access),
            proc3::READLINK => res(body, Nfs3Reply::Readlink),
            proc3::READ => {
                let (input, status) = Nfsstat3::decode(body)?;
                let r = if status == Nfsstat3::Ok {
                    let (_, ok) = Read3ResOk::decode_in(owner, input)?;
                    Nfs3Res::Ok(ok)
                } else {
                    Nfs3Res::Fail(status, xdr::decode_prefix::<PostOpAttr>(input)?)
                };
                Ok(Nfs3Reply::Read(r))
            }
            proc3::WRITE => res(body, Nfs3Reply::Write),
            proc3::CREATE => res(body, Nfs3Reply::Create),
            proc3::MKDIR => res(body, Nfs3Reply::Mkdir),
            proc3::SYMLINK => res(body, Nfs3Reply::Symlink),
            proc3::MKNOD => res(body, Nfs3Reply::Mknod),
            proc3::REMOVE => res(body, Nfs3Reply::Remove),
            proc3::RMDIR => res(body, Nfs3Reply::Rmdir),
            proc3::RENAME => res(body, Nfs3Reply::Rename),
            proc3::LINK => res(body, Nfs3Reply::Link),
            proc3::READDIR => res(body, Nfs3Reply::Readdir),
            proc3::READDIRPLUS => res(body, Nfs3Reply::Readdirplus),
            proc3::FSSTAT => res(body, Nfs3Reply::Fsstat),
            proc3::FSINFO => res(body, Nfs3Reply::Fsinfo),
            proc3::PATHCONF => res(body, Nfs3Reply::Pathconf),
            proc3::COMMIT => res(body, Nfs3Reply::Commit),
            other => Err(DecodeError::UnknownProcedure(other)),
        }
    }

    /// The procedure number this result answers.
    pub fn proc_num(&self) -> u32 {
        match self {
            Nfs3Reply::Null => proc3::NULL,
            Nfs3Reply::Getattr(_) => proc3::GETATTR,
            Nfs3Reply::Setattr(_) => proc3::SETATTR,
            Nfs3Reply::Lookup(_) => proc3::LOOKUP,
            Nfs3Reply::Access(_) => proc3::ACCESS,
            Nfs3Reply::Readlink(_) => proc3::READLINK,
            Nfs3Reply::Read(_) => proc3::READ,
            Nfs3Reply::Write(_) => proc3::WRITE,
            Nfs3Reply::Create(_) => proc3::CREATE,
            Nfs3Reply::Mkdir(_) => proc3::MKDIR,
            Nfs3Reply::Symlink(_) => proc3::SYMLINK,
            Nfs3Reply::Mknod(_) => proc3::MKNOD,
            Nfs3Reply::Remove(_) => proc3::REMOVE,
            Nfs3Reply::Rmdir(_) => proc3::RMDIR,
            Nfs3Reply::Rename(_) => proc3::RENAME,
            Nfs3Reply::Link(_) => proc3::LINK,
            Nfs3Reply::Readdir(_) => proc3::READDIR,
            Nfs3Reply::Readdirplus(_) => proc3::READDIRPLUS,
            Nfs3Reply::Fsstat(_) => proc3::FSSTAT,
            Nfs3Reply::Fsinfo(_) => proc3::FSINFO,
            Nfs3Reply::Pathconf(_) => proc3::PATHCONF,
            Nfs3Reply::Commit(_) => proc3::COMMIT,
        }
    }

    /// The status on the wire (`Ok` for NULL).
    pub fn status(&self) -> Nfsstat3 {
        match self {
            Nfs3Reply::Null => Nfsstat3::Ok,
            Nfs3Reply::Getattr(r) => r.status(),
            Nfs3Reply::Setattr(r) => r.status(),
            Nfs3Reply::Lookup(r) => r.status(),
            Nfs3Reply::Access(r) => r.status(),
            Nfs3Reply::Readlink(r) => r.status(),
            Nfs3Reply::Read(r) => r.status(),
            Nfs3Reply::Write(r) => r.status(),
            Nfs3Reply::Create(r) => r.status(),
            Nfs3Reply::Mkdir(r) => r.status(),
            Nfs3Reply::Symlink(r) => r.status(),
            Nfs3Reply::Mknod(r) => r.status(),
            Nfs3Reply::Remove(r) => r.status(),
            Nfs3Reply::Rmdir(r) => r.status(),
            Nfs3Reply::Rename(r) => r.status(),
            Nfs3Reply::Link(r) => r.status(),
            Nfs3Reply::Readdir(r) => r.status(),
            Nfs3Reply::Readdirplus(r) => r.status(),
            Nfs3Reply::Fsstat(r) => r.status(),
            Nfs3Reply::Fsinfo(r) => r.status(),
            Nfs3Reply::Pathconf(r) => r.status(),
            Nfs3Reply::Commit(r) => r.status(),
        }
    }
}
