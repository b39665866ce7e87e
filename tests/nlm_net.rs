//! The lock manager over real sockets: the server binary with two NLM clients over TCP and a
//! restart notification by UDP; and the server's calls to its clients (GRANTED_MSG after a
//! blocked lock is granted, SM_NOTIFY after a restart) through the runtime's outbox to a fake
//! client host (a portmapper and a lock manager on loopback).

mod common;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, UdpSocket};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use common::server::{ServeOptions, Server};
use futures::executor::block_on;
use parking_lot::Mutex;
use slatenfs::lockmgr::{ClientAddr, LockManager, LockManagerConfig};
use slatenfs::proto::auth::Credential;
use slatenfs::proto::connection::{CallReply, ServerConfig, ServerConnection};
use slatenfs::proto::datagram::encode_call;
use slatenfs::proto::nlm4::*;
use slatenfs::proto::nsm::{self, smproc, NsmCall, StatChge};
use slatenfs::proto::portmap::{self, Mapping, PortmapCall, PortmapReply, IPPROTO_TCP};
use slatenfs::proto::rpc::{decode_reply, ReplyStatus};
use slatenfs::proto::xdr::{XdrEncode, XdrSink};
use slatenfs::server::outgoing::{Outgoing, OutgoingConfig};
use slatenfs::store::Store;

const TIMEOUT: Duration = Duration::from_secs(30);

fn lock_args<'a>(caller: &'a [u8], fh: &'a [u8], block: bool) -> Nlm4LockArgs<'a> {
    Nlm4LockArgs {
        cookie: b"c",
        block,
        exclusive: true,
        alock: Nlm4Lock {
            caller_name: caller,
            fh,
            oh: b"oh",
            svid: 1,
            l_offset: 0,
            l_len: 0,
        },
        reclaim: false,
        state: 1,
    }
}

/// One call by UDP to `to`; its reply.
fn udp_call(
    to: SocketAddr,
    prog: u32,
    vers: u32,
    procedure: u32,
    args: &dyn XdrEncode,
) -> ReplyStatus {
    let sock = UdpSocket::bind("127.0.0.1:0").unwrap();
    sock.set_read_timeout(Some(TIMEOUT)).unwrap();
    let msg = encode_call(0x5150, prog, vers, procedure, &Credential::None, args);
    sock.send_to(&msg, to).unwrap();
    let mut buf = vec![0u8; 65536];
    let (n, _) = sock.recv_from(&mut buf).unwrap();
    let reply = decode_reply(&Bytes::copy_from_slice(&buf[..n])).unwrap();
    assert_eq!(reply.xid, 0x5150);
    reply.status
}

