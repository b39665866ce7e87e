#!/usr/bin/env bash
# ganesha.sh: start or stop NFS-Ganesha (Debian's, FSAL_VFS) as the reference
# NFSv3 server for the suites in tests/vm and tests/interop.
#
#   tests/vm/ganesha.sh start [--port 12049] [--mountport 12050] [--dir DIR]
#   tests/vm/ganesha.sh stop  [--port 12049]
#
# start installs nfs-ganesha and nfs-ganesha-vfs if missing (apt-get, root),
# starts rpcbind if none runs (ganesha 4.3 exits at start-up with "Cannot
# register NFS V3 on TCP" without one), writes a configuration into
# /tmp/ganesha-vmtests.PORT/, exports DIR (default /tmp/ganesha-vmtests.PORT/export,
# emptied first) as "/" on 127.0.0.1 and waits until both ports listen.
# stop kills that ganesha by its pid file. Must run as root.
set -euo pipefail

cmd=${1:-}
[ -n "$cmd" ] && shift || true
PORT=12049
MOUNTPORT=12050
DIR=
while [ $# -gt 0 ]; do
	case $1 in
	--port) PORT=$2; shift 2 ;;
	--mountport) MOUNTPORT=$2; shift 2 ;;
	--dir) DIR=$2; shift 2 ;;
	*) echo "ganesha.sh: unknown argument $1" >&2; exit 2 ;;
	esac
done
STATE=/tmp/ganesha-vmtests.$PORT
DIR=${DIR:-$STATE/export}
PIDFILE=$STATE/ganesha.pid

listening() { ss -ltn "sport = :$1" 2>/dev/null | grep -q LISTEN; }

case $cmd in
start)
	[ "$(id -u)" = 0 ] || { echo "ganesha.sh: must run as root" >&2; exit 2; }
	if [ -f "$PIDFILE" ] && kill -0 "$(cat "$PIDFILE")" 2>/dev/null; then
		echo "ganesha.sh: already running (pid $(cat "$PIDFILE"))"
		exit 0
	fi
	if listening "$PORT" || listening "$MOUNTPORT"; then
		echo "ganesha.sh: port $PORT or $MOUNTPORT is already in use" >&2
		exit 1
	fi
	if ! command -v ganesha.nfsd >/dev/null 2>&1 || [ ! -e /usr/lib/x86_64-linux-gnu/ganesha/libfsalvfs.so ]; then
		export DEBIAN_FRONTEND=noninteractive
		apt-get install -y -q nfs-ganesha nfs-ganesha-vfs >&2 ||
			{ apt-get update -q >&2 && apt-get install -y -q nfs-ganesha nfs-ganesha-vfs >&2; }
	fi
	if ! pgrep -x rpcbind >/dev/null; then
		command -v rpcbind >/dev/null 2>&1 || apt-get install -y -q rpcbind >&2
		rpcbind -w
		sleep 0.5
	fi
	mkdir -p "$STATE"
	if [ "$DIR" = "$STATE/export" ]; then rm -rf "$DIR"; fi
	mkdir -p "$DIR"
	cat >"$STATE/ganesha.conf" <<EOF
NFS_CORE_PARAM {
    NFS_Port = $PORT;
    MNT_Port = $MOUNTPORT;     # must differ from NFS_Port in ganesha 4.3
    NFS_Protocols = 3;
    Enable_NLM = false;
    Enable_RQUOTA = false;
    Enable_UDP = false;
    Bind_Addr = 127.0.0.1;
    Mount_Path_Pseudo = true;  # MOUNT "/" means the export's Pseudo path
}
NFSV4 { Graceless = true; RecoveryBackend = fs; }
EXPORT {
    Export_Id = 1;
    Path = $DIR;
    Pseudo = /;
    Protocols = 3;
    Transports = TCP;
    Access_Type = RW;
    Squash = none;
    SecType = sys;
    PrivilegedPort = false;    # QEMU connects from unprivileged ports
    FSAL { Name = VFS; }
}
LOG { Default_Log_Level = EVENT; }
EOF
	(cd "$STATE" && setsid ganesha.nfsd -F -f "$STATE/ganesha.conf" -L "$STATE/ganesha.log" -p "$PIDFILE" -N NIV_EVENT \
		</dev/null >"$STATE/stdout" 2>&1 &
		echo $! >"$PIDFILE")
	for _ in $(seq 1 100); do
		if listening "$PORT" && listening "$MOUNTPORT"; then
			echo "ganesha.sh: ganesha (pid $(cat "$PIDFILE")) serves $DIR on 127.0.0.1 ports $PORT (NFS) and $MOUNTPORT (MOUNT); log $STATE/ganesha.log"
			exit 0
		fi
		if ! kill -0 "$(cat "$PIDFILE")" 2>/dev/null; then break; fi
		sleep 0.2
	done
	echo "ganesha.sh: ganesha did not come up; last log lines:" >&2
	tail -5 "$STATE/ganesha.log" >&2 || true
	exit 1
	;;
stop)
	if [ -f "$PIDFILE" ]; then
		pid=$(cat "$PIDFILE")
		if kill "$pid" 2>/dev/null; then
			for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
			kill -9 "$pid" 2>/dev/null || true
			echo "ganesha.sh: stopped pid $pid"
		fi
		rm -f "$PIDFILE"
	else
		echo "ganesha.sh: not running (no $PIDFILE)"
	fi
	;;
*)
	sed -n '2,14p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
	exit 2
	;;
esac
