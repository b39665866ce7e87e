//! The lock manager's place in `slatenfs serve`: started on the store with an outbox for its
//! calls to clients, ticked once a second, and found by clients through port 111, which the
//! server either serves itself or registers with the system's rpcbind (`--rpcbind`).
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, TcpStream};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use futures::executor::block_on;
use log::{info, warn};

use crate::config::{RpcbindMode, ServeConfig};
use crate::lockmgr::{LockManager, LockManagerConfig};
use crate::nfs::NfsService;
use crate::proto::nfs3::PORTMAP_PORT;
use crate::server::outgoing::{Outgoing, OutgoingConfig};
use crate::server::registration::{self, Registered, Registration};
use crate::server::{self, Listener, ServeError, StopSignal, Transport};
use crate::store::Store;

use super::AppError;

/// Who answers clients on port 111.
pub(super) enum Portmapper {
    /// This server, on this address.
    Own(SocketAddr),
    /// The system's rpcbind, with these registrations of ours (removed at stop).
    System(Vec<Registration>, IpAddr),
    /// Nobody we know of.
    Nobody,
}

/// The running lock manager and what belongs to it.
pub(super) struct Locking {
    pub manager: Arc<LockManager>,
    portmapper: Portmapper,
    ticker: Option<JoinHandle<()>>,
}

/// Starts the lock manager for `config` on `store`, with port 111 as `portmapper` decided;
/// its timers stop with `stop`.
pub(super) fn start(
    config: &ServeConfig,
    store: &Store,
    portmapper: Portmapper,
    stop: &StopSignal,
) -> Result<Locking, AppError> {
    let listen = config.listen;
    let outgoing = Outgoing::start(OutgoingConfig::default())
        .map_err(|e| ServeError::Runtime(e.to_string()))?;
    let manager = block_on(LockManager::open(
        Some(store.clone()),
        LockManagerConfig {
            grace_period: config.grace_period,
            ..LockManagerConfig::default()
        },
        Arc::new(outgoing),
        Instant::now(),
    ))
    .map_err(|e| AppError::Storage(e.to_string()))?;
    let ticker = {
        let (manager, stop) = (manager.clone(), stop.clone());
        std::thread::Builder::new()
            .name("slatenfs-locks".into())
            .spawn(move || tick(&manager, &stop, listen))
            .map_err(|e| ServeError::Runtime(e.to_string()))?
    };
    Ok(Locking {
        manager,
        portmapper,
        ticker: Some(ticker),
    })
}

/// Decides who serves port 111, per `--rpcbind` (registering with the system's rpcbind if it
/// is that one). Before the store is opened: a mode that cannot be honoured stops the start.
pub(super) fn port_111(config: &ServeConfig) -> Result<Portmapper, AppError> {
    let ip = config.listen.ip();
    let addr = SocketAddr::new(ip, PORTMAP_PORT as u16);
    let regs = registration::lock_manager(config.listen.port(), config.listen.port());
    let own =
        || server::probe(addr, Transport::Tcp).and_then(|()| server::probe(addr, Transport::Udp));
    let register = || -> std::io::Result<Portmapper> {
        let outcome = registration::register(&regs, ip)?;
        for (r, o) in regs.iter().zip(&outcome) {
            if let Registered::Taken { port } = o {
                warn!(
                    "rpcbind: program {} version {} ({}) is registered by another service at \
                     port {port}; clients will ask that one, not this server",
                    r.prog,
                    r.vers,
                    if r.ipproto == 6 { "tcp" } else { "udp" }
                );
            }
        }
        info!("registered NLM and NSM with the system's rpcbind");
        Ok(Portmapper::System(regs.clone(), ip))
    };
    let refused = |e: std::io::Error, what: &str| {
        AppError::Config(format!(
            "--rpcbind {what}: {e} (use --rpcbind auto, or --rpcbind off if clients mount with nolock)"
        ))
    };
    match config.rpcbind {
        RpcbindMode::Off => {
            info!("--rpcbind off: clients must be told where the lock manager is");
            Ok(Portmapper::Nobody)
        }
        RpcbindMode::Own => own()
            .map(|()| Portmapper::Own(addr))
            .map_err(|e| refused(e, &format!("own: cannot bind {addr}"))),
        RpcbindMode::System => register().map_err(|e| refused(e, "system: cannot register")),
        RpcbindMode::Auto => match own() {
            Ok(()) => {
                info!("serving portmap/rpcbind on {addr}");
                Ok(Portmapper::Own(addr))
            }
            Err(bind) => match register() {
                Ok(p) => Ok(p),
                Err(reg) => {
                    warn!(
                        "clients cannot find the lock manager: cannot bind {addr} ({bind}) nor \
                         register with a system rpcbind ({reg}); run as root with port 111 free, \
                         or start rpcbind, or have clients mount with nolock"
                    );
                    Ok(Portmapper::Nobody)
                }
            },
        },
    }
}

/// The lock manager's timers, once a second until `stop`. Its first tick (which sends the
/// restart notifications: clients reclaim at once) waits until the NFS port accepts
/// connections.
fn tick(manager: &LockManager, stop: &StopSignal, listen: SocketAddr) {
    let probe = match listen.ip() {
        IpAddr::V4(a) if a.is_unspecified() => {
            SocketAddr::new(Ipv4Addr::LOCALHOST.into(), listen.port())
        }
        IpAddr::V6(a) if a.is_unspecified() => {
            SocketAddr::new(Ipv6Addr::LOCALHOST.into(), listen.port())
        }
        _ => listen,
    };
    while !stop.is_stopped()
        && TcpStream::connect_timeout(&probe, Duration::from_millis(200)).is_err()
    {
        std::thread::sleep(Duration::from_millis(50));
    }
    while !stop.is_stopped() {
        block_on(manager.tick(Instant::now()));
        for _ in 0..20 {
            if stop.is_stopped() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Locking {
    /// What the lock manager adds to the NFS port's TCP listener: UDP on the same port, and
    /// port 111 if the server owns it.
    pub(super) fn listeners(&self, listen: SocketAddr, service: &NfsService) -> Vec<Listener> {
        let mut v = vec![Listener {
            addr: listen,
            transport: Transport::Udp,
            programs: service.datagram_config(),
        }];
        if let Portmapper::Own(addr) = self.portmapper {
            for transport in [Transport::Tcp, Transport::Udp] {
                v.push(Listener {
                    addr,
                    transport,
                    programs: service.portmapper_config(),
                });
            }
        }
        v
    }

    /// After the server stopped: the timers end, registrations with the system's rpcbind go.
    pub(super) fn stop(mut self) {
        if let Some(t) = self.ticker.take() {
            let _ = t.join();
        }
        if let Portmapper::System(regs, ip) = &self.portmapper {
            match registration::unregister(regs, *ip) {
                Ok(()) => info!("unregistered NLM and NSM from the system's rpcbind"),
                Err(e) => warn!("cannot unregister from the system's rpcbind: {e}"),
            }
        }
        let s = self.manager.stats();
        info!(
            "lock manager: {} grants called back ({} answered), {} restart notifications \
             delivered, {} client restarts",
            s.grants_delivered, s.grants_answered, s.notifies_delivered, s.client_restarts
        );
    }
}
