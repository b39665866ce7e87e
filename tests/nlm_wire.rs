//! The lock manager's protocols over the wire, without sockets (see `common::wire`): NLM v4
//! between two clients (exclusion, TEST holders, a blocked lock granted by callback, the
//! asynchronous `*_MSG` forms), NSM restart notifications, rpcbind v3/v4 answers, routing of
//! NLM calls to the file's core, and the RPC-level answers (stale handles, unknown procedures
//! and versions, no lock manager).

mod common;

use std::sync::Arc;

use common::wire::{peer, root, Raw, Wire};
use futures::executor::block_on;
use parking_lot::Mutex;
use slatenfs::lockmgr::parse_grant_cookie;
use slatenfs::proto::connection::Call;
use slatenfs::proto::nlm4::*;
use slatenfs::proto::nsm::{self, NsmCall, StatChge};
use slatenfs::proto::outbound::{OutboundCall, Outbox};
use slatenfs::proto::rpc::ReplyStatus;
use slatenfs::proto::rpcbind::{self, Rpcb, RpcbindCall, RpcbindReply};
use slatenfs::proto::xdr::encode_to_vec;
use slatenfs::server::Service;

/// Keeps the calls the lock manager makes to clients.
#[derive(Default)]
struct Recorder(Mutex<Vec<OutboundCall>>);

impl Outbox for Recorder {
    fn send(&self, call: OutboundCall) {
        self.0.lock().push(call);
    }
}

impl Recorder {
    fn take(&self) -> Vec<OutboundCall> {
        std::mem::take(&mut *self.0.lock())
    }
}

const A: &str = "10.0.0.1:801";
const B: &str = "10.0.0.2:802";

fn alock<'a>(caller: &'a [u8], fh: &'a [u8], svid: i32, offset: u64, len: u64) -> Nlm4Lock<'a> {
    Nlm4Lock {
        caller_name: caller,
        fh,
        oh: b"owner",
        svid,
        l_offset: offset,
        l_len: len,
    }
}

fn lock_args<'a>(alock: Nlm4Lock<'a>, block: bool) -> Nlm4LockArgs<'a> {
    Nlm4LockArgs {
        cookie: b"ck",
        block,
        exclusive: true,
        alock,
        reclaim: false,
        state: 1,
    }
}

impl Wire {
    /// One NLM call from `from`; its decoded reply.
    async fn nlm(&mut self, from: &str, call: &Nlm4Call<'_>) -> Vec<u8> {
        self.peer = peer(from);
        match self
            .rpc(PROGRAM, VERSION, call.proc_num(), &root(), call)
            .await
        {
            ReplyStatus::Success(b) => b.to_vec(),
            other => panic!("{} got {other:?}", nlmproc4::name(call.proc_num())),
        }
    }

    async fn nlm_stat(&mut self, from: &str, call: &Nlm4Call<'_>) -> Nlm4Stats {
        let body = self.nlm(from, call).await;
        match Nlm4Reply::decode(call.proc_num(), &body).unwrap() {
            Nlm4Reply::Res(r) => {
                assert_eq!(r.cookie, b"ck", "the cookie comes back");
                r.stat
            }
            Nlm4Reply::Share(r) => r.stat,
            Nlm4Reply::Test(r) => r.stat.stat(),
            Nlm4Reply::Void => panic!("no status"),
        }
    }

    async fn file(&mut self, name: &[u8]) -> Vec<u8> {
        let root_fh = self.root_fh().await;
        self.create(&root(), &root_fh, name).await.unwrap()
    }
}

