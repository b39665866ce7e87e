#!/bin/sh
# guest-suite.sh: the slatenfs real-client conformance suite, run INSIDE the
# nfs-vm guest (busybox sh, as root, cwd = the NFS mount). Started by
# tests/vm/run-suite.sh; see tests/vm/README.md.
#
#   guest-suite.sh [--fsx-seed S] [--fsx-ops N] [--tarball FILE.tar.gz]
#                  [--only PART,...] [--verbose]
#
# Parts (each prints PASS/FAIL lines):
#   posix        posix_suite (our C program) in a fresh directory, as root;
#                one line per section plus its total
#   fsx          fsx random-operation exerciser with cache drops
#   concurrency  parallel writers / creators / appenders, then verification
#   tar          extract a real source tree onto the mount, compare with the
#                copy in guest RAM (diff -r, types/modes/sizes/mtimes/owners,
#                link counts), rm -rf
# Ends with "N passed, N failed" (counting the PASS/FAIL lines) and exits 1 if
# anything failed. Needs posix_suite and fsx on PATH (run-suite.sh copies them
# in with --with).

MNT=${NFSVM_MNT:-$(pwd)}
FSX_SEED=
FSX_OPS=8000
TARBALL=
ONLY=posix,fsx,concurrency,tar
VERBOSE=0
while [ $# -gt 0 ]; do
	case $1 in
	--fsx-seed) FSX_SEED=$2; shift 2 ;;
	--fsx-ops) FSX_OPS=$2; shift 2 ;;
	--tarball) TARBALL=$2; shift 2 ;;
	--only) ONLY=$2; shift 2 ;;
	--verbose) VERBOSE=1; shift ;;
	*) echo "guest-suite: unknown argument $1"; exit 2 ;;
	esac
done

pass=0
fail=0
ok() { pass=$((pass + 1)); echo "PASS $*"; }
bad() { fail=$((fail + 1)); echo "FAIL $*"; }
check() { if [ "$2" = "$3" ]; then ok "$1"; else bad "$1: expected '$2', got '$3'"; fi; }
want() { case ",$ONLY," in *",$1,"*) return 0 ;; esac; return 1; }
drop_caches() { sync; echo 3 >/proc/sys/vm/drop_caches; }
now() { cut -d' ' -f1 /proc/uptime; }
elapsed() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }

SCRATCH=/tmp/guest-suite.$$
mkdir -p "$SCRATCH"
T_ALL=$(now)
# (the sentinel keeps the pattern file non-empty: busybox grep -vf with an
# empty pattern file prints nothing)
{ echo "//sentinel//"; ls -A "$MNT"; } | sort >"$SCRATCH/before.ls"
echo "guest-suite: mount $MNT ($(grep " $MNT " /proc/mounts | cut -d' ' -f4))"
echo "guest-suite: kernel $(uname -r), $(grep -c ^processor /proc/cpuinfo) vCPUs, $(awk '/MemTotal/ {print $2}' /proc/meminfo) kB"

# ------------------------------------------------------------------ posix --
if want posix; then
	echo "=== posix: posix_suite in a fresh directory under $MNT"
	T=$(now)
	out=$SCRATCH/posix.out
	posix_suite "$MNT" >"$out" 2>&1
	rc=$?
	if [ "$VERBOSE" = 1 ]; then
		cat "$out"
	else
		# failures, notes and the summary; the full TAP only on --verbose
		grep -E '^(not ok|#|Bail out)' "$out" | grep -v '^# section [a-z-]*$'
	fi
	# one PASS/FAIL line per section
	sed -n 's/^# section \([a-z-]*\): \([0-9]*\) passed, \([0-9]*\) failed.*/\1 \2 \3/p' "$out" >"$SCRATCH/sections"
	while read -r sec p f; do
		if [ "$f" = 0 ] && [ "$p" -gt 0 ]; then ok "posix/$sec ($p checks)"; else bad "posix/$sec: $f of $((p + f)) checks failed"; fi
	done <"$SCRATCH/sections"
	summary=$(grep -E '^[0-9]+ passed, [0-9]+ failed$' "$out" | tail -1)
	if [ "$rc" = 0 ] && [ -n "$summary" ]; then
		ok "posix_suite: $summary ($(elapsed "$T")s)"
	else
		bad "posix_suite: exit $rc, ${summary:-no summary line} ($(elapsed "$T")s)"
		[ -n "$summary" ] || tail -20 "$out"
	fi
