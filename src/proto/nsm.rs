//! Network Status Monitor version 1 (program 100024, `sm_inter.x` in the XNFS specification):
//! how lock managers learn that a peer restarted.
//!
//! A host keeps a state number that is odd while it is up and grows at every restart. When a
//! host restarts it sends SM_NOTIFY (its name and new state) to the status monitor of every peer
//! it held locks with or granted locks to; the peer then drops (server) or reclaims (client)
//! those locks. SM_MON, SM_UNMON and friends are the local interface between a lock manager and
//! its own status monitor.
//!
//! ```text
//! stat_chge:   mon_name<1024> | state int
//! mon:         mon_name<1024> | my_name<1024> | my_prog | my_vers | my_proc | priv opaque[16]
//! sm_stat_res: res_stat (0 stat_succ, 1 stat_fail) | state int
//! ```

use crate::proto::xdr::{self, DecodeError, XdrDecode, XdrEncode, XdrResult, XdrSink, XdrWrite};

use super::nfs3::types::xdr_enum;

/// NSM program number.
pub const PROGRAM: u32 = 100_024;
/// The NSM version.
pub const VERSION: u32 = 1;
/// Highest NSM procedure number (SM_NOTIFY).
pub const MAX_PROC: u32 = 6;
/// Longest host name (`SM_MAXSTRLEN`).
pub const SM_MAXSTRLEN: usize = 1024;
/// Size of the `priv` cookie a lock manager gets back in its callback.
pub const SM_PRIV_SIZE: usize = 16;

/// NSM procedure numbers.
pub mod smproc {
    pub const NULL: u32 = 0;
    pub const STAT: u32 = 1;
    pub const MON: u32 = 2;
    pub const UNMON: u32 = 3;
    pub const UNMON_ALL: u32 = 4;
    pub const SIMU_CRASH: u32 = 5;
    pub const NOTIFY: u32 = 6;
}

xdr_enum! {
    /// `res`: the outcome of SM_STAT and SM_MON.
    pub enum SmRes {
        Succ = 0,
        Fail = 1,
    }
}

fn name(input: &[u8]) -> XdrResult<'_, &[u8]> {
    xdr::string(SM_MAXSTRLEN)(input)
}

/// `my_id`: the lock manager to call back (program, version and procedure on this host).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MyId<'a> {
    pub my_name: &'a [u8],
    pub my_prog: u32,
    pub my_vers: u32,
    pub my_proc: u32,
}

impl XdrEncode for MyId<'_> {
    fn encode(&self, out: &mut XdrSink) {
        out.put_xdr_opaque_var(self.my_name);
        out.put_xdr_u32(self.my_prog);
        out.put_xdr_u32(self.my_vers);
        out.put_xdr_u32(self.my_proc);
    }
}

impl<'a> XdrDecode<'a> for MyId<'a> {
    fn decode(input: &'a [u8]) -> XdrResult<'a, Self> {
        let (input, my_name) = name(input)?;
        let (input, my_prog) = xdr::u32(input)?;
        let (input, my_vers) = xdr::u32(input)?;
        let (input, my_proc) = xdr::u32(input)?;
        Ok((
            input,
            MyId {
                my_name,
                my_prog,
                my_vers,
                my_proc,
            },
        ))
    }
}

/// `mon_id`: the host to monitor and who wants to hear about it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MonId<'a> {
    pub mon_name: &'a [u8],
    pub my_id: MyId<'a>,
}

impl XdrEncode for MonId<'_> {
    fn encode(&self, out: &mut XdrSink) {
        out.put_xdr_opaque_var(self.mon_name);
        self.my_id.encode(out);
    }
}

impl<'a> XdrDecode<'a> for MonId<'a> {
    fn decode(input: &'a [u8]) -> XdrResult<'a, Self> {
        let (input, mon_name) = name(input)?;
        let (input, my_id) = MyId::decode(input)?;
        Ok((input, MonId { mon_name, my_id }))
    }
}

/// `mon`: SM_MON's argument.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Mon<'a> {
    pub mon_id: MonId<'a>,
    pub priv_: [u8; SM_PRIV_SIZE],
}

