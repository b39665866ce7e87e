//! rpcbind versions 3 and 4 (RFC 1833 section 2): program 100000 like portmap v2, with
//! transport-independent addresses. Newer clients ask GETADDR before falling back to portmap
//! GETPORT; lock managers register with a system rpcbind through SET and UNSET.
//!
//! ```text
//! rpcb: r_prog | r_vers | r_netid string | r_addr string (universal address) | r_owner string
//! universal address of 10.0.0.1 port 2049: "10.0.0.1.8.1" (the port's high and low bytes)
//! ```
//!
//! Served: NULL, SET, UNSET, GETADDR, DUMP, GETTIME and (version 4) GETVERSADDR. The other
//! procedures (CALLIT/BCAST, INDIRECT, address conversions, GETADDRLIST, GETSTAT) decode as
//! unknown: PROC_UNAVAIL.

use std::net::{IpAddr, SocketAddr};

use crate::proto::xdr::{
    self, linked_list, put_linked_list, DecodeError, XdrDecode, XdrEncode, XdrResult, XdrSink,
    XdrWrite,
};

pub use super::nfs3::consts::PORTMAP_PROGRAM as PROGRAM;
/// rpcbind version 3.
pub const VERSION3: u32 = 3;
/// rpcbind version 4.
pub const VERSION4: u32 = 4;
/// Highest version 3 procedure number (TADDR2UADDR).
pub const RPCB3_MAX_PROC: u32 = 8;
/// Highest version 4 procedure number (GETSTAT).
pub const RPCB4_MAX_PROC: u32 = 12;
/// Bound applied to every string of an `rpcb` (netids, universal addresses, owners are short).
pub const MAX_STRING: usize = 1024;
/// Most entries accepted when decoding a DUMP reply.
pub const MAX_ENTRIES: usize = 1 << 16;

/// rpcbind procedure numbers (versions 3 and 4).
pub mod rpcbproc {
    pub const NULL: u32 = 0;
    pub const SET: u32 = 1;
    pub const UNSET: u32 = 2;
    pub const GETADDR: u32 = 3;
    pub const DUMP: u32 = 4;
    pub const CALLIT: u32 = 5;
    pub const GETTIME: u32 = 6;
    pub const UADDR2TADDR: u32 = 7;
    pub const TADDR2UADDR: u32 = 8;
    pub const GETVERSADDR: u32 = 9;
    pub const INDIRECT: u32 = 10;
    pub const GETADDRLIST: u32 = 11;
    pub const GETSTAT: u32 = 12;
}

fn string(input: &[u8]) -> XdrResult<'_, &[u8]> {
    xdr::string(MAX_STRING)(input)
}

/// `rpcb`: one registration (or the question of a GETADDR, whose `addr` and `owner` are
/// ignored).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rpcb<'a> {
    pub prog: u32,
    pub vers: u32,
    /// `"tcp"`, `"udp"`, `"tcp6"`, `"udp6"`, ...; empty in a GETADDR means "the transport this
    /// question came on".
    pub netid: &'a [u8],
    /// Universal address.
    pub addr: &'a [u8],
    pub owner: &'a [u8],
}

impl XdrEncode for Rpcb<'_> {
    fn encode(&self, out: &mut XdrSink) {
        out.put_xdr_u32(self.prog);
        out.put_xdr_u32(self.vers);
        out.put_xdr_opaque_var(self.netid);
        out.put_xdr_opaque_var(self.addr);
        out.put_xdr_opaque_var(self.owner);
    }
}

impl<'a> XdrDecode<'a> for Rpcb<'a> {
    fn decode(input: &'a [u8]) -> XdrResult<'a, Self> {
        let (input, prog) = xdr::u32(input)?;
        let (input, vers) = xdr::u32(input)?;
        let (input, netid) = string(input)?;
        let (input, addr) = string(input)?;
        let (input, owner) = string(input)?;
        Ok((
            input,
            Rpcb {
                prog,
                vers,
                netid,
                addr,
                owner,
            },
        ))
    }
}

/// An owned `rpcb`, as listed by DUMP.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RpcbEntry {
    pub prog: u32,
    pub vers: u32,
    pub netid: String,
    pub addr: String,
    pub owner: String,
}

impl RpcbEntry {
    pub fn as_rpcb(&self) -> Rpcb<'_> {
        Rpcb {
            prog: self.prog,
            vers: self.vers,
            netid: self.netid.as_bytes(),
            addr: self.addr.as_bytes(),
            owner: self.owner.as_bytes(),
        }
    }
}

impl XdrEncode for RpcbEntry {
    fn encode(&self, out: &mut XdrSink) {
        self.as_rpcb().encode(out);
    }
}

fn entry(input: &[u8]) -> XdrResult<'_, RpcbEntry> {
    let (rest, r) = Rpcb::decode(input)?;
    let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    Ok((
        rest,
        RpcbEntry {
            prog: r.prog,
            vers: r.vers,
            netid: text(r.netid),
            addr: text(r.addr),
            owner: text(r.owner),
        },
    ))
}