#[test]
fn two_clients_exclude_each_other_and_a_blocked_lock_is_called_back() {
    block_on(async {
        let outbox = Arc::new(Recorder::default());
        let mut w = Wire::with_locks(outbox.clone()).await;
        let fh = w.file(b"f").await;
        let a = alock(b"host-a", &fh, 11, 0, 100);
        assert_eq!(
            w.nlm_stat(A, &Nlm4Call::Lock(lock_args(a, false))).await,
            Nlm4Stats::Granted
        );

        // B sees A's lock in TEST, with its owner and range.
        let b = alock(b"host-b", &fh, 22, 50, 0);
        let test = Nlm4TestArgs {
            cookie: b"ck",
            exclusive: false,
            alock: b,
        };
        let body = w.nlm(B, &Nlm4Call::Test(test)).await;
        let Nlm4Reply::Test(r) = Nlm4Reply::decode(nlmproc4::TEST, &body).unwrap() else {
            panic!()
        };
        assert_eq!(
            r.stat,
            Nlm4TestRply::Denied(Nlm4Holder {
                exclusive: true,
                svid: 11,
                oh: b"owner",
                l_offset: 0,
                l_len: 100
            })
        );
        // The same process name on the same host is one owner: no conflict with itself.
        let a_again = Nlm4TestArgs {
            cookie: b"ck",
            exclusive: true,
            alock: a,
        };
        assert_eq!(
            w.nlm_stat(A, &Nlm4Call::Test(a_again)).await,
            Nlm4Stats::Granted
        );
        // The same caller name from another address is another host.
        assert_eq!(
            w.nlm_stat(B, &Nlm4Call::Test(a_again)).await,
            Nlm4Stats::Denied
        );

        assert_eq!(
            w.nlm_stat(B, &Nlm4Call::Lock(lock_args(b, false))).await,
            Nlm4Stats::Denied
        );
        assert_eq!(
            w.nlm_stat(B, &Nlm4Call::Lock(lock_args(b, true))).await,
            Nlm4Stats::Blocked
        );
        assert!(outbox.take().is_empty());
        let unlock = Nlm4UnlockArgs {
            cookie: b"ck",
            alock: a,
        };
        assert_eq!(
            w.nlm_stat(A, &Nlm4Call::Unlock(unlock)).await,
            Nlm4Stats::Granted
        );

        // The server calls B back with GRANTED_MSG, from the address B talked to.
        let calls = outbox.take();
        assert_eq!(calls.len(), 1);
        let call = &calls[0];
        assert_eq!(call.to.to_string(), "10.0.0.2");
        assert_eq!(
            call.from.map(|a| a.to_string()).as_deref(),
            Some("127.0.0.1")
        );
        assert_eq!(
            (call.prog, call.vers, call.procedure),
            (PROGRAM, VERSION, nlmproc4::GRANTED_MSG)
        );
        let Nlm4Call::GrantedMsg(g) = Nlm4Call::decode(nlmproc4::GRANTED_MSG, &call.args).unwrap()
        else {
            panic!()
        };
        assert_eq!(g.alock, b);
        // B's GRANTED_RES is routed to the file's core through the cookie.
        let res = Nlm4Call::GrantedRes(Nlm4Res {
            cookie: g.cookie,
            stat: Nlm4Stats::Granted,
        });
        let (ino, _) = parse_grant_cookie(g.cookie).unwrap();
        let routed = w.service.route(&call_of(&res));
        assert_eq!(routed, Some(ino));
        assert_eq!(
            routed,
            w.service
                .route(&call_of(&Nlm4Call::Lock(lock_args(b, true))))
        );
        assert!(w.nlm(B, &res).await.is_empty());
        // B holds the lock now.
        assert_eq!(
            w.nlm_stat(A, &Nlm4Call::Lock(lock_args(a, false))).await,
            Nlm4Stats::Denied
        );
    });
}

fn call_of(args: &Nlm4Call<'_>) -> Call {
    Call {
        xid: 1,
        prog: PROGRAM,
        vers: VERSION,
        procedure: args.proc_num(),
        cred: Default::default(),
        args: encode_to_vec(args).into(),
    }
}

#[test]
fn msg_forms_answer_with_a_result_callback() {
    block_on(async {
        let outbox = Arc::new(Recorder::default());
        let mut w = Wire::with_locks(outbox.clone()).await;
        let fh = w.file(b"f").await;
        let a = alock(b"host-a", &fh, 1, 0, 0);
        assert!(w
            .nlm(A, &Nlm4Call::LockMsg(lock_args(a, false)))
            .await
            .is_empty());
        let b = alock(b"host-b", &fh, 2, 0, 0);
        let test = Nlm4TestArgs {
            cookie: b"ck",
            exclusive: true,
            alock: b,
        };
        assert!(w.nlm(B, &Nlm4Call::TestMsg(test)).await.is_empty());
        let calls = outbox.take();
        assert_eq!(calls.len(), 2);
        assert_eq!(calls[0].procedure, nlmproc4::LOCK_RES);
        assert_eq!(calls[0].to.to_string(), "10.0.0.1");
        let Nlm4Call::LockRes(r) = Nlm4Call::decode(nlmproc4::LOCK_RES, &calls[0].args).unwrap()
        else {
            panic!()
        };
        assert_eq!((r.cookie, r.stat), (&b"ck"[..], Nlm4Stats::Granted));
        assert_eq!(calls[1].procedure, nlmproc4::TEST_RES);
        let Nlm4Call::TestRes(r) = Nlm4Call::decode(nlmproc4::TEST_RES, &calls[1].args).unwrap()
        else {
            panic!()
        };
        assert_eq!(r.stat.stat(), Nlm4Stats::Denied);
    });
}

