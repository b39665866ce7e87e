//! NFSv3 data types (RFC 1813 section 2.5 and 2.6) with their exact XDR layout.
//!
//! Variable-length data (handles, names, paths) borrows from the decoded input: `&'a [u8]`.
//! Bool-discriminated unions (`post_op_attr`, `pre_op_attr`, `post_op_fh3`, `set_mode3`, ...)
//! are `Option<T>`, whose [`XdrEncode`] / [`XdrDecode`] is exactly that union.

use crate::proto::xdr::{self, invalid, XdrDecode, XdrEncode, XdrResult, XdrSink, XdrWrite};

use super::consts::{NFS3_FHSIZE, NFS3_NAME_DECODE_MAX, NFS3_PATH_DECODE_MAX};

/// Defines a `u32` XDR enum with `from_u32`, `ALL`, and its XDR encoding and decoding (an
/// undefined value is a decoding error).
macro_rules! xdr_enum {
    ($(#[$meta:meta])* pub enum $name:ident { $($(#[$vmeta:meta])* $variant:ident = $value:expr,)+ }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        #[repr(u32)]
        pub enum $name {
            $($(#[$vmeta])* $variant = $value,)+
        }

        impl $name {
            /// Every value, in definition order.
            pub const ALL: &'static [$name] = &[$($name::$variant,)+];

            /// The value with wire number `v`, if defined.
            pub const fn from_u32(v: u32) -> Option<Self> {
                match v {
                    $($value => Some($name::$variant),)+
                    _ => None,
                }
            }

            /// The wire number.
            #[inline]
            pub const fn as_u32(self) -> u32 {
                self as u32
            }
        }

        impl $crate::proto::xdr::XdrEncode for $name {
            #[inline]
            fn encode(&self, out: &mut $crate::proto::xdr::XdrSink) {
                $crate::proto::xdr::XdrWrite::put_xdr_u32(out, *self as u32);
            }
        }

        impl<'a> $crate::proto::xdr::XdrDecode<'a> for $name {
            #[inline]
            fn decode(input: &'a [u8]) -> $crate::proto::xdr::XdrResult<'a, Self> {
                let (rest, v) = $crate::proto::xdr::u32(input)?;
                match $name::from_u32(v) {
                    Some(e) => Ok((rest, e)),
                    None => $crate::proto::xdr::invalid(input),
                }
            }
        }
    };
}
pub(crate) use xdr_enum;

xdr_enum! {
    /// `nfsstat3`: every status code of RFC 1813.
    pub enum Nfsstat3 {
        Ok = 0,
        Perm = 1,
        Noent = 2,
        Io = 5,
        Nxio = 6,
        Acces = 13,
        Exist = 17,
        Xdev = 18,
        Nodev = 19,
        Notdir = 20,
        Isdir = 21,
        Inval = 22,
        Fbig = 27,
        Nospc = 28,
        Rofs = 30,
        Mlink = 31,
        Nametoolong = 63,
        Notempty = 66,
        Dquot = 69,
        Stale = 70,
        Remote = 71,
        Badhandle = 10001,
        NotSync = 10002,
        BadCookie = 10003,
        Notsupp = 10004,
        Toosmall = 10005,
        Serverfault = 10006,
        Badtype = 10007,
        Jukebox = 10008,
    }
}

xdr_enum! {
    /// `ftype3`.
    pub enum Ftype3 {
        Reg = 1,
        Dir = 2,
        Blk = 3,
        Chr = 4,
        Lnk = 5,
        Sock = 6,
        Fifo = 7,
    }
}

xdr_enum! {
    /// `stable_how`.
    pub enum StableHow {
        Unstable = 0,
        DataSync = 1,
        FileSync = 2,
    }
}

/// `cookieverf3`.
pub type Cookieverf3 = [u8; 8];
/// `createverf3`.
pub type Createverf3 = [u8; 8];
/// `writeverf3`.
pub type Writeverf3 = [u8; 8];

/// Decodes a `filename3`, bounded by [`NFS3_NAME_DECODE_MAX`].
#[inline]
pub fn filename3(input: &[u8]) -> XdrResult<'_, &[u8]> {
    xdr::string(NFS3_NAME_DECODE_MAX)(input)
}

/// Decodes an `nfspath3`, bounded by [`NFS3_PATH_DECODE_MAX`].
#[inline]
pub fn nfspath3(input: &[u8]) -> XdrResult<'_, &[u8]> {
    xdr::string(NFS3_PATH_DECODE_MAX)(input)
}

/// `specdata3`: device numbers (major, minor) of a block or character device.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Specdata3 {
    pub specdata1: u32,
    pub specdata2: u32,
}

impl XdrEncode for Specdata3 {
    #[inline]
    fn encode(&self, out: &mut XdrSink) {
        out.put_xdr_u32(self.specdata1);
        out.put_xdr_u32(self.specdata2);
    }
}

impl<'a> XdrDecode<'a> for Specdata3 {
    #[inline]
    fn decode(input: &'a [u8]) -> XdrResult<'a, Self> {
        let (input, specdata1) = xdr::u32(input)?;
        let (input, specdata2) = xdr::u32(input)?;
        Ok((
            input,
            Specdata3 {
                specdata1,
                specdata2,
            },
        ))
    }
}

/// `nfs_fh3`: `opaque data<NFS3_FHSIZE>`, borrowed. Decoding rejects handles over 64 bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct NfsFh3<'a>(pub &'a [u8]);

impl<'a> NfsFh3<'a> {
    #[inline]
    pub fn as_bytes(&self) -> &'a [u8] {
        self.0
    }
}

impl XdrEncode for NfsFh3<'_> {
    #[inline]
    fn encode(&self, out: &mut XdrSink) {
        out.put_xdr_opaque_var(self.0);
    }
}