#[test]
fn two_clients_over_tcp_and_a_restart_notification_by_udp() {
    let server = Server::start(&ServeOptions::default());
    let mut nfs = server.connect(b"setup", TIMEOUT);
    let root = nfs.mount(b"/").unwrap();
    let fh = nfs.create(&root, b"locked", 0o644, true).unwrap();
    // NLM is on the NFS port; each client its own connection, as each host would have.
    let mut a = server.connect(b"host-a", TIMEOUT);
    let mut b = server.connect(b"host-b", TIMEOUT);
    assert_eq!(
        a.nlm_lock(&lock_args(b"host-a", &fh, false), true).unwrap(),
        Nlm4Stats::Granted
    );
    assert_eq!(
        b.nlm_lock(&lock_args(b"host-b", &fh, false), true).unwrap(),
        Nlm4Stats::Denied
    );
    let t = Nlm4TestArgs {
        cookie: b"c",
        exclusive: false,
        alock: lock_args(b"host-b", &fh, false).alock,
    };
    let (stat, holder) = b.nlm_test(&t).unwrap();
    assert_eq!(stat, Nlm4Stats::Denied);
    assert_eq!(
        holder.map(|h| (h.oh, h.exclusive)),
        Some((b"oh".to_vec(), true))
    );

    // Portmap answers by UDP too, and names the lock manager's port.
    let q = PortmapCall::Getport(Mapping {
        prog: PROGRAM,
        vers: VERSION,
        prot: IPPROTO_TCP,
        port: 0,
    });
    let st = udp_call(
        server.addr(),
        portmap::PROGRAM,
        portmap::VERSION,
        q.proc_num(),
        &q,
    );
    let ReplyStatus::Success(body) = st else {
        panic!("{st:?}")
    };
    assert_eq!(
        PortmapReply::decode(q.proc_num(), &body).unwrap(),
        PortmapReply::Getport(u32::from(server.addr().port()))
    );
    // NFS is not served by UDP.
    assert_eq!(
        udp_call(server.addr(), 100_003, 3, 1, &Raw(&[])),
        ReplyStatus::ProgUnavail
    );

    // host-a restarted: its status monitor says so by UDP, as sm-notify does.
    let notify = NsmCall::Notify(StatChge {
        mon_name: b"host-a",
        state: 7,
    });
    let st = udp_call(
        server.addr(),
        nsm::PROGRAM,
        nsm::VERSION,
        smproc::NOTIFY,
        &notify,
    );
    assert!(matches!(st, ReplyStatus::Success(_)), "{st:?}");
    assert_eq!(
        b.nlm_lock(&lock_args(b"host-b", &fh, false), true).unwrap(),
        Nlm4Stats::Granted
    );
    let unlock = lock_args(b"host-b", &fh, false).alock;
    assert_eq!(b.nlm_unlock(b"c", unlock).unwrap(), Nlm4Stats::Granted);
    assert_eq!(server.stop(TIMEOUT).map(|s| s.success()), Some(true));
}

struct Raw<'a>(&'a [u8]);
impl XdrEncode for Raw<'_> {
    fn encode(&self, out: &mut XdrSink) {
        out.head_mut().extend_from_slice(self.0);
    }
}

/// Serves RPC on `listener` until the test ends: every call of `config`'s programs goes to
/// `answer`.
fn serve_rpc(
    listener: TcpListener,
    config: ServerConfig,
    answer: impl Fn(&slatenfs::proto::connection::Call) -> CallReply + Send + Sync + 'static,
) {
    let config = Arc::new(config);
    let answer = Arc::new(answer);
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { return };
            let (config, answer) = (config.clone(), answer.clone());
            std::thread::spawn(move || {
                let mut conn = ServerConnection::new(config);
                let mut buf = vec![0u8; 65536];
                loop {
                    let n = match stream.read(&mut buf) {
                        Ok(0) | Err(_) => return,
                        Ok(n) => n,
                    };
                    if conn.handle_input(&buf[..n]).is_err() {
                        return;
                    }
                    while let Some(call) = conn.poll_call() {
                        let reply = answer(&call);
                        conn.answer(call.xid, reply);
                    }
                    while let Some(out) = conn.poll_transmit() {
                        if stream.write_all(&out).is_err() {
                            return;
                        }
                    }
                }
            });
        }
    });
}

/// The calls a fake client got: program, procedure, arguments.
type RecordedCalls = Arc<Mutex<Vec<(u32, u32, Vec<u8>)>>>;

/// A client host on loopback: a portmapper (at a port of its own instead of 111) naming a lock
/// manager and a status monitor, which record the calls they get.
struct FakeClient {
    portmapper: u16,
    calls: RecordedCalls,
}

impl FakeClient {
    fn start() -> FakeClient {
        let services = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = services.local_addr().unwrap().port();
        let calls = Arc::new(Mutex::new(Vec::new()));
        let recorded = calls.clone();
        serve_rpc(
            services,
            ServerConfig::new(1 << 16)
                .program(PROGRAM, VERSION, VERSION, MAX_PROC)
                .program(nsm::PROGRAM, nsm::VERSION, nsm::VERSION, nsm::MAX_PROC),
            move |call| {
                recorded
                    .lock()
                    .push((call.prog, call.procedure, call.args.to_vec()));
                CallReply::Results(vec![])
            },
        );
        let pm = TcpListener::bind("127.0.0.1:0").unwrap();
        let portmapper = pm.local_addr().unwrap().port();
        serve_rpc(
            pm,
            ServerConfig::new(1 << 16).program(portmap::PROGRAM, 2, 2, 5),
            move |call| {
                let Ok(PortmapCall::Getport(m)) = PortmapCall::decode(call.procedure, &call.args)
                else {
                    return CallReply::ProcUnavail;
                };
                let known = [(PROGRAM, VERSION), (nsm::PROGRAM, nsm::VERSION)]
                    .contains(&(m.prog, m.vers))
                    && m.prot == IPPROTO_TCP;
                let mut out = XdrSink::new();
                PortmapReply::Getport(if known { u32::from(port) } else { 0 }).encode(&mut out);
                CallReply::from_sink(out)
            },
        );
        FakeClient { portmapper, calls }
    }

