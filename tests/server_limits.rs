//! The runtime's limits against the real server, with real sockets from this process: the
//! connection limit, the idle / partial-record / write timeouts, the memory held for clients
//! that never read their replies, a panicking call, and a bounded shutdown. Assertions are about
//! behaviour (who is served, what is closed, what the log says, RSS read from /proc), never
//! about how fast; waits for the server to act are bounded generously.

mod common;

use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use common::client_output;
use common::server::{ServeOptions, Server};
use slatenfs::netclient::{auth_sys, ClientError};
use slatenfs::proto::client::{ClientConfig, ClientConnection};
use slatenfs::proto::nfs3::*;
use slatenfs::proto::record::RecordDecoder;
use slatenfs::proto::rpc::{decode_reply, ReplyStatus};

/// How long the test waits for the server to do what a limit says (a bound for a hung server,
/// far above the few seconds the limits are set to).
const PATIENCE: Duration = Duration::from_secs(60);

fn start(args: &[&str], log: &Path) -> Server {
    Server::start(&ServeOptions {
        args: args.iter().map(|s| s.to_string()).collect(),
        log: Some(log.to_path_buf()),
        rust_log: "info".into(),
        ..ServeOptions::default()
    })
}

/// Whether the server's log satisfies `done` within `within`.
fn log_within(log: &Path, within: Duration, done: impl Fn(&str) -> bool) -> bool {
    let until = Instant::now() + within;
    loop {
        if std::fs::read_to_string(log).is_ok_and(|l| done(&l)) {
            return true;
        }
        if Instant::now() > until {
            return false;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Whether the server logs `text` within a few seconds: it closes a connection before it logs
/// why, so a client that saw the close may look before the line is written.
fn log_has(log: &Path, text: &str) -> bool {
    log_within(log, Duration::from_secs(5), |l| l.contains(text))
}

/// Connections the log says the server accepted.
fn accepted(log: &str) -> usize {
    log.lines()
        .filter(|line| line.contains(": connection from ") && !line.contains(" closed"))
        .count()
}

/// Waits (PATIENCE at most) until the server has logged accepting `n` connections: each core
/// accepts from its own listener, so a reply on one connection says nothing of the queue of
/// another core's listener.
fn wait_accepted(log: &Path, n: usize) {
    if !log_within(log, PATIENCE, |l| accepted(l) >= n) {
        let now = std::fs::read_to_string(log).map_or(0, |l| accepted(&l));
        panic!("the server accepted {now} of {n} connections");
    }
}

/// Whether the server closes `s` within `within` (reads return end-of-file or a reset; the
/// test sends nothing and expects nothing).
fn closed_by_server(s: &mut TcpStream, within: Duration) -> bool {
    s.set_read_timeout(Some(within)).unwrap();
    let mut buf = [0u8; 4096];
    loop {
        match s.read(&mut buf) {
            Ok(0) => return true,
            Ok(_) => continue,
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                return false
            }
            Err(_) => return true,
        }
    }
}

/// One encoded call record, to send as often as a test likes.
fn record(procedure: u32, args: &dyn slatenfs::proto::xdr::XdrEncode) -> Vec<u8> {
    let mut c = ClientConnection::new(ClientConfig::default());
    c.send_call(NFS_PROGRAM, NFS_V3, procedure, &auth_sys(0, 0, b"t"), args)
        .unwrap();
    client_output(&mut c)
}

/// A 1 MiB file and the READ record of all of it.
fn big_file_read(server: &Server) -> Vec<u8> {
    let mut c = server.connect(b"setup", Duration::from_secs(30));
    let root = c.mount(b"/").unwrap();
    let f = c.create(&root, b"big", 0o644, false).unwrap();
    c.write(&f, 0, StableHow::FileSync, Bytes::from(vec![7u8; 1 << 20]))
        .unwrap();
    record(
        proc3::READ,
        &Read3Args {
            file: NfsFh3(&f),
            offset: 0,
            count: 1 << 20,
        },
    )
}

/// Sends `call` over and over on a new connection and never reads, until `stop` or until the
/// server closes the connection; whether it did.
fn flood(addr: SocketAddr, call: &[u8], stop: &AtomicBool) -> bool {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_write_timeout(Some(Duration::from_millis(200)))
        .unwrap();
    while !stop.load(Ordering::Relaxed) {
        match s.write_all(call) {
            Ok(()) => {}
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
            Err(_) => return true,
        }
    }
    false
}

fn expect_system_err(r: Result<impl std::fmt::Debug, ClientError>, what: &str) {
    match r {
        Err(ClientError::Rpc(ReplyStatus::SystemErr)) => {}
        other => panic!("{what}: {other:?}"),
    }
}

/// 2,000 idle connections fit under the limit without much memory, a new client is served
/// beside them, and connections beyond the limit are refused without disturbing the others.
#[test]
fn two_thousand_idle_connections_and_the_connection_limit() {
    const IDLE: usize = 2000;
    const LIMIT: usize = 2100;
    /// What 2,000 idle connections may cost in all (about 40 KiB each).
    const IDLE_RSS_BUDGET_KIB: u64 = 80 * 1024;
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("server.log");
    let server = start(&["--max-connections", &LIMIT.to_string()], &log);
    let mut first = server.connect(b"first", Duration::from_secs(30));
    let root = first.mount(b"/").unwrap();
    let before = server.rss_kib();

    let mut idle: Vec<TcpStream> = (0..IDLE)
        .map(|_| TcpStream::connect(server.addr()).unwrap())
        .collect();
    // Let the server accept them all (a NULL on a new connection is answered after them).
    let mut probe = server.connect(b"probe", Duration::from_secs(30));
    probe.null().unwrap();
    let grown = server.rss_kib().saturating_sub(before);
    eprintln!("RSS {before} KiB, +{grown} KiB with {IDLE} idle connections");
    assert!(
        grown < IDLE_RSS_BUDGET_KIB,
        "{IDLE} idle connections cost {grown} KiB"
    );
    // A new client is served beside them.
    let mut fresh = server.connect(b"fresh", Duration::from_secs(30));
    let fh = fresh.mount(b"/").unwrap();
    assert!(fresh.getattr(&fh).is_ok());
    // Every one of them counts before the extra ones come.
    wait_accepted(&log, IDLE + 3);

    // 2,000 idle + first + probe + fresh = 2,003: 97 more fit, the rest are refused at once.
    let mut extra: Vec<Option<TcpStream>> = (0..200)
        .map(|_| Some(TcpStream::connect(server.addr()).unwrap()))
        .collect();
    let expected_open = LIMIT - IDLE - 3;
    let mut refused = 0;
    let mut sweep = |extra: &mut Vec<Option<TcpStream>>| {
        for slot in extra.iter_mut() {
            if slot
                .as_mut()
                .is_some_and(|s| closed_by_server(s, Duration::from_millis(10)))
            {
                *slot = None;
                refused += 1;
            }
        }
    };
    // A connection beyond the limit is closed as soon as the server accepts it, but a loaded
    // server may take a while to accept what the kernel queued: look until every refusal is
    // there (PATIENCE at most), then once more after 2 s: nothing else may have been closed.
    let until = Instant::now() + PATIENCE;
    while extra.iter().flatten().count() > expected_open && Instant::now() < until {
        sweep(&mut extra);
    }
    std::thread::sleep(Duration::from_secs(2));
    sweep(&mut extra);
    let open: Vec<TcpStream> = extra.into_iter().flatten().collect();
    assert_eq!((open.len(), refused), (expected_open, 200 - expected_open));
    idle.extend(open);
    // Nobody already connected was disturbed.
    assert!(first.getattr(&root).is_ok());
    assert!(fresh.getattr(&fh).is_ok());
    assert!(!closed_by_server(&mut idle[0], Duration::from_millis(100)));
    assert!(log_has(&log, "(--max-connections)"));
    drop(idle);
    assert!(server.stop(PATIENCE).is_some_and(|s| s.success()));
}

/// Idle connections, records that stop half way and clients that stop reading are cut off,
/// each by its own timeout.
#[test]
fn idle_stalled_and_non_reading_clients_are_cut_off() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("server.log");
    let server = start(
        &[
            "--idle-timeout",
            "3",
            "--record-timeout",
            "2",
            "--write-timeout",
            "2",
        ],
        &log,
    );
    let read_call = big_file_read(&server);

    // Idle: connected, one call answered, then nothing.
    let mut idle = TcpStream::connect(server.addr()).unwrap();
    idle.write_all(&record(proc3::NULL, &())).unwrap();
    assert!(
        closed_by_server(&mut idle, PATIENCE),
        "idle connection kept"
    );
    assert!(log_has(&log, "idle for 3s with nothing in flight"));

    // Slowloris: a record that announces 200 bytes and gets one more byte every 300 ms.
    let mut slow = TcpStream::connect(server.addr()).unwrap();
    slow.write_all(&(0x8000_0000u32 | 200).to_be_bytes())
        .unwrap();
    let dripping = std::thread::spawn({
        let mut s = slow.try_clone().unwrap();
        move || {
            for _ in 0..190 {
                if s.write_all(&[0]).is_err() {
                    return true;
                }
                std::thread::sleep(Duration::from_millis(300));
            }
            false
        }
    });
    assert!(closed_by_server(&mut slow, PATIENCE), "stalled record kept");
    assert!(
        dripping.join().unwrap(),
        "the drip was cut off before it finished"
    );
    assert!(log_has(&log, "a record arrived only in part within 2s"));

    // A client that sends READs and never reads the replies.
    let stop = AtomicBool::new(false);
    let started = Instant::now();
    let cut = std::thread::scope(|s| {
        let t = s.spawn(|| flood(server.addr(), &read_call, &stop));
        while !t.is_finished() && started.elapsed() < PATIENCE {
            std::thread::sleep(Duration::from_millis(100));
        }
        stop.store(true, Ordering::Relaxed);
        t.join().unwrap()
    });
    assert!(cut, "a client that reads nothing was kept");
    assert!(log_has(&log, "the client read no reply bytes for 2s"));

    // Others are served all along.
    let mut c = server.connect(b"after", Duration::from_secs(30));
    let fh = c.mount(b"/").unwrap();
    assert!(c.getattr(&fh).is_ok());
    assert!(server.stop(PATIENCE).is_some_and(|s| s.success()));
}

/// 100 clients send 1 MiB READs as fast as they can and never read a reply: the server holds
/// a bounded amount of reply data for them (64 MiB per core by default, plus one call per
/// connection), and still serves a new client.
#[test]
fn rss_stays_bounded_while_100_clients_flood_reads_without_reading() {
    const FLOODERS: usize = 100;
    /// Two cores' reply budgets (2 x 64 MiB), one 1 MiB reply per connection beyond them, the
    /// copies of replies being produced, and
    /// room for the allocator's slack.
    const FLOOD_RSS_BUDGET_KIB: u64 = 640 * 1024;
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("server.log");
    let server = start(&["--write-timeout", "600"], &log);
    let read_call = big_file_read(&server);
    let before = server.rss_kib();
    let stop = AtomicBool::new(false);
    let (peak, served) = std::thread::scope(|s| {
        let flooders: Vec<_> = (0..FLOODERS)
            .map(|_| s.spawn(|| flood(server.addr(), &read_call, &stop)))
            .collect();
        let mut peak = 0;
        let until = Instant::now() + Duration::from_secs(8);
        while Instant::now() < until {
            peak = peak.max(server.rss_kib());
            std::thread::sleep(Duration::from_millis(100));
        }
        // A new client is served while the flood goes on.
        let mut c = server.connect(b"during", Duration::from_secs(30));
        let served = c.mount(b"/").and_then(|fh| c.getattr(&fh)).is_ok();
        peak = peak.max(server.rss_kib());
        stop.store(true, Ordering::Relaxed);
        for f in flooders {
            assert!(
                !f.join().unwrap(),
                "a flooder was cut off (write timeout is 600 s)"
            );
        }
        (peak, served)
    });
    let grown = peak.saturating_sub(before);
    eprintln!("RSS {before} KiB before, peak +{grown} KiB during the flood");
    assert!(served, "a new client was not served during the flood");
    assert!(
        grown < FLOOD_RSS_BUDGET_KIB,
        "the flood grew RSS by {grown} KiB"
    );
    assert!(server.stop(PATIENCE).is_some_and(|s| s.success()));
}

/// Sends `call` twice (the same xid: a retransmission) on one connection; both replies.
fn send_twice(addr: SocketAddr, call: &[u8]) -> Vec<ReplyStatus> {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(PATIENCE)).unwrap();
    let mut records = RecordDecoder::new(1 << 20);
    let mut replies = Vec::new();
    let mut buf = vec![0u8; 1 << 16];
    for _ in 0..2 {
        s.write_all(call).unwrap();
        let mut got = Vec::new();
        while got.is_empty() {
            let n = s.read(&mut buf).unwrap();
            assert_ne!(n, 0, "connection closed");
            records.decode(&buf[..n], |r| got.push(r)).unwrap();
        }
        replies.push(decode_reply(&got[0]).unwrap().status);
    }
    replies
}