impl<'a> XdrDecode<'a> for NfsFh3<'a> {
    #[inline]
    fn decode(input: &'a [u8]) -> XdrResult<'a, Self> {
        let (rest, data) = xdr::opaque_var(NFS3_FHSIZE)(input)?;
        Ok((rest, NfsFh3(data)))
    }
}

/// `nfstime3`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, PartialOrd, Ord)]
pub struct Nfstime3 {
    pub seconds: u32,
    pub nseconds: u32,
}

impl XdrEncode for Nfstime3 {
    #[inline]
    fn encode(&self, out: &mut XdrSink) {
        out.put_xdr_u32(self.seconds);
        out.put_xdr_u32(self.nseconds);
    }
}

impl<'a> XdrDecode<'a> for Nfstime3 {
    #[inline]
    fn decode(input: &'a [u8]) -> XdrResult<'a, Self> {
        let (input, seconds) = xdr::u32(input)?;
        let (input, nseconds) = xdr::u32(input)?;
        Ok((input, Nfstime3 { seconds, nseconds }))
    }
}

/// `fattr3`: 84 bytes on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Fattr3 {
    pub ftype: Ftype3,
    pub mode: u32,
    pub nlink: u32,
    pub uid: u32,
    pub gid: u32,
    pub size: u64,
    pub used: u64,
    pub rdev: Specdata3,
    pub fsid: u64,
    pub fileid: u64,
    pub atime: Nfstime3,
    pub mtime: Nfstime3,
    pub ctime: Nfstime3,
}

impl Fattr3 {
    /// Size of an encoded `fattr3`.
    pub const WIRE_SIZE: usize = 84;
}

