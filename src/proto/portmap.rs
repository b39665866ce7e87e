//! Portmapper version 2 (RFC 1833 section 3): program 100000, so that clients can ask where NFS,
//! MOUNT and the lock manager live. NULL, GETPORT and DUMP are served; SET and UNSET decode
//! (the server refuses them: registrations are fixed by configuration); CALLIT is not served
//! (PROC_UNAVAIL). The same [`PortmapTable`] answers rpcbind v3/v4 ([`super::rpcbind`]).

use std::net::{IpAddr, SocketAddr};

use crate::proto::xdr::{
    self, linked_list, put_linked_list, DecodeError, XdrDecode, XdrEncode, XdrResult, XdrSink,
    XdrWrite,
};

use super::rpcbind::{self, Rpcb, RpcbEntry, RpcbindCall, RpcbindReply};

use super::nfs3::consts::{
    MOUNT_PROGRAM, MOUNT_V3, NFS_PROGRAM, NFS_V3, PORTMAP_PORT, PORTMAP_PROGRAM, PORTMAP_V2,
};
pub use super::nfs3::consts::{PORTMAP2_MAX_PROC as MAX_PROC, PORTMAP_PROGRAM as PROGRAM};
/// The portmap version served.
pub const VERSION: u32 = PORTMAP_V2;

/// `IPPROTO_TCP`.
pub const IPPROTO_TCP: u32 = 6;
/// `IPPROTO_UDP`.
pub const IPPROTO_UDP: u32 = 17;
/// The owner rpcbind DUMP names for every registration.
pub const OWNER: &str = "slatenfs";
/// Most mappings accepted when decoding a DUMP reply.
pub const MAX_MAPPINGS: usize = 1 << 16;

/// Portmap v2 procedure numbers.
pub mod pmapproc {
    pub const NULL: u32 = 0;
    pub const SET: u32 = 1;
    pub const UNSET: u32 = 2;
    pub const GETPORT: u32 = 3;
    pub const DUMP: u32 = 4;
    pub const CALLIT: u32 = 5;
}

/// `mapping`: program, version and protocol served at a port.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Mapping {
    pub prog: u32,
    pub vers: u32,
    /// [`IPPROTO_TCP`] or [`IPPROTO_UDP`].
    pub prot: u32,
    pub port: u32,
}

impl XdrEncode for Mapping {
    fn encode(&self, out: &mut XdrSink) {
        out.put_xdr_u32(self.prog);
        out.put_xdr_u32(self.vers);
        out.put_xdr_u32(self.prot);
        out.put_xdr_u32(self.port);
    }
}

impl<'a> XdrDecode<'a> for Mapping {
    fn decode(input: &'a [u8]) -> XdrResult<'a, Self> {
        let (input, prog) = xdr::u32(input)?;
        let (input, vers) = xdr::u32(input)?;
        let (input, prot) = xdr::u32(input)?;
        let (input, port) = xdr::u32(input)?;
        Ok((
            input,
            Mapping {
                prog,
                vers,
                prot,
                port,
            },
        ))
    }
}

/// One decoded portmap v2 call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PortmapCall {
    Null,
    Set(Mapping),
    Unset(Mapping),
    /// The `port` field of the mapping is ignored.
    Getport(Mapping),
    Dump,
}

impl PortmapCall {
    /// Decodes the arguments of procedure `proc`. CALLIT and unknown procedures are
    /// [`DecodeError::UnknownProcedure`] (PROC_UNAVAIL); trailing bytes are ignored.
    pub fn decode(proc: u32, args: &[u8]) -> Result<PortmapCall, DecodeError> {
        let mapping = || xdr::decode_prefix::<Mapping>(args);
        match proc {
            pmapproc::NULL => Ok(PortmapCall::Null),
            pmapproc::SET => mapping().map(PortmapCall::Set),
            pmapproc::UNSET => mapping().map(PortmapCall::Unset),
            pmapproc::GETPORT => mapping().map(PortmapCall::Getport),
            pmapproc::DUMP => Ok(PortmapCall::Dump),
            other => Err(DecodeError::UnknownProcedure(other)),
        }
    }