fi

# -------------------------------------------------------------------- fsx --
if want fsx; then
	[ -n "$FSX_SEED" ] || FSX_SEED=$(od -An -N4 -tu4 /dev/urandom | tr -d ' ')
	echo "=== fsx: $FSX_OPS ops, seed $FSX_SEED (reproduce with --fsx-seed $FSX_SEED)"
	T=$(now)
	out=$SCRATCH/fsx.out
	fsx -S "$FSX_SEED" -N "$FSX_OPS" -D -q "$MNT/fsx.$$" >"$out" 2>&1
	rc=$?
	if [ "$rc" = 0 ]; then
		tail -3 "$out"
		ok "fsx seed=$FSX_SEED ops=$FSX_OPS: $(tail -1 "$out") ($(elapsed "$T")s)"
	else
		cat "$out"
		bad "fsx seed=$FSX_SEED ops=$FSX_OPS: exit $rc ($(elapsed "$T")s)"
	fi
	rm -f "$MNT/fsx.$$"
fi

# ------------------------------------------------------------ concurrency --
if want concurrency; then
	echo "=== concurrency: parallel writers, creators and appenders"
	T=$(now)
	C=$MNT/conc.$$
	mkdir -p "$C/same" || bad "concurrency: mkdir $C"
	NW=4  # writers of big files
	NC=4  # creators in one directory
	NF=60 # files per creator
	NA=4  # appenders to one O_APPEND file
	NL=100
	i=1
	while [ $i -le $NW ]; do
		dd if=/dev/urandom of="$SCRATCH/src$i" bs=64k count=$((24 + i * 8)) 2>/dev/null
		i=$((i + 1))
	done
	pids=
	i=1
	while [ $i -le $NW ]; do
		# odd block sizes: unaligned WRITEs racing with the others
		dd if="$SCRATCH/src$i" of="$C/big$i" bs=$((3000 + i * 1111)) 2>/dev/null &
		pids="$pids $!"
		i=$((i + 1))
	done
	i=1
	while [ $i -le $NC ]; do
		(
			j=1
			while [ $j -le $NF ]; do
				echo "creator $i file $j" >"$C/same/c$i-$j"
				j=$((j + 1))
			done
		) &
		pids="$pids $!"
		i=$((i + 1))
	done
	: >"$C/shared.log"
	i=1
	while [ $i -le $NA ]; do
		(
			j=1
			while [ $j -le $NL ]; do
				echo "appender $i line $j" >>"$C/shared.log"
				j=$((j + 1))
			done
		) &
		pids="$pids $!"
		i=$((i + 1))
	done
	# and a mkdir/rmdir churn in the same directory as the creators
	(
		j=1
		while [ $j -le 40 ]; do
			mkdir "$C/same/dir$j" && rmdir "$C/same/dir$j"
			j=$((j + 1))
		done
	) &
	pids="$pids $!"
	failed_jobs=0
	for p in $pids; do wait "$p" || failed_jobs=$((failed_jobs + 1)); done
	check "concurrency: all background jobs succeeded" 0 "$failed_jobs"
	drop_caches
	i=1
	while [ $i -le $NW ]; do
		check "concurrency: big$i content (sha256)" "$(sha256sum <"$SCRATCH/src$i")" "$(sha256sum <"$C/big$i")"
		i=$((i + 1))
	done
	check "concurrency: directory entry count" $((NC * NF)) "$(ls "$C/same" | wc -l)"
	badc=0
	i=1
	while [ $i -le $NC ]; do
		j=1
		while [ $j -le $NF ]; do
			[ "$(cat "$C/same/c$i-$j" 2>/dev/null)" = "creator $i file $j" ] || badc=$((badc + 1))
			j=$((j + 1))
		done
		i=$((i + 1))
	done
	check "concurrency: every created file has its content" 0 "$badc"
	check "concurrency: O_APPEND lines" $((NA * NL)) "$(wc -l <"$C/shared.log")"
	i=1
	while [ $i -le $NA ]; do
		check "concurrency: appender $i lines intact" $NL "$(grep -c "^appender $i line [0-9]*\$" "$C/shared.log")"
		i=$((i + 1))
	done
	check "concurrency: no mkdir/rmdir leftovers" 0 "$(ls "$C/same" | grep -c '^dir')"
	if rm -rf "$C" && [ ! -e "$C" ]; then ok "concurrency: rm -rf"; else bad "concurrency: rm -rf $C"; fi
	rm -f "$SCRATCH"/src*
	echo "concurrency: $(elapsed "$T")s"