impl XdrEncode for Fattr3 {
    #[inline]
    fn encode(&self, out: &mut XdrSink) {
        let h = out.head_mut();
        h.reserve(Self::WIRE_SIZE);
        h.put_xdr_u32(self.ftype as u32);
        h.put_xdr_u32(self.mode);
        h.put_xdr_u32(self.nlink);
        h.put_xdr_u32(self.uid);
        h.put_xdr_u32(self.gid);
        h.put_xdr_u64(self.size);
        h.put_xdr_u64(self.used);
        h.put_xdr_u32(self.rdev.specdata1);
        h.put_xdr_u32(self.rdev.specdata2);
        h.put_xdr_u64(self.fsid);
        h.put_xdr_u64(self.fileid);
        h.put_xdr_u32(self.atime.seconds);
        h.put_xdr_u32(self.atime.nseconds);
        h.put_xdr_u32(self.mtime.seconds);
        h.put_xdr_u32(self.mtime.nseconds);
        h.put_xdr_u32(self.ctime.seconds);
        h.put_xdr_u32(self.ctime.nseconds);
    }
}

impl<'a> XdrDecode<'a> for Fattr3 {
    fn decode(input: &'a [u8]) -> XdrResult<'a, Self> {
        let (input, ftype) = Ftype3::decode(input)?;
        let (input, mode) = xdr::u32(input)?;
        let (input, nlink) = xdr::u32(input)?;
        let (input, uid) = xdr::u32(input)?;
        let (input, gid) = xdr::u32(input)?;
        let (input, size) = xdr::u64(input)?;
        let (input, used) = xdr::u64(input)?;
        let (input, rdev) = Specdata3::decode(input)?;
        let (input, fsid) = xdr::u64(input)?;
        let (input, fileid) = xdr::u64(input)?;
        let (input, atime) = Nfstime3::decode(input)?;
        let (input, mtime) = Nfstime3::decode(input)?;
        let (input, ctime) = Nfstime3::decode(input)?;
        Ok((
            input,
            Fattr3 {
                ftype,
                mode,
                nlink,
                uid,
                gid,
                size,
                used,
                rdev,
                fsid,
                fileid,
                atime,
                mtime,
                ctime,
            },
        ))
    }
}

/// `post_op_attr`.
pub type PostOpAttr = Option<Fattr3>;

/// Encoded size of a `post_op_attr`.
#[inline]
pub const fn post_op_attr_size(attr: &PostOpAttr) -> usize {
    match attr {
        Some(_) => 4 + Fattr3::WIRE_SIZE,
        None => 4,
    }
}

/// `wcc_attr`: the attributes of `pre_op_attr`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct WccAttr {
    pub size: u64,
    pub mtime: Nfstime3,
    pub ctime: Nfstime3,
}

impl XdrEncode for WccAttr {
    #[inline]
    fn encode(&self, out: &mut XdrSink) {
        out.put_xdr_u64(self.size);
        self.mtime.encode(out);
        self.ctime.encode(out);
    }
}

impl<'a> XdrDecode<'a> for WccAttr {
    #[inline]
    fn decode(input: &'a [u8]) -> XdrResult<'a, Self> {
        let (input, size) = xdr::u64(input)?;
        let (input, mtime) = Nfstime3::decode(input)?;
        let (input, ctime) = Nfstime3::decode(input)?;
        Ok((input, WccAttr { size, mtime, ctime }))
    }
}

impl From<&Fattr3> for WccAttr {
    fn from(a: &Fattr3) -> Self {
        WccAttr {
            size: a.size,
            mtime: a.mtime,
            ctime: a.ctime,
        }
    }
}

/// `pre_op_attr`.
pub type PreOpAttr = Option<WccAttr>;

/// `wcc_data`: weak cache consistency data. Send `before: None` unless the pre-operation
/// attributes were captured atomically with the change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct WccData {
    pub before: PreOpAttr,
    pub after: PostOpAttr,
}

impl XdrEncode for WccData {
    #[inline]
    fn encode(&self, out: &mut XdrSink) {
        self.before.encode(out);
        self.after.encode(out);
    }
}