/// A call that panics gets SYSTEM_ERR, its duplicate-request cache entry is released (the
/// retransmission runs again instead of being dropped), and every core, the root directory's
/// included, goes on serving.
#[test]
fn a_panicking_call_gets_system_err_and_every_core_keeps_serving() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("server.log");
    let server = start(&["--test-panic-on-name", "boom"], &log);
    let mut c = server.connect(b"panic", Duration::from_secs(30));
    let root = c.mount(b"/").unwrap();
    let dirs: Vec<Vec<u8>> = (0..8)
        .map(|i| c.mkdir(&root, format!("d{i}").as_bytes(), 0o755).unwrap())
        .collect();
    // In the root directory (its core), then in directories spread over both cores.
    expect_system_err(c.lookup(&root, b"boom"), "LOOKUP boom in /");
    assert!(c.getattr(&root).is_ok());
    assert!(c.lookup(&root, b"d0").is_ok());
    for d in &dirs {
        expect_system_err(c.lookup(d, b"boom"), "LOOKUP boom");
        assert!(c.create(d, b"after", 0o644, true).is_ok());
    }
    // A non-idempotent call that panics, retransmitted: it runs (and panics) again.
    let create = record(
        proc3::CREATE,
        &Create3Args {
            where_: Diropargs3 {
                dir: NfsFh3(&root),
                name: b"boom",
            },
            how: Createhow3::Guarded(Sattr3::default()),
        },
    );
    assert_eq!(
        send_twice(server.addr(), &create),
        [ReplyStatus::SystemErr, ReplyStatus::SystemErr]
    );
    for d in &dirs {
        assert!(c.lookup(d, b"after").is_ok());
    }
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(text.contains("panicked: test hook: LOOKUP of"), "{text}");
    assert!(text.contains("answered SYSTEM_ERR"));
    assert!(server.stop(PATIENCE).is_some_and(|s| s.success()));
}

