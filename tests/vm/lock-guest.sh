#!/bin/sh
# lock-guest.sh ROLE [SQLITE_WRITERS ROWS COUNTER_PROCS COUNTER_ITERS]: the guest side of
# tests/system/locks.sh, run INSIDE the nfs-vm guest (busybox sh, as root, no harness mount).
#
# The guest is client "client-a" at 192.168.77.2 on a bridge to the server (192.168.77.1),
# mounting WITHOUT nolock: rpcbind and rpc.statd run here, so the kernel's lock manager
# registers, finds the server's NLM through its port 111, and is monitored by its status
# monitor. The host side (a second NLM client, slatenfs-lock) and this script meet through
# marker files in sync/ on the export (mounted with lookupcache=none so that they are seen).
#
#   first   locks between two processes here (flock, fcntl, a blocked lock, counter, SQLite),
#           locks against the host's client (exclusion both ways, a blocked lock granted by the
#           server's callback), then holds a lock and powers off without releasing it
#   reboot  the same client after its "reboot": sm-notify tells the server (which drops the
#           lock held at the crash), then a lock held across a server restart is reclaimed
#
# Output: PASS/FAIL lines, "N passed, N failed"; SM-RECORD lines for the host (role first).
ROLE=$1
SQLITE_WRITERS=${2:-4}
SQLITE_ROWS=${3:-25}
COUNTER_PROCS=${4:-4}
COUNTER_ITERS=${5:-50}
SERVER=192.168.77.1
MNT=/mnt/x
S=$MNT/sync

pass=0
fail=0
ok() { pass=$((pass + 1)); echo "PASS $*"; }
bad() { fail=$((fail + 1)); echo "FAIL $*"; }
check() { if [ "$2" = "$3" ]; then ok "$1"; else bad "$1: expected '$2', got '$3'"; fi; }
finish() { echo "$pass passed, $fail failed"; [ "$fail" -eq 0 ]; exit $?; }
# waitfor FILE: a marker from the host (or another process), up to 120 s
waitfor() {
	i=0
	while [ ! -e "$1" ]; do
		i=$((i + 1))
		[ $i -le 600 ] || { bad "timed out waiting for $1"; return 1; }
		sleep 0.2
	done
}
mark() { : >"$S/$1"; }