#[test]
fn a_client_restart_releases_its_locks() {
    block_on(async {
        let outbox = Arc::new(Recorder::default());
        let mut w = Wire::with_locks(outbox.clone()).await;
        let fh = w.file(b"f").await;
        let a = alock(b"host-a", &fh, 1, 0, 0);
        let b = alock(b"host-b", &fh, 1, 0, 0);
        assert_eq!(
            w.nlm_stat(A, &Nlm4Call::Lock(lock_args(a, false))).await,
            Nlm4Stats::Granted
        );
        assert_eq!(
            w.nlm_stat(B, &Nlm4Call::Lock(lock_args(b, false))).await,
            Nlm4Stats::Denied
        );
        let notify = NsmCall::Notify(StatChge {
            mon_name: b"host-a",
            state: 3,
        });
        w.peer = peer(A);
        let st = w
            .rpc(
                nsm::PROGRAM,
                nsm::VERSION,
                notify.proc_num(),
                &root(),
                &notify,
            )
            .await;
        assert!(matches!(st, ReplyStatus::Success(_)), "{st:?}");
        assert_eq!(
            w.nlm_stat(B, &Nlm4Call::Lock(lock_args(b, false))).await,
            Nlm4Stats::Granted
        );
        // FREE_ALL does the same.
        let free = Nlm4Call::FreeAll(Nlm4Notify {
            name: b"host-b",
            state: 5,
        });
        assert!(w.nlm(B, &free).await.is_empty());
        assert_eq!(
            w.nlm_stat(A, &Nlm4Call::Lock(lock_args(a, false))).await,
            Nlm4Stats::Granted
        );
        // SM_MON is not for remote callers.
        let st = w
            .rpc(
                nsm::PROGRAM,
                nsm::VERSION,
                2,
                &root(),
                &Raw(encode_to_vec(&nsm::Mon {
                    mon_id: nsm::MonId {
                        mon_name: b"x",
                        my_id: nsm::MyId {
                            my_name: b"y",
                            my_prog: 1,
                            my_vers: 1,
                            my_proc: 1,
                        },
                    },
                    priv_: [0; 16],
                })),
            )
            .await;
        let ReplyStatus::Success(body) = st else {
            panic!("{st:?}")
        };
        let nsm::NsmReply::StatRes(r) = nsm::NsmReply::decode(2, &body).unwrap() else {
            panic!()
        };
        assert_eq!(r.res_stat, nsm::SmRes::Fail);
    });
}

#[test]
fn stale_handles_unknown_procedures_and_versions() {
    block_on(async {
        let outbox = Arc::new(Recorder::default());
        let mut w = Wire::with_locks(outbox.clone()).await;
        let fh = w.file(b"gone").await;
        let root_fh = w.root_fh().await;
        let remove = slatenfs::proto::nfs3::Nfs3Call::Remove(slatenfs::proto::nfs3::Remove3Args {
            object: slatenfs::proto::nfs3::Diropargs3 {
                dir: slatenfs::proto::nfs3::NfsFh3(&root_fh),
                name: b"gone",
            },
        });
        w.nfs(&root(), remove).await;
        for handle in [&fh[..], &[1, 2, 3, 4][..]] {
            let l = alock(b"h", handle, 1, 0, 0);
            assert_eq!(
                w.nlm_stat(A, &Nlm4Call::Lock(lock_args(l, false))).await,
                Nlm4Stats::StaleFh
            );
            let t = Nlm4TestArgs {
                cookie: b"ck",
                exclusive: true,
                alock: l,
            };
            assert_eq!(w.nlm_stat(A, &Nlm4Call::Test(t)).await, Nlm4Stats::StaleFh);
        }
        for procedure in 16..=19 {
            let st = w
                .rpc(PROGRAM, VERSION, procedure, &root(), &Raw(vec![0; 64]))
                .await;
            assert_eq!(st, ReplyStatus::ProcUnavail, "{procedure}");
        }
        let st = w.rpc(PROGRAM, 3, 1, &root(), &Raw(vec![])).await;
        assert_eq!(st, ReplyStatus::ProgMismatch { low: 4, high: 4 });
        let st = w
            .rpc(
                PROGRAM,
                VERSION,
                nlmproc4::LOCK,
                &root(),
                &Raw(vec![0, 0, 0, 9]),
            )
            .await;
        assert_eq!(st, ReplyStatus::GarbageArgs);
        assert!(outbox.take().is_empty());
    });
}