impl<'a> XdrDecode<'a> for WccData {
    #[inline]
    fn decode(input: &'a [u8]) -> XdrResult<'a, Self> {
        let (input, before) = PreOpAttr::decode(input)?;
        let (input, after) = PostOpAttr::decode(input)?;
        Ok((input, WccData { before, after }))
    }
}

/// `post_op_fh3`.
pub type PostOpFh3<'a> = Option<NfsFh3<'a>>;

/// Encoded size of a `post_op_fh3`.
#[inline]
pub const fn post_op_fh3_size(fh: &PostOpFh3<'_>) -> usize {
    match fh {
        Some(fh) => 4 + 4 + xdr::padded_len(fh.0.len()),
        None => 4,
    }
}

/// `set_atime` / `set_mtime` (discriminated by `time_how`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum SetTime {
    /// `DONT_CHANGE` (0).
    #[default]
    DontChange,
    /// `SET_TO_SERVER_TIME` (1).
    ServerTime,
    /// `SET_TO_CLIENT_TIME` (2) with the time.
    ClientTime(Nfstime3),
}

impl SetTime {
    pub const DONT_CHANGE: u32 = 0;
    pub const SET_TO_SERVER_TIME: u32 = 1;
    pub const SET_TO_CLIENT_TIME: u32 = 2;
}

impl XdrEncode for SetTime {
    #[inline]
    fn encode(&self, out: &mut XdrSink) {
        match self {
            SetTime::DontChange => out.put_xdr_u32(Self::DONT_CHANGE),
            SetTime::ServerTime => out.put_xdr_u32(Self::SET_TO_SERVER_TIME),
            SetTime::ClientTime(t) => {
                out.put_xdr_u32(Self::SET_TO_CLIENT_TIME);
                t.encode(out);
            }
        }
    }
}

impl<'a> XdrDecode<'a> for SetTime {
    #[inline]
    fn decode(input: &'a [u8]) -> XdrResult<'a, Self> {
        let (rest, how) = xdr::u32(input)?;
        match how {
            Self::DONT_CHANGE => Ok((rest, SetTime::DontChange)),
            Self::SET_TO_SERVER_TIME => Ok((rest, SetTime::ServerTime)),
            Self::SET_TO_CLIENT_TIME => {
                let (rest, t) = Nfstime3::decode(rest)?;
                Ok((rest, SetTime::ClientTime(t)))
            }
            _ => invalid(input),
        }
    }
}

/// `sattr3`: attributes to set; `None` means `set_it = FALSE` (leave unchanged).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Sattr3 {
    /// `set_mode3`.
    pub mode: Option<u32>,
    /// `set_uid3`.
    pub uid: Option<u32>,
    /// `set_gid3`.
    pub gid: Option<u32>,
    /// `set_size3`.
    pub size: Option<u64>,
    /// `set_atime`.
    pub atime: SetTime,
    /// `set_mtime`.
    pub mtime: SetTime,
}

impl XdrEncode for Sattr3 {
    #[inline]
    fn encode(&self, out: &mut XdrSink) {
        self.mode.encode(out);
        self.uid.encode(out);
        self.gid.encode(out);
        self.size.encode(out);
        self.atime.encode(out);
        self.mtime.encode(out);
    }
}

impl<'a> XdrDecode<'a> for Sattr3 {
    fn decode(input: &'a [u8]) -> XdrResult<'a, Self> {
        let (input, mode) = Option::<u32>::decode(input)?;
        let (input, uid) = Option::<u32>::decode(input)?;
        let (input, gid) = Option::<u32>::decode(input)?;
        let (input, size) = Option::<u64>::decode(input)?;
        let (input, atime) = SetTime::decode(input)?;
        let (input, mtime) = SetTime::decode(input)?;
        Ok((
            input,
            Sattr3 {
                mode,
                uid,
                gid,
                size,
                atime,
                mtime,
            },
        ))
    }
}

/// `diropargs3`: a directory and a name in it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Diropargs3<'a> {
    pub dir: NfsFh3<'a>,
    /// `filename3`, bytes (not necessarily UTF-8), at most [`NFS3_NAME_DECODE_MAX`] decoded.
    pub name: &'a [u8],
}