impl XdrEncode for Mon<'_> {
    fn encode(&self, out: &mut XdrSink) {
        self.mon_id.encode(out);
        out.put_xdr_opaque_fixed(&self.priv_);
    }
}

impl<'a> XdrDecode<'a> for Mon<'a> {
    fn decode(input: &'a [u8]) -> XdrResult<'a, Self> {
        let (input, mon_id) = MonId::decode(input)?;
        let (input, priv_) = <[u8; SM_PRIV_SIZE]>::decode(input)?;
        Ok((input, Mon { mon_id, priv_ }))
    }
}

/// `stat_chge`: SM_NOTIFY's argument, a host and its new state number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StatChge<'a> {
    pub mon_name: &'a [u8],
    pub state: i32,
}

impl XdrEncode for StatChge<'_> {
    fn encode(&self, out: &mut XdrSink) {
        out.put_xdr_opaque_var(self.mon_name);
        out.put_xdr_i32(self.state);
    }
}

impl<'a> XdrDecode<'a> for StatChge<'a> {
    fn decode(input: &'a [u8]) -> XdrResult<'a, Self> {
        let (input, mon_name) = name(input)?;
        let (input, state) = xdr::i32(input)?;
        Ok((input, StatChge { mon_name, state }))
    }
}

/// `sm_stat_res`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SmStatRes {
    pub res_stat: SmRes,
    pub state: i32,
}

impl XdrEncode for SmStatRes {
    fn encode(&self, out: &mut XdrSink) {
        self.res_stat.encode(out);
        out.put_xdr_i32(self.state);
    }
}

