//! NFSv3 procedure arguments (RFC 1813 section 3.3) and the [`Nfs3Call`] dispatch enum.
//!
//! Decoding borrows: handles, names, symlink targets and WRITE data are slices of the argument
//! body, never copies. Bytes after the arguments are tolerated (as Linux's nfsd does).

use bytes::Bytes;

use crate::proto::xdr::{
    self, invalid, DecodeError, XdrDecode, XdrEncode, XdrResult, XdrSink, XdrWrite,
};

use super::consts::proc3;
use super::types::{
    xdr_struct, Cookieverf3, Createhow3, Diropargs3, Mknoddata3, NfsFh3, Nfstime3, Sattr3,
    StableHow, Symlinkdata3,
};

xdr_struct! {
    /// GETATTR3args.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub struct Getattr3Args<'a> {
        pub object: NfsFh3<'a>,
    }
}

xdr_struct! {
    /// SETATTR3args. `guard` is `sattrguard3`: when present, the server applies the change only
    /// if the object's ctime equals it (else NFS3ERR_NOT_SYNC).
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub struct Setattr3Args<'a> {
        pub object: NfsFh3<'a>,
        pub new_attributes: Sattr3,
        pub guard: Option<Nfstime3>,
    }
}

xdr_struct! {
    /// LOOKUP3args.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub struct Lookup3Args<'a> {
        pub what: Diropargs3<'a>,
    }
}

xdr_struct! {
    /// ACCESS3args: `access` is a mask of [`super::consts::access3`] bits.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub struct Access3Args<'a> {
        pub object: NfsFh3<'a>,
        pub access: u32,
    }
}

xdr_struct! {
    /// READLINK3args.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub struct Readlink3Args<'a> {
        pub symlink: NfsFh3<'a>,
    }
}

xdr_struct! {
    /// READ3args.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub struct Read3Args<'a> {
        pub file: NfsFh3<'a>,
        pub offset: u64,
        pub count: u32,
    }
}

/// WRITE3args. `data` borrows from the argument body (zero-copy); use
/// [`Write3Args::data_bytes`] to get it as a `Bytes` sharing the record's buffer.
///
/// Decoding requires `count == data.len()` (as Linux's nfsd does); a mismatch is
/// [`DecodeError::Invalid`] (GARBAGE_ARGS).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Write3Args<'a> {
    pub file: NfsFh3<'a>,
    pub offset: u64,
    pub count: u32,
    pub stable: StableHow,
    pub data: &'a [u8],
}

impl Write3Args<'_> {
    /// `data` as a zero-copy `Bytes` slice of `body`, the buffer the arguments were decoded
    /// from. `None` when `data` does not lie inside `body`.
    pub fn data_bytes(&self, body: &Bytes) -> Option<Bytes> {
        if self.data.is_empty() {
            return Some(Bytes::new());
        }
        let start = (self.data.as_ptr() as usize).checked_sub(body.as_ptr() as usize)?;
        let end = start.checked_add(self.data.len())?;
        if end > body.len() {
            return None;
        }
        Some(body.slice(start..end))
    }

    /// Encodes WRITE3args with the payload as a zero-copy segment of `out` (client mode).
    pub fn encode_with_payload(
        file: NfsFh3<'_>,
        offset: u64,
        stable: StableHow,
        data: Bytes,
        out: &mut XdrSink,
    ) {
        file.encode(out);
        out.put_xdr_u64(offset);
        out.put_xdr_u32(data.len() as u32);
        stable.encode(out);
        out.put_payload(data);
    }
}

impl XdrEncode for Write3Args<'_> {
    fn encode(&self, out: &mut XdrSink) {
        self.file.encode(out);
        out.put_xdr_u64(self.offset);
        out.put_xdr_u32(self.count);
        self.stable.encode(out);
        out.put_xdr_opaque_var(self.data);
    }
}