impl XdrEncode for Diropargs3<'_> {
    #[inline]
    fn encode(&self, out: &mut XdrSink) {
        self.dir.encode(out);
        out.put_xdr_opaque_var(self.name);
    }
}

impl<'a> XdrDecode<'a> for Diropargs3<'a> {
    #[inline]
    fn decode(input: &'a [u8]) -> XdrResult<'a, Self> {
        let (input, dir) = NfsFh3::decode(input)?;
        let (input, name) = filename3(input)?;
        Ok((input, Diropargs3 { dir, name }))
    }
}

/// `createhow3`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Createhow3 {
    /// `UNCHECKED` (0).
    Unchecked(Sattr3),
    /// `GUARDED` (1).
    Guarded(Sattr3),
    /// `EXCLUSIVE` (2): the verifier to store with the file (a retransmission with the same
    /// verifier succeeds).
    Exclusive(Createverf3),
}

impl Createhow3 {
    pub const UNCHECKED: u32 = 0;
    pub const GUARDED: u32 = 1;
    pub const EXCLUSIVE: u32 = 2;
}

impl XdrEncode for Createhow3 {
    #[inline]
    fn encode(&self, out: &mut XdrSink) {
        match self {
            Createhow3::Unchecked(a) => {
                out.put_xdr_u32(Self::UNCHECKED);
                a.encode(out);
            }
            Createhow3::Guarded(a) => {
                out.put_xdr_u32(Self::GUARDED);
                a.encode(out);
            }
            Createhow3::Exclusive(v) => {
                out.put_xdr_u32(Self::EXCLUSIVE);
                v.encode(out);
            }
        }
    }
}

impl<'a> XdrDecode<'a> for Createhow3 {
    fn decode(input: &'a [u8]) -> XdrResult<'a, Self> {
        let (rest, mode) = xdr::u32(input)?;
        match mode {
            Self::UNCHECKED => {
                let (rest, a) = Sattr3::decode(rest)?;
                Ok((rest, Createhow3::Unchecked(a)))
            }
            Self::GUARDED => {
                let (rest, a) = Sattr3::decode(rest)?;
                Ok((rest, Createhow3::Guarded(a)))
            }
            Self::EXCLUSIVE => {
                let (rest, v) = Createverf3::decode(rest)?;
                Ok((rest, Createhow3::Exclusive(v)))
            }
            _ => invalid(input),
        }
    }
}

/// `devicedata3`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Devicedata3 {
    pub dev_attributes: Sattr3,
    pub spec: Specdata3,
}

impl XdrEncode for Devicedata3 {
    #[inline]
    fn encode(&self, out: &mut XdrSink) {
        self.dev_attributes.encode(out);
        self.spec.encode(out);
    }
}

impl<'a> XdrDecode<'a> for Devicedata3 {
    #[inline]
    fn decode(input: &'a [u8]) -> XdrResult<'a, Self> {
        let (input, dev_attributes) = Sattr3::decode(input)?;
        let (input, spec) = Specdata3::decode(input)?;
        Ok((
            input,
            Devicedata3 {
                dev_attributes,
                spec,
            },
        ))
    }
}

/// `mknoddata3`, discriminated by `ftype3`. REG, DIR and LNK carry nothing (the union's
/// `default: void`); the server answers them with NFS3ERR_BADTYPE.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Mknoddata3 {
    Chr(Devicedata3),
    Blk(Devicedata3),
    Sock(Sattr3),
    Fifo(Sattr3),
    Reg,
    Dir,
    Lnk,
}

impl Mknoddata3 {
    /// The type of object to create.
    pub fn ftype(&self) -> Ftype3 {
        match self {
            Mknoddata3::Chr(_) => Ftype3::Chr,
            Mknoddata3::Blk(_) => Ftype3::Blk,
            Mknoddata3::Sock(_) => Ftype3::Sock,
            Mknoddata3::Fifo(_) => Ftype3::Fifo,
            Mknoddata3::Reg => Ftype3::Reg,
            Mknoddata3::Dir => Ftype3::Dir,
            Mknoddata3::Lnk => Ftype3::Lnk,
        }
    }
}