impl<'a> XdrDecode<'a> for SmStatRes {
    fn decode(input: &'a [u8]) -> XdrResult<'a, Self> {
        let (input, res_stat) = SmRes::decode(input)?;
        let (input, state) = xdr::i32(input)?;
        Ok((input, SmStatRes { res_stat, state }))
    }
}

/// One decoded NSM call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NsmCall<'a> {
    Null,
    /// SM_STAT: `sm_name`.
    Stat(&'a [u8]),
    Mon(Mon<'a>),
    Unmon(MonId<'a>),
    UnmonAll(MyId<'a>),
    SimuCrash,
    Notify(StatChge<'a>),
}

impl<'a> NsmCall<'a> {
    /// Decodes the arguments of procedure `proc`; unknown procedures are
    /// [`DecodeError::UnknownProcedure`]. Trailing bytes are ignored.
    pub fn decode(proc: u32, args: &'a [u8]) -> Result<NsmCall<'a>, DecodeError> {
        Ok(match proc {
            smproc::NULL => NsmCall::Null,
            smproc::STAT => NsmCall::Stat(name(args).map_err(DecodeError::from_nom)?.1),
            smproc::MON => NsmCall::Mon(xdr::decode_prefix(args)?),
            smproc::UNMON => NsmCall::Unmon(xdr::decode_prefix(args)?),
            smproc::UNMON_ALL => NsmCall::UnmonAll(xdr::decode_prefix(args)?),
            smproc::SIMU_CRASH => NsmCall::SimuCrash,
            smproc::NOTIFY => NsmCall::Notify(xdr::decode_prefix(args)?),
            other => return Err(DecodeError::UnknownProcedure(other)),
        })
    }

    pub fn proc_num(&self) -> u32 {
        match self {
            NsmCall::Null => smproc::NULL,
            NsmCall::Stat(_) => smproc::STAT,
            NsmCall::Mon(_) => smproc::MON,
            NsmCall::Unmon(_) => smproc::UNMON,
            NsmCall::UnmonAll(_) => smproc::UNMON_ALL,
            NsmCall::SimuCrash => smproc::SIMU_CRASH,
            NsmCall::Notify(_) => smproc::NOTIFY,
        }
    }
}

/// Encodes the argument body (client mode: SM_NOTIFY to a peer after a restart).
impl XdrEncode for NsmCall<'_> {
    fn encode(&self, out: &mut XdrSink) {
        match self {
            NsmCall::Null | NsmCall::SimuCrash => {}
            NsmCall::Stat(n) => out.put_xdr_opaque_var(n),
            NsmCall::Mon(m) => m.encode(out),
            NsmCall::Unmon(m) => m.encode(out),
            NsmCall::UnmonAll(m) => m.encode(out),
            NsmCall::Notify(n) => n.encode(out),
        }
    }
}

/// The result of one NSM procedure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NsmReply {
    /// NULL, SM_SIMU_CRASH and SM_NOTIFY return nothing.
    Void,
    /// SM_STAT and SM_MON.
    StatRes(SmStatRes),
    /// SM_UNMON and SM_UNMON_ALL: `sm_stat`, the state number.
    Stat(i32),
}

impl XdrEncode for NsmReply {
    fn encode(&self, out: &mut XdrSink) {
        match self {
            NsmReply::Void => {}
            NsmReply::StatRes(r) => r.encode(out),
            NsmReply::Stat(s) => out.put_xdr_i32(*s),
        }
    }
}

impl NsmReply {
    /// Decodes the result of procedure `proc` (client mode).
    pub fn decode(proc: u32, body: &[u8]) -> Result<NsmReply, DecodeError> {
        Ok(match proc {
            smproc::NULL | smproc::SIMU_CRASH | smproc::NOTIFY => NsmReply::Void,
            smproc::STAT | smproc::MON => NsmReply::StatRes(xdr::decode_prefix(body)?),
            smproc::UNMON | smproc::UNMON_ALL => {
                NsmReply::Stat(xdr::i32(body).map_err(DecodeError::from_nom)?.1)
            }
            other => return Err(DecodeError::UnknownProcedure(other)),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::xdr::encode_to_vec;

    fn be(words: &[u32]) -> Vec<u8> {
        words.iter().flat_map(|w| w.to_be_bytes()).collect()
    }

    #[test]
    fn notify_golden_bytes() {
        // SM_NOTIFY as sm-notify sends it: mon_name "nfsvm", state 5.
        let mut wire = be(&[5]);
        wire.extend_from_slice(b"nfsvm\0\0\0");
        wire.extend(be(&[5]));
        let call = NsmCall::decode(smproc::NOTIFY, &wire).unwrap();
        assert_eq!(
            call,
            NsmCall::Notify(StatChge {
                mon_name: b"nfsvm",
                state: 5
            })
        );
        assert_eq!(encode_to_vec(&call), wire);
        assert_eq!(
            NsmReply::decode(smproc::NOTIFY, &[]).unwrap(),
            NsmReply::Void
        );
    }

    #[test]
    fn mon_golden_bytes() {
        let mon = Mon {
            mon_id: MonId {
                mon_name: b"srv",
                my_id: MyId {
                    my_name: b"me",
                    my_prog: 100_021,
                    my_vers: 4,
                    my_proc: 16,
                },
            },
            priv_: [0xab; 16],
        };
        let mut want = be(&[3]);
        want.extend_from_slice(b"srv\0");
        want.extend(be(&[2]));
        want.extend_from_slice(b"me\0\0");
        want.extend(be(&[100_021, 4, 16]));
        want.extend_from_slice(&[0xab; 16]);
        assert_eq!(encode_to_vec(&NsmCall::Mon(mon)), want);
        assert_eq!(
            NsmCall::decode(smproc::MON, &want).unwrap(),
            NsmCall::Mon(mon)
        );
        let res = NsmReply::StatRes(SmStatRes {
            res_stat: SmRes::Fail,
            state: 7,
        });
        assert_eq!(encode_to_vec(&res), be(&[1, 7]));
        assert_eq!(NsmReply::decode(smproc::MON, &be(&[1, 7])).unwrap(), res);
        assert_eq!(
            NsmReply::decode(smproc::UNMON, &be(&[9])).unwrap(),
            NsmReply::Stat(9)
        );
    }

    #[test]
    fn errors() {
        assert_eq!(
            NsmCall::decode(7, &[]),
            Err(DecodeError::UnknownProcedure(7))
        );
        let mut long = be(&[SM_MAXSTRLEN as u32 + 1]);
        long.resize(2048, 0);
        assert_eq!(
            NsmCall::decode(smproc::NOTIFY, &long),
            Err(DecodeError::TooLong)
        );
        assert_eq!(
            NsmCall::decode(smproc::NOTIFY, &be(&[1])),
            Err(DecodeError::Truncated)
        );
        assert!(NsmReply::decode(smproc::STAT, &be(&[2, 0])).is_err());
    }
}