impl<'a> XdrDecode<'a> for Write3Args<'a> {
    fn decode(input: &'a [u8]) -> XdrResult<'a, Self> {
        let (rest, file) = NfsFh3::decode(input)?;
        let (rest, offset) = xdr::u64(rest)?;
        let (rest, count) = xdr::u32(rest)?;
        let (rest, stable) = StableHow::decode(rest)?;
        let (rest, data) = xdr::opaque_var(u32::MAX as usize)(rest)?;
        if data.len() != count as usize {
            return invalid(input);
        }
        Ok((
            rest,
            Write3Args {
                file,
                offset,
                count,
                stable,
                data,
            },
        ))
    }
}

xdr_struct! {
    /// CREATE3args.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub struct Create3Args<'a> {
        pub where_: Diropargs3<'a>,
        pub how: Createhow3,
    }
}

xdr_struct! {
    /// MKDIR3args.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub struct Mkdir3Args<'a> {
        pub where_: Diropargs3<'a>,
        pub attributes: Sattr3,
    }
}

xdr_struct! {
    /// SYMLINK3args.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub struct Symlink3Args<'a> {
        pub where_: Diropargs3<'a>,
        pub symlink: Symlinkdata3<'a>,
    }
}

xdr_struct! {
    /// MKNOD3args.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub struct Mknod3Args<'a> {
        pub where_: Diropargs3<'a>,
        pub what: Mknoddata3,
    }
}

xdr_struct! {
    /// REMOVE3args.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub struct Remove3Args<'a> {
        pub object: Diropargs3<'a>,
    }
}

xdr_struct! {
    /// RMDIR3args.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub struct Rmdir3Args<'a> {
        pub object: Diropargs3<'a>,
    }
}

xdr_struct! {
    /// RENAME3args.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub struct Rename3Args<'a> {
        pub from: Diropargs3<'a>,
        pub to: Diropargs3<'a>,
    }
}

xdr_struct! {
    /// LINK3args.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub struct Link3Args<'a> {
        pub file: NfsFh3<'a>,
        pub link: Diropargs3<'a>,
    }
}

xdr_struct! {
    /// READDIR3args: `count` bounds the whole reply.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub struct Readdir3Args<'a> {
        pub dir: NfsFh3<'a>,
        pub cookie: u64,
        pub cookieverf: Cookieverf3,
        pub count: u32,
    }
}

xdr_struct! {
    /// READDIRPLUS3args: `dircount` bounds fileids+names+cookies, `maxcount` the whole reply.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub struct Readdirplus3Args<'a> {
        pub dir: NfsFh3<'a>,
        pub cookie: u64,
        pub cookieverf: Cookieverf3,
        pub dircount: u32,
        pub maxcount: u32,
    }
}

xdr_struct! {
    /// FSSTAT3args.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub struct Fsstat3Args<'a> {
        pub fsroot: NfsFh3<'a>,
    }
}

xdr_struct! {
    /// FSINFO3args.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub struct Fsinfo3Args<'a> {
        pub fsroot: NfsFh3<'a>,
    }
}

xdr_struct! {
    /// PATHCONF3args.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub struct Pathconf3Args<'a> {
        pub object: NfsFh3<'a>,
    }
}

xdr_struct! {
    /// COMMIT3args: `count == 0` means from `offset` to the end of the file.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub struct Commit3Args<'a> {
        pub file: NfsFh3<'a>,
        pub offset: u64,
        pub count: u32,
    }
}