impl XdrEncode for Mknoddata3 {
    fn encode(&self, out: &mut XdrSink) {
        self.ftype().encode(out);
        match self {
            Mknoddata3::Chr(d) | Mknoddata3::Blk(d) => d.encode(out),
            Mknoddata3::Sock(a) | Mknoddata3::Fifo(a) => a.encode(out),
            Mknoddata3::Reg | Mknoddata3::Dir | Mknoddata3::Lnk => {}
        }
    }
}

impl<'a> XdrDecode<'a> for Mknoddata3 {
    fn decode(input: &'a [u8]) -> XdrResult<'a, Self> {
        let (input, ftype) = Ftype3::decode(input)?;
        Ok(match ftype {
            Ftype3::Chr => {
                let (input, d) = Devicedata3::decode(input)?;
                (input, Mknoddata3::Chr(d))
            }
            Ftype3::Blk => {
                let (input, d) = Devicedata3::decode(input)?;
                (input, Mknoddata3::Blk(d))
            }
            Ftype3::Sock => {
                let (input, a) = Sattr3::decode(input)?;
                (input, Mknoddata3::Sock(a))
            }
            Ftype3::Fifo => {
                let (input, a) = Sattr3::decode(input)?;
                (input, Mknoddata3::Fifo(a))
            }
            Ftype3::Reg => (input, Mknoddata3::Reg),
            Ftype3::Dir => (input, Mknoddata3::Dir),
            Ftype3::Lnk => (input, Mknoddata3::Lnk),
        })
    }
}

/// `symlinkdata3`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Symlinkdata3<'a> {
    pub symlink_attributes: Sattr3,
    /// `nfspath3`: the target, at most [`NFS3_PATH_DECODE_MAX`] bytes decoded.
    pub symlink_data: &'a [u8],
}

impl XdrEncode for Symlinkdata3<'_> {
    #[inline]
    fn encode(&self, out: &mut XdrSink) {
        self.symlink_attributes.encode(out);
        out.put_xdr_opaque_var(self.symlink_data);
    }
}

impl<'a> XdrDecode<'a> for Symlinkdata3<'a> {
    #[inline]
    fn decode(input: &'a [u8]) -> XdrResult<'a, Self> {
        let (input, symlink_attributes) = Sattr3::decode(input)?;
        let (input, symlink_data) = nfspath3(input)?;
        Ok((
            input,
            Symlinkdata3 {
                symlink_attributes,
                symlink_data,
            },
        ))
    }
}

/// `entry3`: one READDIR entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Entry3<'a> {
    pub fileid: u64,
    pub name: &'a [u8],
    pub cookie: u64,
}

impl Entry3<'_> {
    /// Encoded size, including the `value_follows` bool that precedes it in the list.
    #[inline]
    pub const fn wire_size(&self) -> usize {
        4 + 8 + 4 + xdr::padded_len(self.name.len()) + 8
    }
}

impl XdrEncode for Entry3<'_> {
    #[inline]
    fn encode(&self, out: &mut XdrSink) {
        out.put_xdr_u64(self.fileid);
        out.put_xdr_opaque_var(self.name);
        out.put_xdr_u64(self.cookie);
    }
}

impl<'a> XdrDecode<'a> for Entry3<'a> {
    #[inline]
    fn decode(input: &'a [u8]) -> XdrResult<'a, Self> {
        let (input, fileid) = xdr::u64(input)?;
        let (input, name) = filename3(input)?;
        let (input, cookie) = xdr::u64(input)?;
        Ok((
            input,
            Entry3 {
                fileid,
                name,
                cookie,
            },
        ))
    }
}