    /// Waits (30 s at most) until `n` calls were recorded; returns them.
    fn wait_calls(&self, n: usize) -> Vec<(u32, u32, Vec<u8>)> {
        let until = Instant::now() + TIMEOUT;
        while self.calls.lock().len() < n && Instant::now() < until {
            std::thread::sleep(Duration::from_millis(20));
        }
        self.calls.lock().clone()
    }
}

#[test]
fn the_server_calls_its_clients_back() {
    let client = FakeClient::start();
    let outgoing = Arc::new(
        Outgoing::start(OutgoingConfig {
            portmap_port: client.portmapper,
            timeout: Duration::from_secs(10),
        })
        .unwrap(),
    );
    let store = block_on(Store::open_in_memory()).unwrap();
    let config = LockManagerConfig {
        grace_period: Duration::from_secs(30),
        ..LockManagerConfig::default()
    };
    let from = ClientAddr {
        remote: "127.0.0.1".parse().unwrap(),
        local: "127.0.0.1".parse().unwrap(),
    };
    let now = Instant::now();
    let m = block_on(LockManager::open(
        Some(store.clone()),
        config.clone(),
        outgoing.clone(),
        now,
    ))
    .unwrap();
    let fh = [9u8; 8];
    assert_eq!(
        block_on(m.lock(from, 5, &lock_args(b"a", &fh, false), true, now)),
        Nlm4Stats::Granted
    );
    let waiter = lock_args(b"b", &fh, true);
    assert_eq!(
        block_on(m.lock(from, 5, &waiter, true, now)),
        Nlm4Stats::Blocked
    );
    m.unlock(from, 5, &lock_args(b"a", &fh, false).alock, now);
    let calls = client.wait_calls(1);
    assert_eq!(
        calls.len(),
        1,
        "GRANTED_MSG reached the client's lock manager"
    );
    let (prog, procedure, args) = &calls[0];
    assert_eq!((*prog, *procedure), (PROGRAM, nlmproc4::GRANTED_MSG));
    let Nlm4Call::GrantedMsg(g) = Nlm4Call::decode(*procedure, args).unwrap() else {
        panic!()
    };
    assert_eq!(g.alock, waiter.alock);
    let until = Instant::now() + TIMEOUT;
    while m.stats().grants_delivered == 0 && Instant::now() < until {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(m.stats().grants_delivered, 1);
    drop(m);

    // After a restart both monitored hosts (a and b, one address) are told, from the address
    // they called.
    let m = block_on(LockManager::open(
        Some(store),
        config,
        outgoing,
        Instant::now(),
    ))
    .unwrap();
    assert!(m.in_grace(Instant::now()));
    block_on(m.tick(Instant::now()));
    let calls = client.wait_calls(3);
    let notifies: Vec<_> = calls[1..]
        .iter()
        .map(|(prog, procedure, args)| {
            assert_eq!((*prog, *procedure), (nsm::PROGRAM, smproc::NOTIFY));
            let NsmCall::Notify(n) = NsmCall::decode(*procedure, args).unwrap() else {
                panic!()
            };
            (n.mon_name.to_vec(), n.state)
        })
        .collect();
    assert_eq!(notifies, vec![(b"127.0.0.1".to_vec(), m.state()); 2]);
    let until = Instant::now() + TIMEOUT;
    while m.pending_notifies() > 0 && Instant::now() < until {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(m.pending_notifies(), 0);
}