/// A client that stops reading leaves replies the server cannot send: a stop waits for them
/// only as long as the drain timeout, then closes what is left and exits cleanly.
#[test]
fn shutdown_drains_for_a_bounded_time() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("server.log");
    let mut server = start(&["--drain-timeout", "2", "--write-timeout", "600"], &log);
    let read_call = big_file_read(&server);
    let addr = server.addr();
    let stop = AtomicBool::new(false);
    std::thread::scope(|s| {
        let t = s.spawn(|| flood(addr, &read_call, &stop));
        // Until the server holds replies it cannot send (its budget is full).
        std::thread::sleep(Duration::from_secs(2));
        server.signal("TERM");
        let status = server.wait_exit(PATIENCE);
        stop.store(true, Ordering::Relaxed);
        let _ = t.join();
        assert!(status.is_some_and(|s| s.success()), "{status:?}");
    });
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(text.contains("drain took longer than 2s"), "{text}");
    assert!(text.contains("stopped cleanly"));
}

/// While a stop drains (for up to 10 minutes here), a second SIGTERM exits at once.
#[test]
fn a_second_signal_exits_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("server.log");
    let mut server = start(&["--drain-timeout", "600", "--write-timeout", "600"], &log);
    let read_call = big_file_read(&server);
    let addr = server.addr();
    let stop = AtomicBool::new(false);
    std::thread::scope(|s| {
        let t = s.spawn(|| flood(addr, &read_call, &stop));
        std::thread::sleep(Duration::from_secs(2));
        server.signal("TERM");
        assert!(
            server.wait_exit(Duration::from_secs(2)).is_none(),
            "exited without draining"
        );
        server.signal("TERM");
        let status = server.wait_exit(PATIENCE);
        stop.store(true, Ordering::Relaxed);
        let _ = t.join();
        assert_eq!(status.and_then(|s| s.code()), Some(128 + 15), "{status:?}");
    });
    assert!(log_has(&log, "second SIGTERM: exiting at once"));
}