# ------------------------------------------------------------------ client --
hostname client-a
echo "_rpc:x:100:65534::/run/rpcbind:/bin/false" >>/etc/passwd
ip link set lo up
ip link set eth1 up
ip addr add 192.168.77.2/24 dev eth1
mkdir -p /run/rpcbind /var/lib/nfs/sm /var/lib/nfs/sm.bak "$MNT"
rpcbind -f >/tmp/rpcbind.log 2>&1 &
# statd registers with rpcbind as it starts: rpcbind must be listening first.
waitfor /run/rpcbind.sock || cat /tmp/rpcbind.log
rpc.statd --no-notify -F >/tmp/statd.log 2>&1 &
sleep 1
if [ "$ROLE" = reboot ]; then
	# What the client kept of its first life: the server it held locks on.
	for rec in /sm-record/*; do cp "$rec" /var/lib/nfs/sm/; done
	if sm-notify -f -d >/tmp/sm-notify.log 2>&1; then ok "sm-notify told the server about the restart"
	else bad "sm-notify: $(cat /tmp/sm-notify.log)"; fi
fi
opts=vers=3,proto=tcp,port=2049,mountport=2049,mountaddr=$SERVER,mountproto=tcp,addr=$SERVER
opts=$opts,soft,timeo=100,retrans=3,lookupcache=none
if ! mount -i -t nfs -o "$opts" $SERVER:/ "$MNT"; then
	bad "mount without nolock"
	dmesg | tail -20
	finish
fi
grep -q "local_lock=none" /proc/mounts && ok "mounted without nolock (local_lock=none)" || bad "mount options: $(grep " $MNT " /proc/mounts)"
cd "$MNT" || finish
mkdir -p "$S"

if [ "$ROLE" = first ]; then
	# ------------------------------------------------ two processes, one client --
	(flock -x flock.f -c ': >/tmp/a1-held; while [ ! -e /tmp/a1-release ]; do sleep 0.1; done') &
	p=$!
	while [ ! -e /tmp/a1-held ]; do sleep 0.1; done
	flock -n -x flock.f -c true
	check "flock -x excludes a second process" 1 $?
	: >/tmp/a1-release
	wait $p
	flock -n -x flock.f -c true
	check "flock -x free after the holder exits" 0 $?

	locktest hold fcntl.f 0 100 w /tmp/a2-ready /tmp/a2-release >/dev/null &
	p=$!
	while [ ! -e /tmp/a2-ready ]; do sleep 0.1; done
	locktest try fcntl.f 50 10 w >/dev/null
	check "fcntl: overlapping write lock refused" 1 $?
	locktest try fcntl.f 0 10 r >/dev/null
	check "fcntl: overlapping read lock refused" 1 $?
	locktest try fcntl.f 100 10 w >/dev/null
	check "fcntl: the range after the lock is free" 0 $?
	: >/tmp/a2-release
	wait $p
	locktest try fcntl.f 0 0 w >/dev/null
	check "fcntl: free after unlock" 0 $?

	locktest hold blocking.f 0 0 w /tmp/a3-ready /tmp/a3-release >/dev/null &
	p=$!
	while [ ! -e /tmp/a3-ready ]; do sleep 0.1; done
	(locktest wait blocking.f 0 0 w >/dev/null && : >/tmp/a3-got) &
	w=$!
	sleep 1
	[ ! -e /tmp/a3-got ] && ok "F_SETLKW waits while the lock is held" || bad "F_SETLKW did not wait"
	: >/tmp/a3-release
	wait $p
	wait $w
	[ -e /tmp/a3-got ] && ok "F_SETLKW granted once the holder unlocked" || bad "F_SETLKW not granted"

	pids=
	for i in $(seq 1 "$COUNTER_PROCS"); do
		locktest counter counter.f "$COUNTER_ITERS" >/dev/null &
		pids="$pids $!"
	done
	for p in $pids; do wait $p || bad "counter process failed"; done
	check "locked read-modify-write from $COUNTER_PROCS processes" "$((COUNTER_PROCS * COUNTER_ITERS))" "$(locktest read-counter counter.f)"

	sqlite3 db.sqlite "create table t(id integer primary key, writer int, n int, pad text);" 2>/dev/null
	pids=
	for w in $(seq 1 "$SQLITE_WRITERS"); do
		(
			i=0
			while [ $i -lt "$SQLITE_ROWS" ]; do
				echo ".timeout 120000
begin immediate;
insert into t(writer, n, pad) values ($w, $i, hex(randomblob(300)));
update t set n = n where writer = $w;
commit;"
				i=$((i + 1))
			done | sqlite3 db.sqlite >/tmp/sqlite.$w.log 2>&1
		) &
		pids="$pids $!"
	done
	for p in $pids; do wait $p; done
	errs=$(cat /tmp/sqlite.*.log)
	[ -z "$errs" ] && ok "$SQLITE_WRITERS SQLite writers ran without errors" || bad "SQLite writers: $errs"
	check "SQLite integrity_check" ok "$(sqlite3 db.sqlite 'pragma integrity_check;')"
	check "SQLite rows" "$((SQLITE_WRITERS * SQLITE_ROWS))" "$(sqlite3 db.sqlite 'select count(*) from t;')"

	# ------------------------------------------ against the host's NLM client --
	locktest hold shared.f 0 0 w "$S/b1-held" "$S/b1-release" >/dev/null
	check "held a lock while the host was refused it" 0 $?
	mark b1-done
	waitfor "$S/b2-held" || finish
	locktest try shared.f 0 10 r >/dev/null
	check "refused a lock the host holds" 1 $?
	mark b2-refused
	(locktest wait shared.f 0 0 w >/dev/null && mark b2-granted) &
	w=$!
	mark b2-waiting
	wait $w
	check "blocked lock granted after the host unlocked (server callback)" 0 $?

	# ------------------------------------------------- crash holding a lock --
	locktest hold crash.f 0 0 w "$S/d-held" /never >/dev/null &
	waitfor "$S/d-held"
	for rec in /var/lib/nfs/sm/*; do
		echo "SM-RECORD-BEGIN $(basename "$rec")"
		cat "$rec"
		echo "SM-RECORD-END"
	done
	echo "guest: powering off while holding the lock on crash.f"
	echo "$pass passed, $fail failed"
	sleep 1
	echo o >/proc/sysrq-trigger
	sleep 30
fi

if [ "$ROLE" = reboot ]; then
	mark e-notified
	locktest hold restart.f 0 0 w "$S/e-held" "$S/e-release" >/dev/null
	check "lock held across the server restart, released at the end" 0 $?
	mark e-done
fi
cd /
umount "$MNT"
finish