fi

# -------------------------------------------------------------------- tar --
# listing of a tree: type, name, mode, owner, link count; size and mtime of
# regular files; symlink targets (directory sizes and mtimes differ legally)
listing() {
	(cd "$1" && find . -print0 | xargs -0 stat -c '%F|%n|%a|%u:%g|%h|%s|%Y' | awk -F'|' '
		$1 == "directory" { $5 = "-"; $6 = "-"; $7 = "-" }
		$1 == "symbolic link" { $7 = "-" }
		{ print }' OFS='|' | sort)
	(cd "$1" && find . -type l | sort | while read -r l; do echo "$l -> $(readlink "$l")"; done)
}

if want tar; then
	if [ -z "$TARBALL" ] || [ ! -f "$TARBALL" ]; then
		bad "tar: no tarball (--tarball FILE)"
	else
		echo "=== tar: round trip of $(basename "$TARBALL") ($(wc -c <"$TARBALL") bytes)"
		REF=$SCRATCH/ref
		DST=$MNT/tar.$$
		mkdir -p "$REF" "$DST"
		if tar -xzpf "$TARBALL" -C "$REF"; then :; else bad "tar: extract into RAM"; fi
		nfiles=$(find "$REF" | wc -l)
		rsize=$(du -sk "$REF" | cut -f1)
		echo "tar: $nfiles entries, $rsize KiB"
		T=$(now)
		if tar -xzpf "$TARBALL" -C "$DST"; then ok "tar: extract onto the mount ($(elapsed "$T")s)"; else bad "tar: extract onto the mount"; fi
		drop_caches
		T=$(now)
		if out=$(diff -r "$REF" "$DST" 2>&1); then
			ok "tar: diff -r against the RAM copy ($(elapsed "$T")s)"
		else
			bad "tar: diff -r against the RAM copy"
			echo "$out" | head -20
		fi
		listing "$REF" >"$SCRATCH/ref.list"
		listing "$DST" >"$SCRATCH/dst.list"
		check "tar: entry count" "$nfiles" "$(find "$DST" | wc -l)"
		if cmp -s "$SCRATCH/ref.list" "$SCRATCH/dst.list"; then
			ok "tar: types, modes, owners, link counts, sizes, mtimes, symlink targets ($(wc -l <"$SCRATCH/ref.list") lines)"
		else
			bad "tar: metadata differs"
			diff "$SCRATCH/ref.list" "$SCRATCH/dst.list" | head -20
		fi
		T=$(now)
		if rm -rf "$DST" && [ ! -e "$DST" ]; then ok "tar: rm -rf ($(elapsed "$T")s)"; else bad "tar: rm -rf"; fi
		rm -rf "$REF"
	fi
fi

# ----------------------------------------------------------------- finish --
ls -A "$MNT" | sort >"$SCRATCH/after.ls"
check "no leftovers from this run on the mount" "" "$(grep -vxF -f "$SCRATCH/before.ls" "$SCRATCH/after.ls" | tr '\n' ' ')"
rm -rf "$SCRATCH"
echo "guest-suite: total $(elapsed "$T_ALL")s"
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