/// `entryplus3`: one READDIRPLUS entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Entryplus3<'a> {
    pub fileid: u64,
    pub name: &'a [u8],
    pub cookie: u64,
    pub name_attributes: PostOpAttr,
    pub name_handle: PostOpFh3<'a>,
}

impl Entryplus3<'_> {
    /// Encoded size, including the `value_follows` bool that precedes it in the list.
    #[inline]
    pub const fn wire_size(&self) -> usize {
        4 + self.dircount_size()
            + post_op_attr_size(&self.name_attributes)
            + post_op_fh3_size(&self.name_handle)
    }

    /// What the entry counts against READDIRPLUS `dircount`: fileid, name and cookie as encoded.
    #[inline]
    pub const fn dircount_size(&self) -> usize {
        8 + 4 + xdr::padded_len(self.name.len()) + 8
    }
}

impl XdrEncode for Entryplus3<'_> {
    #[inline]
    fn encode(&self, out: &mut XdrSink) {
        out.put_xdr_u64(self.fileid);
        out.put_xdr_opaque_var(self.name);
        out.put_xdr_u64(self.cookie);
        self.name_attributes.encode(out);
        self.name_handle.encode(out);
    }
}

impl<'a> XdrDecode<'a> for Entryplus3<'a> {
    fn decode(input: &'a [u8]) -> XdrResult<'a, Self> {
        let (input, fileid) = xdr::u64(input)?;
        let (input, name) = filename3(input)?;
        let (input, cookie) = xdr::u64(input)?;
        let (input, name_attributes) = PostOpAttr::decode(input)?;
        let (input, name_handle) = PostOpFh3::decode(input)?;
        Ok((
            input,
            Entryplus3 {
                fileid,
                name,
                cookie,
                name_attributes,
                name_handle,
            },
        ))
    }
}

/// Defines a struct whose XDR encoding is its fields in order, each with its own
/// [`XdrEncode`] / [`XdrDecode`].
macro_rules! xdr_struct {
    ($(#[$meta:meta])* pub struct $name:ident<$lt:lifetime> { $($(#[$fmeta:meta])* pub $field:ident : $ty:ty,)+ }) => {
        $(#[$meta])*
        pub struct $name<$lt> {
            $($(#[$fmeta])* pub $field: $ty,)+
        }

        impl $crate::proto::xdr::XdrEncode for $name<'_> {
            #[inline]
            fn encode(&self, out: &mut $crate::proto::xdr::XdrSink) {
                $($crate::proto::xdr::XdrEncode::encode(&self.$field, out);)+
            }
        }

        impl<$lt> $crate::proto::xdr::XdrDecode<$lt> for $name<$lt> {
            #[inline]
            fn decode(input: &$lt [u8]) -> $crate::proto::xdr::XdrResult<$lt, Self> {
                $(let (input, $field) = <$ty as $crate::proto::xdr::XdrDecode<$lt>>::decode(input)?;)+
                Ok((input, $name { $($field,)+ }))
            }
        }
    };
    ($(#[$meta:meta])* pub struct $name:ident { $($(#[$fmeta:meta])* pub $field:ident : $ty:ty,)+ }) => {
        $(#[$meta])*
        pub struct $name {
            $($(#[$fmeta])* pub $field: $ty,)+
        }

        impl $crate::proto::xdr::XdrEncode for $name {
            #[inline]
            fn encode(&self, out: &mut $crate::proto::xdr::XdrSink) {
                $($crate::proto::xdr::XdrEncode::encode(&self.$field, out);)+
            }
        }

        impl<'a> $crate::proto::xdr::XdrDecode<'a> for $name {
            #[inline]
            fn decode(input: &'a [u8]) -> $crate::proto::xdr::XdrResult<'a, Self> {
                $(let (input, $field) = <$ty as $crate::proto::xdr::XdrDecode<'a>>::decode(input)?;)+
                Ok((input, $name { $($field,)+ }))
            }
        }
    };
}
pub(crate) use xdr_struct;