/// One decoded NFSv3 call: the procedure and its arguments.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Nfs3Call<'a> {
    Null,
    Getattr(Getattr3Args<'a>),
    Setattr(Setattr3Args<'a>),
    Lookup(Lookup3Args<'a>),
    Access(Access3Args<'a>),
    Readlink(Readlink3Args<'a>),
    Read(Read3Args<'a>),
    Write(Write3Args<'a>),
    Create(Create3Args<'a>),
    Mkdir(Mkdir3Args<'a>),
    Symlink(Symlink3Args<'a>),
    Mknod(Mknod3Args<'a>),
    Remove(Remove3Args<'a>),
    Rmdir(Rmdir3Args<'a>),
    Rename(Rename3Args<'a>),
    Link(Link3Args<'a>),
    Readdir(Readdir3Args<'a>),
    Readdirplus(Readdirplus3Args<'a>),
    Fsstat(Fsstat3Args<'a>),
    Fsinfo(Fsinfo3Args<'a>),
    Pathconf(Pathconf3Args<'a>),
    Commit(Commit3Args<'a>),
}

fn arg<'a, T: XdrDecode<'a>>(
    args: &'a [u8],
    wrap: impl FnOnce(T) -> Nfs3Call<'a>,
) -> Result<Nfs3Call<'a>, DecodeError> {
    xdr::decode_prefix::<T>(args).map(wrap)
}

impl<'a> Nfs3Call<'a> {
    /// Decodes the arguments of procedure `proc` from the call body `args`.
    ///
    /// Errors: [`DecodeError::UnknownProcedure`] for `proc > 21` (PROC_UNAVAIL); any other
    /// error means GARBAGE_ARGS. Trailing bytes after the arguments are ignored (RFC 1813 does
    /// not forbid them and Linux's nfsd tolerates them; RPCSEC_GSS and some clients pad).
    pub fn decode(proc: u32, args: &'a [u8]) -> Result<Nfs3Call<'a>, DecodeError> {
        match proc {
            proc3::NULL => Ok(Nfs3Call::Null),
            proc3::GETATTR => arg(args, Nfs3Call::Getattr),
            proc3::SETATTR => arg(args, Nfs3Call::Setattr),
            proc3::LOOKUP => arg(args, Nfs3Call::Lookup),
            proc3::ACCESS => arg(args, Nfs3Call::Access),
            proc3::READLINK => arg(args, Nfs3Call::Readlink),
            proc3::READ => arg(args, Nfs3Call::Read),
            proc3::WRITE => arg(args, Nfs3Call::Write),
            proc3::CREATE => arg(args, Nfs3Call::Create),
            proc3::MKDIR => arg(args, Nfs3Call::Mkdir),
            proc3::SYMLINK => arg(args, Nfs3Call::Symlink),
            proc3::MKNOD => arg(args, Nfs3Call::Mknod),
            proc3::REMOVE => arg(args, Nfs3Call::Remove),
            proc3::RMDIR => arg(args, Nfs3Call::Rmdir),
            proc3::RENAME => arg(args, Nfs3Call::Rename),
            proc3::LINK => arg(args, Nfs3Call::Link),
            proc3::READDIR => arg(args, Nfs3Call::Readdir),
            proc3::READDIRPLUS => arg(args, Nfs3Call::Readdirplus),
            proc3::FSSTAT => arg(args, Nfs3Call::Fsstat),
            proc3::FSINFO => arg(args, Nfs3Call::Fsinfo),
            proc3::PATHCONF => arg(args, Nfs3Call::Pathconf),
            proc3::COMMIT => arg(args, Nfs3Call::Commit),
            other => Err(DecodeError::UnknownProcedure(other)),
        }
    }

    /// The procedure number.
    pub fn proc_num(&self) -> u32 {
        match self {
            Nfs3Call::Null => proc3::NULL,
            Nfs3Call::Getattr(_) => proc3::GETATTR,
            Nfs3Call::Setattr(_) => proc3::SETATTR,
            Nfs3Call::Lookup(_) => proc3::LOOKUP,
            Nfs3Call::Access(_) => proc3::ACCESS,
            Nfs3Call::Readlink(_) => proc3::READLINK,
            Nfs3Call::Read(_) => proc3::READ,
            Nfs3Call::Write(_) => proc3::WRITE,
            Nfs3Call::Create(_) => proc3::CREATE,
            Nfs3Call::Mkdir(_) => proc3::MKDIR,
            Nfs3Call::Symlink(_) => proc3::SYMLINK,
            Nfs3Call::Mknod(_) => proc3::MKNOD,
            Nfs3Call::Remove(_) => proc3::REMOVE,
            Nfs3Call::Rmdir(_) => proc3::RMDIR,
            Nfs3Call::Rename(_) => proc3::RENAME,
            Nfs3Call::Link(_) => proc3::LINK,
            Nfs3Call::Readdir(_) => proc3::READDIR,
            Nfs3Call::Readdirplus(_) => proc3::READDIRPLUS,
            Nfs3Call::Fsstat(_) => proc3::FSSTAT,
            Nfs3Call::Fsinfo(_) => proc3::FSINFO,
            Nfs3Call::Pathconf(_) => proc3::PATHCONF,
            Nfs3Call::Commit(_) => proc3::COMMIT,
        }
    }

    /// The procedure name, as in RFC 1813.
    pub fn name(&self) -> &'static str {
        proc3::name(self.proc_num())
    }

    /// Whether a retransmission must be answered from the duplicate-request cache rather than
    /// run again (the non-idempotent procedures, and SETATTR with a guard).
    pub fn is_non_idempotent(&self) -> bool {
        match self {
            Nfs3Call::Create(_)
            | Nfs3Call::Mkdir(_)
            | Nfs3Call::Symlink(_)
            | Nfs3Call::Mknod(_)
            | Nfs3Call::Remove(_)
            | Nfs3Call::Rmdir(_)
            | Nfs3Call::Rename(_)
            | Nfs3Call::Link(_) => true,
            Nfs3Call::Setattr(a) => a.guard.is_some(),
            _ => false,
        }
    }
}

impl Nfs3Call<'_> {
    /// Whether the procedure changes the filesystem: what a read-only export refuses with
    /// NFS3ERR_ROFS (COMMIT included, as Linux's nfsd opens the file for writing).
    pub fn modifies(&self) -> bool {
        matches!(
            self,
            Nfs3Call::Setattr(_)
                | Nfs3Call::Write(_)
                | Nfs3Call::Create(_)
                | Nfs3Call::Mkdir(_)
                | Nfs3Call::Symlink(_)
                | Nfs3Call::Mknod(_)
                | Nfs3Call::Remove(_)
                | Nfs3Call::Rmdir(_)
                | Nfs3Call::Rename(_)
                | Nfs3Call::Link(_)
                | Nfs3Call::Commit(_)
        )
    }
}

/// Encodes the argument body (client mode); the procedure number goes in the RPC header.
impl XdrEncode for Nfs3Call<'_> {
    fn encode(&self, out: &mut XdrSink) {
        match self {
            Nfs3Call::Null => {}
            Nfs3Call::Getattr(a) => a.encode(out),
            Nfs3Call::Setattr(a) => a.encode(out),
            Nfs3Call::Lookup(a) => a.encode(out),
            Nfs3Call::Access(a) => a.encode(out),
            Nfs3Call::Readlink(a) => a.encode(out),
            Nfs3Call::Read(a) => a.encode(out),
            Nfs3Call::Write(a) => a.encode(out),
            Nfs3Call::Create(a) => a.encode(out),
            Nfs3Call::Mkdir(a) => a.encode(out),
            Nfs3Call::Symlink(a) => a.encode(out),
            Nfs3Call::Mknod(a) => a.encode(out),
            Nfs3Call::Remove(a) => a.encode(out),
            Nfs3Call::Rmdir(a) => a.encode(out),
            Nfs3Call::Rename(a) => a.encode(out),
            Nfs3Call::Link(a) => a.encode(out),
            Nfs3Call::Readdir(a) => a.encode(out),
            Nfs3Call::Readdirplus(a) => a.encode(out),
            Nfs3Call::Fsstat(a) => a.encode(out),
            Nfs3Call::Fsinfo(a) => a.encode(out),
            Nfs3Call::Pathconf(a) => a.encode(out),
            Nfs3Call::Commit(a) => a.encode(out),
        }
    }
}

impl Nfs3Call<'_> {
    /// Encodes the argument body (client mode): the same as [`XdrEncode::encode`].
    pub fn encode(&self, out: &mut XdrSink) {
        XdrEncode::encode(self, out);
    }
}