#[test]
fn rpcbind_tells_where_the_lock_manager_is() {
    block_on(async {
        let mut w = Wire::with_locks(Arc::new(Recorder::default())).await;
        let q = |prog, vers, netid: &'static [u8]| Rpcb {
            prog,
            vers,
            netid,
            addr: b"",
            owner: b"",
        };
        for (vers, call, want) in [
            (
                4,
                RpcbindCall::Getaddr(q(PROGRAM, VERSION, b"tcp")),
                "127.0.0.1.8.1",
            ),
            (
                3,
                RpcbindCall::Getaddr(q(nsm::PROGRAM, 1, b"udp")),
                "127.0.0.1.8.1",
            ),
            (4, RpcbindCall::Getversaddr(q(PROGRAM, 3, b"tcp")), ""),
            // Version 4's GETADDR names another version of a program that is here.
            (
                4,
                RpcbindCall::Getaddr(q(PROGRAM, 3, b"tcp")),
                "127.0.0.1.8.1",
            ),
            // The transport of the question when no netid is given.
            (
                4,
                RpcbindCall::Getaddr(q(PROGRAM, VERSION, b"")),
                "127.0.0.1.8.1",
            ),
            (3, RpcbindCall::Getaddr(q(100_227, 3, b"tcp")), ""),
        ] {
            let st = w
                .rpc(rpcbind::PROGRAM, vers, call.proc_num(), &root(), &call)
                .await;
            let ReplyStatus::Success(body) = st else {
                panic!("{st:?}")
            };
            let got = match RpcbindReply::decode(call.proc_num(), &body).unwrap() {
                RpcbindReply::Getaddr(a) | RpcbindReply::Getversaddr(a) => a,
                other => panic!("{other:?}"),
            };
            assert_eq!(got, want, "{call:?}");
        }
        let st = w.rpc(rpcbind::PROGRAM, 4, 4, &root(), &Raw(vec![])).await;
        let ReplyStatus::Success(body) = st else {
            panic!("{st:?}")
        };
        let RpcbindReply::Dump(list) = RpcbindReply::decode(4, &body).unwrap() else {
            panic!()
        };
        assert!(list
            .iter()
            .any(|e| e.prog == PROGRAM && e.netid == "udp" && e.addr == "127.0.0.1.8.1"));
        // Registrations from the network are refused.
        let set = RpcbindCall::Set(q(PROGRAM, VERSION, b"tcp"));
        let st = w
            .rpc(rpcbind::PROGRAM, 4, set.proc_num(), &root(), &set)
            .await;
        let ReplyStatus::Success(body) = st else {
            panic!("{st:?}")
        };
        assert_eq!(
            RpcbindReply::decode(1, &body).unwrap(),
            RpcbindReply::Set(false)
        );
    });
}

#[test]
fn without_a_lock_manager_nothing_changes() {
    block_on(async {
        let mut w = Wire::new().await;
        let st = w.rpc(PROGRAM, VERSION, 0, &root(), &Raw(vec![])).await;
        assert_eq!(st, ReplyStatus::ProgUnavail);
        let st = w
            .rpc(nsm::PROGRAM, nsm::VERSION, 0, &root(), &Raw(vec![]))
            .await;
        assert_eq!(st, ReplyStatus::ProgUnavail);
        let st = w.rpc(rpcbind::PROGRAM, 4, 0, &root(), &Raw(vec![])).await;
        assert_eq!(st, ReplyStatus::ProgMismatch { low: 2, high: 2 });
    });
}

/// A lock request needs a handle of an export that admits the calling host: from a host the
/// rules do not admit, even a valid handle names no file (NLM4_STALE_FH), and a reload that
/// admits it makes the same request work.
#[test]
fn hosts_outside_the_export_rules_cannot_lock() {
    block_on(async {
        let outbox = Arc::new(Recorder::default());
        let mut w = Wire::with_locks(outbox).await;
        let fh = w.file(b"f").await;
        w.reload(&["/ 127.0.0.1(rw,no_root_squash,insecure) 10.0.0.1(rw,insecure)"]);
        let b = alock(b"host-b", &fh, 22, 0, 10);
        assert_eq!(
            w.nlm_stat(B, &Nlm4Call::Lock(lock_args(b, false))).await,
            Nlm4Stats::StaleFh
        );
        let a = alock(b"host-a", &fh, 11, 0, 10);
        assert_eq!(
            w.nlm_stat(A, &Nlm4Call::Lock(lock_args(a, false))).await,
            Nlm4Stats::Granted
        );
        w.reload(&["/ *(rw,insecure)"]);
        let b = alock(b"host-b", &fh, 22, 20, 10);
        assert_eq!(
            w.nlm_stat(B, &Nlm4Call::Lock(lock_args(b, false))).await,
            Nlm4Stats::Granted
        );
    });
}