/// One decoded rpcbind v3/v4 call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RpcbindCall<'a> {
    Null,
    Set(Rpcb<'a>),
    Unset(Rpcb<'a>),
    Getaddr(Rpcb<'a>),
    Dump,
    Gettime,
    /// Version 4 only: the address of exactly this version.
    Getversaddr(Rpcb<'a>),
}

impl<'a> RpcbindCall<'a> {
    /// Decodes the arguments of procedure `proc` of version `vers` (3 or 4). Procedures that
    /// are not served are [`DecodeError::UnknownProcedure`]; trailing bytes are ignored.
    pub fn decode(vers: u32, proc: u32, args: &'a [u8]) -> Result<RpcbindCall<'a>, DecodeError> {
        let rpcb = || xdr::decode_prefix::<Rpcb>(args);
        Ok(match proc {
            rpcbproc::NULL => RpcbindCall::Null,
            rpcbproc::SET => RpcbindCall::Set(rpcb()?),
            rpcbproc::UNSET => RpcbindCall::Unset(rpcb()?),
            rpcbproc::GETADDR => RpcbindCall::Getaddr(rpcb()?),
            rpcbproc::DUMP => RpcbindCall::Dump,
            rpcbproc::GETTIME => RpcbindCall::Gettime,
            rpcbproc::GETVERSADDR if vers >= VERSION4 => RpcbindCall::Getversaddr(rpcb()?),
            other => return Err(DecodeError::UnknownProcedure(other)),
        })
    }

    pub fn proc_num(&self) -> u32 {
        match self {
            RpcbindCall::Null => rpcbproc::NULL,
            RpcbindCall::Set(_) => rpcbproc::SET,
            RpcbindCall::Unset(_) => rpcbproc::UNSET,
            RpcbindCall::Getaddr(_) => rpcbproc::GETADDR,
            RpcbindCall::Dump => rpcbproc::DUMP,
            RpcbindCall::Gettime => rpcbproc::GETTIME,
            RpcbindCall::Getversaddr(_) => rpcbproc::GETVERSADDR,
        }
    }
}

/// Encodes the argument body (client mode: registering with a system rpcbind).
impl XdrEncode for RpcbindCall<'_> {
    fn encode(&self, out: &mut XdrSink) {
        match self {
            RpcbindCall::Null | RpcbindCall::Dump | RpcbindCall::Gettime => {}
            RpcbindCall::Set(r)
            | RpcbindCall::Unset(r)
            | RpcbindCall::Getaddr(r)
            | RpcbindCall::Getversaddr(r) => r.encode(out),
        }
    }
}

/// The result of one rpcbind v3/v4 procedure.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RpcbindReply {
    Null,
    Set(bool),
    Unset(bool),
    /// A universal address; empty when the program is not registered.
    Getaddr(String),
    /// `rpcblist_ptr`.
    Dump(Vec<RpcbEntry>),
    /// Seconds since 1970.
    Gettime(u32),
    Getversaddr(String),
}

impl XdrEncode for RpcbindReply {
    fn encode(&self, out: &mut XdrSink) {
        match self {
            RpcbindReply::Null => {}
            RpcbindReply::Set(b) | RpcbindReply::Unset(b) => out.put_xdr_bool(*b),
            RpcbindReply::Getaddr(a) | RpcbindReply::Getversaddr(a) => {
                out.put_xdr_opaque_var(a.as_bytes())
            }
            RpcbindReply::Dump(list) => put_linked_list(out, list),
            RpcbindReply::Gettime(t) => out.put_xdr_u32(*t),
        }
    }
}

impl RpcbindReply {
    /// Decodes the result of procedure `proc` (client mode). Trailing bytes are ignored.
    pub fn decode(proc: u32, body: &[u8]) -> Result<RpcbindReply, DecodeError> {
        let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
        Ok(match proc {
            rpcbproc::NULL => RpcbindReply::Null,
            rpcbproc::SET => RpcbindReply::Set(xdr::decode_prefix(body)?),
            rpcbproc::UNSET => RpcbindReply::Unset(xdr::decode_prefix(body)?),
            rpcbproc::GETADDR => RpcbindReply::Getaddr(text(string(body)?.1)),
            rpcbproc::GETVERSADDR => RpcbindReply::Getversaddr(text(string(body)?.1)),
            rpcbproc::DUMP => RpcbindReply::Dump(linked_list(MAX_ENTRIES, entry)(body)?.1),
            rpcbproc::GETTIME => RpcbindReply::Gettime(xdr::decode_prefix(body)?),
            other => return Err(DecodeError::UnknownProcedure(other)),
        })
    }
}

/// The universal address of `addr`: its IP in text form, then the port's high and low bytes
/// (`"192.0.2.1.8.1"` is port 2049).
pub fn uaddr(addr: SocketAddr) -> String {
    let port = addr.port();
    format!("{}.{}.{}", addr.ip(), port >> 8, port & 0xff)
}

/// Parses a universal address (IPv4 or IPv6).
pub fn parse_uaddr(text: &str) -> Option<SocketAddr> {
    let (rest, lo) = text.rsplit_once('.')?;
    let (ip, hi) = rest.rsplit_once('.')?;
    let (hi, lo) = (hi.parse::<u8>().ok()?, lo.parse::<u8>().ok()?);
    let ip = ip.parse::<IpAddr>().ok()?;
    Some(SocketAddr::new(ip, u16::from(hi) << 8 | u16::from(lo)))
}

/// The netid of a transport protocol (`IPPROTO_TCP`/`IPPROTO_UDP`) over `ip`'s family.
pub fn netid(ipproto: u32, ip: IpAddr) -> Option<&'static str> {
    use super::portmap::{IPPROTO_TCP, IPPROTO_UDP};
    Some(match (ipproto, ip.is_ipv6()) {
        (IPPROTO_TCP, false) => "tcp",
        (IPPROTO_TCP, true) => "tcp6",
        (IPPROTO_UDP, false) => "udp",
        (IPPROTO_UDP, true) => "udp6",
        _ => return None,
    })
}

/// The transport protocol (`IPPROTO_TCP`/`IPPROTO_UDP`) of a netid.
pub fn ipproto_of(netid: &[u8]) -> Option<u32> {
    use super::portmap::{IPPROTO_TCP, IPPROTO_UDP};
    match netid {
        b"tcp" | b"tcp6" => Some(IPPROTO_TCP),
        b"udp" | b"udp6" => Some(IPPROTO_UDP),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::xdr::encode_to_vec;

    #[test]
    fn rpcb_golden_bytes() {
        let set = RpcbindCall::Set(Rpcb {
            prog: 100_021,
            vers: 4,
            netid: b"tcp",
            addr: b"0.0.0.0.8.1",
            owner: b"slatenfs",
        });
        let mut want = Vec::new();
        for w in [100_021u32, 4, 3] {
            want.extend_from_slice(&w.to_be_bytes());
        }
        want.extend_from_slice(b"tcp\0");
        want.extend_from_slice(&11u32.to_be_bytes());
        want.extend_from_slice(b"0.0.0.0.8.1\0");
        want.extend_from_slice(&8u32.to_be_bytes());
        want.extend_from_slice(b"slatenfs");
        assert_eq!(encode_to_vec(&set), want);
        assert_eq!(RpcbindCall::decode(4, rpcbproc::SET, &want).unwrap(), set);
        // GETVERSADDR exists in version 4 only.
        assert!(RpcbindCall::decode(4, rpcbproc::GETVERSADDR, &want).is_ok());
        assert_eq!(
            RpcbindCall::decode(3, rpcbproc::GETVERSADDR, &want),
            Err(DecodeError::UnknownProcedure(rpcbproc::GETVERSADDR))
        );
        assert_eq!(
            RpcbindCall::decode(4, rpcbproc::CALLIT, &want),
            Err(DecodeError::UnknownProcedure(rpcbproc::CALLIT))
        );
    }

    #[test]
    fn replies_round_trip() {
        for (proc, reply) in [
            (rpcbproc::SET, RpcbindReply::Set(true)),
            (rpcbproc::UNSET, RpcbindReply::Unset(false)),
            (
                rpcbproc::GETADDR,
                RpcbindReply::Getaddr("127.0.0.1.0.111".into()),
            ),
            (rpcbproc::GETADDR, RpcbindReply::Getaddr(String::new())),
            (rpcbproc::GETTIME, RpcbindReply::Gettime(1_700_000_000)),
            (
                rpcbproc::DUMP,
                RpcbindReply::Dump(vec![RpcbEntry {
                    prog: 100_024,
                    vers: 1,
                    netid: "udp".into(),
                    addr: "0.0.0.0.3.232".into(),
                    owner: "slatenfs".into(),
                }]),
            ),
        ] {
            let wire = encode_to_vec(&reply);
            assert_eq!(RpcbindReply::decode(proc, &wire).unwrap(), reply);
        }
        // An empty GETADDR answer is a zero-length string.
        assert_eq!(
            encode_to_vec(&RpcbindReply::Getaddr(String::new())),
            [0, 0, 0, 0]
        );
    }

    #[test]
    fn universal_addresses() {
        let a: SocketAddr = "10.0.2.2:2049".parse().unwrap();
        assert_eq!(uaddr(a), "10.0.2.2.8.1");
        assert_eq!(parse_uaddr("10.0.2.2.8.1"), Some(a));
        let b: SocketAddr = "[::1]:111".parse().unwrap();
        assert_eq!(uaddr(b), "::1.0.111");
        assert_eq!(parse_uaddr("::1.0.111"), Some(b));
        for bad in ["", "1.2.3.4", "1.2.3.4.256.1", "host.8.1", "1.2.3.4.8.x"] {
            assert_eq!(parse_uaddr(bad), None, "{bad}");
        }
        assert_eq!(netid(6, "::1".parse().unwrap()), Some("tcp6"));
        assert_eq!(netid(17, "1.2.3.4".parse().unwrap()), Some("udp"));
        assert_eq!(ipproto_of(b"udp6"), Some(17));
        assert_eq!(ipproto_of(b"local"), None);
    }
}
