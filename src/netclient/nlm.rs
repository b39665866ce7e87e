//! NLM v4, NSM and portmap calls of the blocking client: a second lock-holding client for tests
//! and tools, beside the kernel's.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use bytes::Bytes;

use crate::proto::auth::Credential;
use crate::proto::nlm4::{
    self, nlmproc4, Nlm4CancArgs, Nlm4Lock, Nlm4LockArgs, Nlm4Reply, Nlm4Stats, Nlm4TestArgs,
    Nlm4TestRply, Nlm4UnlockArgs,
};
use crate::proto::nsm::{self, smproc, NsmCall, StatChge};
use crate::proto::portmap::{self, Mapping, PortmapCall, PortmapReply};
use crate::proto::xdr::XdrEncode;

use super::{accepted, wrong_reply, ClientError, Connection};

/// The lock that made a TEST fail, owned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Holder {
    pub exclusive: bool,
    pub svid: i32,
    pub oh: Vec<u8>,
    pub l_offset: u64,
    pub l_len: u64,
}

fn nlm_reply(procedure: u32, body: &Bytes) -> Result<Nlm4Reply<'_>, ClientError> {
    Nlm4Reply::decode(procedure, body).map_err(|source| ClientError::Decode {
        procedure: nlmproc4::name(procedure),
        source,
    })
}

impl Connection {
    /// Connects to `addr` from the local address `from` (the address a server will call back
    /// and that identifies this client's host), calling as `cred`.
    pub fn connect_from(
        from: IpAddr,
        addr: SocketAddr,
        timeout: Duration,
        cred: Credential,
    ) -> Result<Connection, ClientError> {
        // std cannot bind before connecting; tokio's socket can, and hands the stream over.
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_io()
            .enable_time()
            .build()?;
        let stream = runtime.block_on(async {
            let socket = match addr {
                SocketAddr::V4(_) => tokio::net::TcpSocket::new_v4()?,
                SocketAddr::V6(_) => tokio::net::TcpSocket::new_v6()?,
            };
            socket.bind(SocketAddr::new(from, 0))?;
            tokio::time::timeout(timeout, socket.connect(addr))
                .await
                .map_err(|_| std::io::Error::from(std::io::ErrorKind::TimedOut))?
        })?;
        let stream = stream.into_std()?;
        stream.set_nonblocking(false)?;
        Connection::from_stream(stream, cred)
    }

    /// PMAP GETPORT: the port of `prog` version `vers` over `prot`, 0 if not registered.
    pub fn getport(&mut self, prog: u32, vers: u32, prot: u32) -> Result<u32, ClientError> {
        let q = PortmapCall::Getport(Mapping {
            prog,
            vers,
            prot,
            port: 0,
        });
        let st = self.call_raw(portmap::PROGRAM, portmap::VERSION, q.proc_num(), &q)?;
        let body = accepted(st)?;
        match PortmapReply::decode(q.proc_num(), &body) {
            Ok(PortmapReply::Getport(p)) => Ok(p),
            _ => Err(wrong_reply("GETPORT")),
        }
    }

    fn nlm_res(&mut self, procedure: u32, args: &dyn XdrEncode) -> Result<Nlm4Stats, ClientError> {
        let st = self.call_raw(nlm4::PROGRAM, nlm4::VERSION, procedure, args)?;
        let body = accepted(st)?;
        match nlm_reply(procedure, &body)? {
            Nlm4Reply::Res(r) => Ok(r.stat),
            _ => Err(wrong_reply(nlmproc4::name(procedure))),
        }
    }

    /// NLM LOCK (or NM_LOCK when `monitored` is false).
    pub fn nlm_lock(
        &mut self,
        args: &Nlm4LockArgs<'_>,
        monitored: bool,
    ) -> Result<Nlm4Stats, ClientError> {
        let procedure = if monitored {
            nlmproc4::LOCK
        } else {
            nlmproc4::NM_LOCK
        };
        self.nlm_res(procedure, args)
    }

    /// NLM UNLOCK.
    pub fn nlm_unlock(
        &mut self,
        cookie: &[u8],
        alock: Nlm4Lock<'_>,
    ) -> Result<Nlm4Stats, ClientError> {
        self.nlm_res(nlmproc4::UNLOCK, &Nlm4UnlockArgs { cookie, alock })
    }

    /// NLM CANCEL.
    pub fn nlm_cancel(&mut self, args: &Nlm4CancArgs<'_>) -> Result<Nlm4Stats, ClientError> {
        self.nlm_res(nlmproc4::CANCEL, args)
    }

    /// NLM TEST: the status, and the conflicting lock when DENIED.
    pub fn nlm_test(
        &mut self,
        args: &Nlm4TestArgs<'_>,
    ) -> Result<(Nlm4Stats, Option<Holder>), ClientError> {
        let st = self.call_raw(nlm4::PROGRAM, nlm4::VERSION, nlmproc4::TEST, args)?;
        let body = accepted(st)?;
        match nlm_reply(nlmproc4::TEST, &body)? {
            Nlm4Reply::Test(r) => Ok(match r.stat {
                Nlm4TestRply::Denied(h) => (
                    Nlm4Stats::Denied,
                    Some(Holder {
                        exclusive: h.exclusive,
                        svid: h.svid,
                        oh: h.oh.to_vec(),
                        l_offset: h.l_offset,
                        l_len: h.l_len,
                    }),
                ),
                Nlm4TestRply::Other(s) => (s, None),
            }),
            _ => Err(wrong_reply("TEST")),
        }
    }

    /// NSM SM_NOTIFY: `mon_name` restarted and is now at state `state`.
    pub fn sm_notify(&mut self, mon_name: &[u8], state: i32) -> Result<(), ClientError> {
        let call = NsmCall::Notify(StatChge { mon_name, state });
        accepted(self.call_raw(nsm::PROGRAM, nsm::VERSION, smproc::NOTIFY, &call)?).map(drop)
    }
}