    pub fn proc_num(&self) -> u32 {
        match self {
            PortmapCall::Null => pmapproc::NULL,
            PortmapCall::Set(_) => pmapproc::SET,
            PortmapCall::Unset(_) => pmapproc::UNSET,
            PortmapCall::Getport(_) => pmapproc::GETPORT,
            PortmapCall::Dump => pmapproc::DUMP,
        }
    }
}

/// Encodes the argument body (client mode).
impl XdrEncode for PortmapCall {
    fn encode(&self, out: &mut XdrSink) {
        match self {
            PortmapCall::Set(m) | PortmapCall::Unset(m) | PortmapCall::Getport(m) => m.encode(out),
            PortmapCall::Null | PortmapCall::Dump => {}
        }
    }
}

/// The result of one portmap v2 procedure.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PortmapReply {
    Null,
    Set(bool),
    Unset(bool),
    /// The port, 0 when the program is not registered.
    Getport(u32),
    /// `pmaplist`.
    Dump(Vec<Mapping>),
}

impl XdrEncode for PortmapReply {
    fn encode(&self, out: &mut XdrSink) {
        match self {
            PortmapReply::Null => {}
            PortmapReply::Set(b) | PortmapReply::Unset(b) => out.put_xdr_bool(*b),
            PortmapReply::Getport(p) => out.put_xdr_u32(*p),
            PortmapReply::Dump(list) => put_linked_list(out, list),
        }
    }
}

impl PortmapReply {
    /// Decodes the result of procedure `proc` (client mode). Trailing bytes are ignored.
    pub fn decode(proc: u32, body: &[u8]) -> Result<PortmapReply, DecodeError> {
        Ok(match proc {
            pmapproc::NULL => PortmapReply::Null,
            pmapproc::SET => PortmapReply::Set(xdr::decode_prefix(body)?),
            pmapproc::UNSET => PortmapReply::Unset(xdr::decode_prefix(body)?),
            pmapproc::GETPORT => PortmapReply::Getport(xdr::decode_prefix(body)?),
            pmapproc::DUMP => {
                let (_, l) = linked_list(MAX_MAPPINGS, Mapping::decode)(body)?;
                PortmapReply::Dump(l)
            }
            other => return Err(DecodeError::UnknownProcedure(other)),
        })
    }

    pub fn proc_num(&self) -> u32 {
        match self {
            PortmapReply::Null => pmapproc::NULL,
            PortmapReply::Set(_) => pmapproc::SET,
            PortmapReply::Unset(_) => pmapproc::UNSET,
            PortmapReply::Getport(_) => pmapproc::GETPORT,
            PortmapReply::Dump(_) => pmapproc::DUMP,
        }
    }
}

/// The registrations a server answers GETPORT and DUMP from.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PortmapTable {
    mappings: Vec<Mapping>,
}

impl PortmapTable {
    pub fn new() -> Self {
        Self::default()
    }

    /// The gateway's own registrations over TCP: portmap v2 at 111, NFS v3 at `nfs_port` and
    /// MOUNT v3 at `mount_port` (which may be the same port).
    pub fn for_gateway(nfs_port: u16, mount_port: u16) -> Self {
        let mut t = Self::new();
        for (prog, vers, port) in [
            (PORTMAP_PROGRAM, PORTMAP_V2, PORTMAP_PORT),
            (NFS_PROGRAM, NFS_V3, u32::from(nfs_port)),
            (MOUNT_PROGRAM, MOUNT_V3, u32::from(mount_port)),
        ] {
            t.set(Mapping {
                prog,
                vers,
                prot: IPPROTO_TCP,
                port,
            });
        }
        t
    }

    /// Registers `mapping`, replacing any mapping of the same program, version and protocol.
    pub fn set(&mut self, mapping: Mapping) {
        match self
            .mappings
            .iter_mut()
            .find(|m| (m.prog, m.vers, m.prot) == (mapping.prog, mapping.vers, mapping.prot))
        {
            Some(m) => m.port = mapping.port,
            None => self.mappings.push(mapping),
        }
    }

    /// Removes every protocol's mapping of `prog` version `vers`; true if one was removed.
    pub fn unset(&mut self, prog: u32, vers: u32) -> bool {
        let before = self.mappings.len();
        self.mappings.retain(|m| (m.prog, m.vers) != (prog, vers));
        self.mappings.len() != before
    }

