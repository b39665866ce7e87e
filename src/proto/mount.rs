//! MOUNT protocol version 3 (RFC 1813 appendix I): program 100005.
//!
//! The client asks MNT for the root handle of an exported path, then speaks NFSv3 with it.
//! Paths and handles borrow from the decoded input.

use crate::proto::xdr::{
    self, linked_list, put_linked_list, DecodeError, XdrDecode, XdrEncode, XdrResult, XdrSink,
    XdrWrite,
};

use super::nfs3::types::xdr_enum;

pub use super::nfs3::consts::{MOUNT3_MAX_PROC as MAX_PROC, MOUNT_PROGRAM as PROGRAM};
/// The MOUNT version served.
pub const VERSION: u32 = super::nfs3::consts::MOUNT_V3;

/// Longest `dirpath` (`MNTPATHLEN`).
pub const MNTPATHLEN: usize = 1024;
/// Longest `name` (`MNTNAMLEN`): host and group names.
pub const MNTNAMLEN: usize = 255;
/// Longest `fhandle3` (`FHSIZE3`).
pub const FHSIZE3: usize = 64;
/// Most auth flavors accepted when decoding a MNT reply.
pub const MAX_AUTH_FLAVORS: usize = 64;
/// Most items accepted when decoding a mount list, an export list or a group list.
pub const MAX_LIST_ITEMS: usize = 1 << 16;

/// MOUNT v3 procedure numbers.
pub mod mountproc3 {
    pub const NULL: u32 = 0;
    pub const MNT: u32 = 1;
    pub const DUMP: u32 = 2;
    pub const UMNT: u32 = 3;
    pub const UMNTALL: u32 = 4;
    pub const EXPORT: u32 = 5;
}

/// Auth flavor numbers for `auth_flavors` (RFC 5531).
pub mod auth_flavor {
    pub const AUTH_NONE: u32 = 0;
    pub const AUTH_SYS: u32 = 1;
}

xdr_enum! {
    /// `mountstat3`.
    pub enum Mountstat3 {
        Ok = 0,
        Perm = 1,
        Noent = 2,
        Io = 5,
        Acces = 13,
        Notdir = 20,
        Inval = 22,
        Nametoolong = 63,
        Notsupp = 10004,
        Serverfault = 10006,
    }
}

fn dirpath(input: &[u8]) -> XdrResult<'_, &[u8]> {
    xdr::string(MNTPATHLEN)(input)
}

fn name(input: &[u8]) -> XdrResult<'_, &[u8]> {
    xdr::string(MNTNAMLEN)(input)
}

/// `mountres3_ok`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mountres3Ok<'a> {
    /// `fhandle3`: the root handle of the export (at most 64 bytes).
    pub fhandle: &'a [u8],
    /// `int auth_flavors<>`: flavors the server accepts, e.g. `[AUTH_SYS]`. Carried as `u32`
    /// (the same four bytes on the wire; no flavor is negative).
    pub auth_flavors: Vec<u32>,
}

/// `mountres3`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mountres3<'a> {
    Ok(Mountres3Ok<'a>),
    /// An error status (never [`Mountstat3::Ok`]; encoded as SERVERFAULT if it is).
    Err(Mountstat3),
}

impl Mountres3<'_> {
    pub fn status(&self) -> Mountstat3 {
        match self {
            Mountres3::Ok(_) => Mountstat3::Ok,
            Mountres3::Err(Mountstat3::Ok) => Mountstat3::Serverfault,
            Mountres3::Err(s) => *s,
        }
    }
}

impl XdrEncode for Mountres3<'_> {
    fn encode(&self, out: &mut XdrSink) {
        self.status().encode(out);
        if let Mountres3::Ok(ok) = self {
            out.put_xdr_opaque_var(ok.fhandle);
            out.put_xdr_u32(ok.auth_flavors.len() as u32);
            for f in &ok.auth_flavors {
                out.put_xdr_u32(*f);
            }
        }
    }
}

impl<'a> XdrDecode<'a> for Mountres3<'a> {
    fn decode(input: &'a [u8]) -> XdrResult<'a, Self> {
        let (input, status) = Mountstat3::decode(input)?;
        if status != Mountstat3::Ok {
            return Ok((input, Mountres3::Err(status)));
        }
        let (input, fhandle) = xdr::opaque_var(FHSIZE3)(input)?;
        let (input, auth_flavors) = xdr::array(MAX_AUTH_FLAVORS, xdr::u32)(input)?;
        Ok((
            input,
            Mountres3::Ok(Mountres3Ok {
                fhandle,
                auth_flavors,
            }),
        ))
    }
}

/// `mountbody`: one entry of the DUMP mount list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Mountbody<'a> {
    pub hostname: &'a [u8],
    pub directory: &'a [u8],
}

impl XdrEncode for Mountbody<'_> {
    fn encode(&self, out: &mut XdrSink) {
        out.put_xdr_opaque_var(self.hostname);
        out.put_xdr_opaque_var(self.directory);
    }
}

impl<'a> XdrDecode<'a> for Mountbody<'a> {
    fn decode(input: &'a [u8]) -> XdrResult<'a, Self> {
        let (input, hostname) = name(input)?;
        let (input, directory) = dirpath(input)?;
        Ok((
            input,
            Mountbody {
                hostname,
                directory,
            },
        ))
    }
}