    /// GETPORT: the port of `query.prog`, `query.vers` over `query.prot` (its `port` field is
    /// ignored), or 0 when not registered.
    pub fn getport(&self, query: &Mapping) -> u32 {
        self.mappings
            .iter()
            .find(|m| (m.prog, m.vers, m.prot) == (query.prog, query.vers, query.prot))
            .map_or(0, |m| m.port)
    }

    /// DUMP: every registration.
    pub fn dump(&self) -> &[Mapping] {
        &self.mappings
    }

    /// rpcbind GETADDR (`exact`: GETVERSADDR): the universal address of `query.prog` version
    /// `query.vers` over `query.netid` (the transport `ipproto` the question came on when
    /// empty), at `local`, the address the question was sent to. Version 4's GETADDR answers
    /// with another version of the program when that one is not registered, so that the
    /// client learns the program is here; an empty string when it is not.
    pub fn getaddr(&self, query: &Rpcb<'_>, exact: bool, local: IpAddr, ipproto: u32) -> String {
        let prot = if query.netid.is_empty() {
            Some(ipproto)
        } else {
            rpcbind::ipproto_of(query.netid)
        };
        let Some(prot) = prot else {
            return String::new();
        };
        let on_transport = |m: &&Mapping| m.prog == query.prog && m.prot == prot;
        let found = self
            .mappings
            .iter()
            .filter(on_transport)
            .find(|m| m.vers == query.vers)
            .or_else(|| {
                (!exact)
                    .then(|| self.mappings.iter().find(on_transport))
                    .flatten()
            });
        match found.and_then(|m| u16::try_from(m.port).ok()) {
            Some(port) => rpcbind::uaddr(SocketAddr::new(local, port)),
            None => String::new(),
        }
    }

    /// rpcbind DUMP: every registration with its universal address at `local`.
    pub fn rpcb_dump(&self, local: IpAddr) -> Vec<RpcbEntry> {
        self.mappings
            .iter()
            .filter_map(|m| {
                Some(RpcbEntry {
                    prog: m.prog,
                    vers: m.vers,
                    netid: rpcbind::netid(m.prot, local)?.to_string(),
                    addr: rpcbind::uaddr(SocketAddr::new(local, u16::try_from(m.port).ok()?)),
                    owner: OWNER.to_string(),
                })
            })
            .collect()
    }

    /// Answers an rpcbind v3/v4 call that came to `local` over transport `ipproto`, at time
    /// `now` (seconds since 1970, for GETTIME). SET and UNSET are refused, as for portmap.
    pub fn answer_rpcbind(
        &self,
        call: &RpcbindCall<'_>,
        local: IpAddr,
        ipproto: u32,
        now: u32,
    ) -> RpcbindReply {
        match call {
            RpcbindCall::Null => RpcbindReply::Null,
            RpcbindCall::Set(_) => RpcbindReply::Set(false),
            RpcbindCall::Unset(_) => RpcbindReply::Unset(false),
            RpcbindCall::Getaddr(q) => {
                RpcbindReply::Getaddr(self.getaddr(q, false, local, ipproto))
            }
            RpcbindCall::Getversaddr(q) => {
                RpcbindReply::Getversaddr(self.getaddr(q, true, local, ipproto))
            }
            RpcbindCall::Dump => RpcbindReply::Dump(self.rpcb_dump(local)),
            RpcbindCall::Gettime => RpcbindReply::Gettime(now),
        }
    }

    /// Answers a call from this table. SET and UNSET are refused (`false`): registrations come
    /// from configuration, not from the network.
    pub fn answer(&self, call: &PortmapCall) -> PortmapReply {
        match call {
            PortmapCall::Null => PortmapReply::Null,
            PortmapCall::Set(_) => PortmapReply::Set(false),
            PortmapCall::Unset(_) => PortmapReply::Unset(false),
            PortmapCall::Getport(m) => PortmapReply::Getport(self.getport(m)),
            PortmapCall::Dump => PortmapReply::Dump(self.mappings.clone()),
        }
    }
}