/// `exportnode`: an exported directory and the groups (hosts, netgroups) allowed to mount it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Exportnode<'a> {
    pub dir: &'a [u8],
    pub groups: Vec<&'a [u8]>,
}

/// A group name as a list item.
struct Group<'a>(&'a [u8]);

impl XdrEncode for Group<'_> {
    fn encode(&self, out: &mut XdrSink) {
        out.put_xdr_opaque_var(self.0);
    }
}

impl XdrEncode for Exportnode<'_> {
    fn encode(&self, out: &mut XdrSink) {
        out.put_xdr_opaque_var(self.dir);
        for g in &self.groups {
            out.put_xdr_bool(true);
            Group(g).encode(out);
        }
        out.put_xdr_bool(false);
    }
}

impl<'a> XdrDecode<'a> for Exportnode<'a> {
    fn decode(input: &'a [u8]) -> XdrResult<'a, Self> {
        let (input, dir) = dirpath(input)?;
        let (input, groups) = linked_list(MAX_LIST_ITEMS, name)(input)?;
        Ok((input, Exportnode { dir, groups }))
    }
}

/// One decoded MOUNT v3 call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MountCall<'a> {
    Null,
    /// MNT: the path to mount (`dirpath`, at most 1024 bytes).
    Mnt(&'a [u8]),
    Dump,
    /// UMNT: the path unmounted.
    Umnt(&'a [u8]),
    Umntall,
    Export,
}

impl<'a> MountCall<'a> {
    /// Decodes the arguments of procedure `proc`. Unknown procedures are
    /// [`DecodeError::UnknownProcedure`] (PROC_UNAVAIL); trailing bytes are ignored.
    pub fn decode(proc: u32, args: &'a [u8]) -> Result<MountCall<'a>, DecodeError> {
        let path = || dirpath(args).map(|(_, p)| p).map_err(DecodeError::from_nom);
        match proc {
            mountproc3::NULL => Ok(MountCall::Null),
            mountproc3::MNT => path().map(MountCall::Mnt),
            mountproc3::DUMP => Ok(MountCall::Dump),
            mountproc3::UMNT => path().map(MountCall::Umnt),
            mountproc3::UMNTALL => Ok(MountCall::Umntall),
            mountproc3::EXPORT => Ok(MountCall::Export),
            other => Err(DecodeError::UnknownProcedure(other)),
        }
    }

    pub fn proc_num(&self) -> u32 {
        match self {
            MountCall::Null => mountproc3::NULL,
            MountCall::Mnt(_) => mountproc3::MNT,
            MountCall::Dump => mountproc3::DUMP,
            MountCall::Umnt(_) => mountproc3::UMNT,
            MountCall::Umntall => mountproc3::UMNTALL,
            MountCall::Export => mountproc3::EXPORT,
        }
    }
}

/// Encodes the argument body (client mode).
impl XdrEncode for MountCall<'_> {
    fn encode(&self, out: &mut XdrSink) {
        match self {
            MountCall::Mnt(p) | MountCall::Umnt(p) => out.put_xdr_opaque_var(p),
            MountCall::Null | MountCall::Dump | MountCall::Umntall | MountCall::Export => {}
        }
    }
}

/// The result of one MOUNT v3 procedure.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MountReply<'a> {
    Null,
    Mnt(Mountres3<'a>),
    /// `mountlist`.
    Dump(Vec<Mountbody<'a>>),
    Umnt,
    Umntall,
    /// `exports`.
    Export(Vec<Exportnode<'a>>),
}

impl XdrEncode for MountReply<'_> {
    fn encode(&self, out: &mut XdrSink) {
        match self {
            MountReply::Mnt(r) => r.encode(out),
            MountReply::Dump(list) => put_linked_list(out, list),
            MountReply::Export(list) => put_linked_list(out, list),
            MountReply::Null | MountReply::Umnt | MountReply::Umntall => {}
        }
    }
}

impl<'a> MountReply<'a> {
    /// Decodes the result of procedure `proc` (client mode). Trailing bytes are ignored.
    pub fn decode(proc: u32, body: &'a [u8]) -> Result<MountReply<'a>, DecodeError> {
        let r = match proc {
            mountproc3::NULL => MountReply::Null,
            mountproc3::MNT => MountReply::Mnt(xdr::decode_prefix(body)?),
            mountproc3::DUMP => {
                let (_, l) = linked_list(MAX_LIST_ITEMS, Mountbody::decode)(body)?;
                MountReply::Dump(l)
            }
            mountproc3::UMNT => MountReply::Umnt,
            mountproc3::UMNTALL => MountReply::Umntall,
            mountproc3::EXPORT => {
                let (_, l) = linked_list(MAX_LIST_ITEMS, Exportnode::decode)(body)?;
                MountReply::Export(l)
            }
            other => return Err(DecodeError::UnknownProcedure(other)),
        };
        Ok(r)
    }

    pub fn proc_num(&self) -> u32 {
        match self {
            MountReply::Null => mountproc3::NULL,
            MountReply::Mnt(_) => mountproc3::MNT,
            MountReply::Dump(_) => mountproc3::DUMP,
            MountReply::Umnt => mountproc3::UMNT,
            MountReply::Umntall => mountproc3::UMNTALL,
            MountReply::Export(_) => mountproc3::EXPORT,
        }
    }
}
