#!/bin/sh
# snapshot-guest.sh PHASE PORT: the guest side of tests/system/snapshots.sh, run INSIDE the
# nfs-vm guest (busybox sh, as root, --no-mount: this script mounts by itself).
#
# The host runs `slatenfs snapshot create/delete` between the steps; the two sides meet through
# marker files in /.sync on the export (the guest sees them through a second mount with
# noac,lookupcache=none; the host makes them with nfs-cp and looks for the guest's with nfs-ls).
#
#   write   (boot 1) writes a tree (dirs, ~20 files incl. a 1.5 MiB one and a sparse one, a
#           symlink, a hard link), records its manifest (md5, mode, size, mtime, nlink of every
#           file; symlink targets; directory modes and mtimes) in /.manifest-before, marks
#           ready-snap and waits for the host's snap-created; then changes the live tree, records
#           /.manifest-after and checks /.snapshot/snap1: same manifest as before, read-only
#           (EROFS), not listed by READDIR, a filesystem of its own (submount), mountable directly
#   restart (boot 2, after a server restart) the snapshot and the live tree are as before the
#           restart; holds /.snapshot/snap1 mounted on /m2, marks ready-delete and waits for the
#           host's deleted; then the held handles are stale and the snapshot is gone
#
# Output: PASS/FAIL lines, "N passed, N failed", "PHASE-DONE PHASE". Exit 1 if a check failed.
PHASE=$1
P=$2
o="vers=3,proto=tcp,nolock,soft,timeo=100,retrans=2,nosharecache,addr=10.0.2.2,port=$P,mountaddr=10.0.2.2,mountport=$P,mountproto=tcp"
M=/m
S=/m/.snapshot/snap1
SYNC=/sync/.sync

pass=0
fail=0
ok() { pass=$((pass + 1)); echo "PASS $*"; }
bad() { fail=$((fail + 1)); echo "FAIL $*"; }
finish() { echo "$pass passed, $fail failed"; echo "PHASE-DONE $PHASE"; [ "$fail" -eq 0 ]; exit $?; }
# waitfor FILE: a marker from the host, up to 60 s; prints its content
waitfor() {
	i=0
	while [ ! -e "$1" ]; do
		i=$((i + 1))
		[ $i -le 120 ] || { bad "timed out after 60 s waiting for the host's $1"; return 1; }
		ls "$(dirname "$1")" >/dev/null 2>&1
		sleep 0.5
	done
}
mark() { : >"$SYNC/$1"; }
drop() { sync; echo 3 >/proc/sys/vm/drop_caches; }
# mkman DIR: one line per entry below DIR, sorted by path
mkman() {
	(cd "$1" && find . | sort | while read -r p; do
		if [ -L "$p" ]; then echo "L $(readlink "$p") $p"
		elif [ -d "$p" ]; then echo "D $(stat -c '%a %Y' "$p") $p"
		else echo "F $(md5sum <"$p" | cut -d' ' -f1) $(stat -c '%a %s %Y %h' "$p") $p"
		fi
	done)
}
# sameman DESCRIPTION MANIFEST DIR: DIR's manifest is MANIFEST
sameman() {
	mkman "$3" >/tmp/man.now 2>/tmp/man.err
	if cmp -s "$2" /tmp/man.now; then
		ok "$1 ($(wc -l <"$2") entries)"
	else
		bad "$1: differences (- expected, + found):"
		diff "$2" /tmp/man.now | grep '^[-+][^-+]' | head -20
		head -3 /tmp/man.err
	fi
}
# erofs DESCRIPTION COMMAND: COMMAND fails with EROFS
erofs() {
	if err=$(eval "$2" 2>&1); then
		bad "$1 succeeded"
	else
		case $err in
			*"Read-only file system"*) ok "$1: EROFS" ;;
			*) bad "$1 failed, but not with EROFS: $err" ;;
		esac
	fi
}

mkdir -p $M /m2 /sync
if err=$(mount -i -t nfs -o "$o" 10.0.2.2:/ $M 2>&1); then ok "mount /"; else bad "mount /: $err"; finish; fi
if err=$(mount -i -t nfs -o "$o,noac,lookupcache=none" 10.0.2.2:/ /sync 2>&1); then :; else
	bad "coordination mount: $err"; finish
fi

# ------------------------------------------------------------------ write --
if [ "$PHASE" = write ]; then
	T=$M/tree
	mkdir -p $T/a/b $T/c $T/d/e/f $SYNC
	for i in 1 2 3 4 5; do echo "file a/f$i, line one" >$T/a/f$i; done
	for i in 6 7 8; do seq 1 $((i * 100)) >$T/a/b/f$i; done
	for i in 1 2 3 4 5 6 7; do printf 'd/e/g%s %s\n' "$i" "$(date)" >$T/d/e/g$i; done
	: >$T/d/e/f/empty
	printf 'no newline' >$T/d/nonl
	dd if=/dev/urandom of=$T/c/big bs=64k count=24 2>/dev/null            # 1.5 MiB
	dd if=/dev/urandom of=$T/c/sparse bs=4k count=1 seek=256 2>/dev/null   # data at 1 MiB
	truncate -s 3M $T/c/sparse                                              # hole before and after
	ln -s ../a/f1 $T/c/link
	ln $T/a/f2 $T/c/hard
	chmod 640 $T/a/f4
	chmod 750 $T/d
	drop
	mkman $T >$M/.manifest-before
	n=$(grep -c '^F' $M/.manifest-before)
	[ "$n" -ge 20 ] && ok "wrote the tree: $n files, $(wc -l <$M/.manifest-before) entries" \
		|| bad "wrote the tree: only $n files"
	cp $M/.manifest-before /tmp/before
	md5_big=$(md5sum <$T/c/big | cut -d' ' -f1)
	mark ready-snap
	waitfor $SYNC/snap-created || finish
	r=$(cat $SYNC/snap-created)
	[ "$r" = ok ] || { bad "the host could not create snap1: $r"; finish; }

	# Change the live tree.
	echo "overwritten" >$T/a/f1
	echo "appended" >>$T/a/f4
	rm $T/a/f3 $T/c/hard
	mv $T/a/f5 $T/a/renamed
	mv $T/a/b $T/a/b2
	echo new1 >$T/a/new1
	echo new2 >$T/c/new2
	chmod 600 $T/a/b2/f6
	truncate -s 3 $T/a/b2/f8
	dd if=/dev/zero of=$T/c/big bs=64k count=1 seek=8 conv=notrunc 2>/dev/null
	dd if=/dev/urandom of=$T/c/sparse bs=4k count=2 seek=100 conv=notrunc 2>/dev/null  # into the hole
	rm $T/c/link && ln -s big $T/c/link
	rmdir $T/d/e/f 2>/dev/null || { rm $T/d/e/f/empty; rmdir $T/d/e/f; }
	drop
	mkman $T >$M/.manifest-after
	cmp -s /tmp/before $M/.manifest-after && bad "the live tree did not change" || ok "changed the live tree"

	# The snapshot, through the submount of the live export.
	if out=$(ls $S 2>&1); then
		case " $(echo $out) " in *" tree "*) ok "ls /m/.snapshot/snap1: $(echo $out)" ;;
			*) bad "ls /m/.snapshot/snap1 lacks tree: $out" ;; esac
	else
		bad "ls /m/.snapshot/snap1: $out"
	fi
	sameman "the snapshot's tree is the tree before the snapshot" /tmp/before $S/tree
	[ "$(cat $S/tree/a/f1)" = "file a/f1, line one" ] && ok "an overwritten file has its old content in the snapshot" \
		|| bad "a/f1 in the snapshot: $(cat $S/tree/a/f1 2>&1)"
	[ -f $S/tree/a/f3 ] && [ -f $S/tree/a/b/f7 ] && [ ! -e $S/tree/a/renamed ] && [ -f $S/tree/a/f5 ] \
		&& ok "deleted and renamed files are in the snapshot under their old names" \
		|| bad "deleted/renamed files in the snapshot: $(ls $S/tree/a 2>&1 | tr '\n' ' ')"
	[ ! -e $S/tree/a/new1 ] && [ ! -e $S/tree/c/new2 ] && ok "new files are absent from the snapshot" \
		|| bad "new files are in the snapshot"
	[ "$(readlink $S/tree/c/link)" = ../a/f1 ] && ok "the symlink's old target in the snapshot" \
		|| bad "symlink in the snapshot -> $(readlink $S/tree/c/link 2>&1)"
	i1=$(stat -c '%i %h' $S/tree/a/f2); i2=$(stat -c '%i %h' $S/tree/c/hard)
	[ -n "$i1" ] && [ "$i1" = "$i2" ] && ok "the hard link shares an inode in the snapshot (ino nlink: $i1)" \
		|| bad "hard link in the snapshot: a/f2 '$i1', c/hard '$i2'"
	[ "$(md5sum <$S/tree/c/big | cut -d' ' -f1)" = "$md5_big" ] && ok "the 1.5 MiB file's old content in the snapshot" \
		|| bad "the big file differs in the snapshot"
	[ "$(dd if=$S/tree/c/sparse bs=4k skip=100 count=2 2>/dev/null | tr -d '\000' | wc -c)" = 0 ] \
		&& ok "the hole written in live is still a hole in the snapshot" || bad "the hole is not zeros in the snapshot"
	[ "$(stat -c %a $S/tree/a/b/f6)" = 644 ] && ok "chmod in live does not change the snapshot's mode" \
		|| bad "mode in the snapshot: $(stat -c %a $S/tree/a/b/f6 2>&1)"

	# Not listed, but reachable.
	la=$(ls -a $M)
	case " $(echo $la) " in *" .snapshot "*) bad "ls -a /m lists .snapshot: $(echo $la)" ;;
		*) ok "ls -a /m does not list .snapshot ($(echo $la))" ;; esac
	ls_s=$(ls $M/.snapshot 2>&1)
	[ "$(echo $ls_s)" = snap1 ] && ok "ls /m/.snapshot lists snap1" || bad "ls /m/.snapshot: $ls_s"
	n=$(find $M 2>&1 | grep -c '\.snapshot')
	[ "$n" = 0 ] && ok "find /m does not enter .snapshot" || bad "find /m shows $n .snapshot paths"

	# Read-only.
	cd $S/tree || bad "cd into the snapshot"
	erofs "touch new in the snapshot" "touch $S/tree/new"
	erofs "mkdir in the snapshot" "mkdir $S/tree/dnew"
	erofs "rm in the snapshot" "rm $S/tree/a/f2"
	erofs "rmdir in the snapshot" "rmdir $S/tree/d/e/f"
	erofs "mv in the snapshot" "mv $S/tree/a/f1 $S/tree/a/moved"
	erofs "chmod 600 in the snapshot" "chmod 600 $S/tree/a/f1"
	erofs "touch -d (SETATTR times) in the snapshot" "touch -d '2001-01-01 00:00:00' $S/tree/a/f1"
	erofs "ln -s in the snapshot" "ln -s x $S/tree/sym2"
	erofs "ln (hard link) in the snapshot" "ln $S/tree/a/f1 $S/tree/hard2"
	erofs "mkfifo in the snapshot" "mkfifo $S/tree/fifo"
	# Opening an existing file for writing: the client asks ACCESS first, so a server that
	# grants no write bit in a snapshot gives EACCES (as with knfsd on a ro export), else EROFS.
	for what in "echo x > $S/tree/a/f1" "echo x >> $S/tree/a/f2"; do
		if err=$(sh -c "$what" 2>&1); then bad "$what succeeded"; else
			case $err in
				*"Read-only file system"*|*"Permission denied"*) ok "$what refused: $err" ;;
				*) bad "$what failed oddly: $err" ;;
			esac
		fi
	done
	cd /
	erofs "mkdir in /.snapshot itself" "mkdir $M/.snapshot/snapx"
	drop
	sameman "the snapshot is unchanged after the refused changes" /tmp/before $S/tree

	# A filesystem of its own: the client should have made a submount when crossing into it.
	d_live=$(stat -c %d $M); d_dir=$(stat -c %d $M/.snapshot)
	d_snap=$(stat -c %d $S/.); d_tree=$(stat -c %d $S/tree)
	f_live=$(stat -f -c %i $M); f_snap=$(stat -f -c %i $S/.)
	echo "INFO st_dev: /m $d_live, /m/.snapshot $d_dir, /m/.snapshot/snap1/. $d_snap, .../snap1/tree $d_tree; statfs fsid: /m $f_live, snap1 $f_snap"
	echo "INFO mounts: $(grep ' nfs ' /proc/mounts | cut -d' ' -f1,2 | tr '\n' ';')"
	[ "$d_snap" != "$d_live" ] && [ "$d_snap" = "$d_tree" ] \
		&& ok "the snapshot is another device than /m (st_dev $d_snap vs $d_live): the client made a submount" \
		|| bad "the snapshot has the same st_dev as /m ($d_snap): the client made no submount"
	grep -q " $S nfs" /proc/mounts && ok "the submount is in /proc/mounts" \
		|| bad "no submount at $S in /proc/mounts"

	# Mounted directly.
	if err=$(mount -i -t nfs -o "$o" 10.0.2.2:/.snapshot/snap1 /m2 2>&1); then
		ok "mount 10.0.2.2:/.snapshot/snap1 directly"
		sameman "the direct mount shows the tree before the snapshot" /tmp/before /m2/tree
		erofs "touch on the direct mount" "touch /m2/new"
		umount /m2 || bad "umount /m2"
	else
		bad "mount 10.0.2.2:/.snapshot/snap1: $err"
	fi
	# Still the changed live tree.
	drop
	sameman "the live tree is the changed tree" $M/.manifest-after $T
fi

# ---------------------------------------------------------------- restart --
if [ "$PHASE" = restart ]; then
	T=$M/tree
	[ -s $M/.manifest-before ] && [ -s $M/.manifest-after ] || { bad "the manifests of boot 1 are missing"; finish; }
	sameman "after the restart the snapshot is the tree before the snapshot" $M/.manifest-before $S/tree
	sameman "after the restart the live tree is the changed tree" $M/.manifest-after $T
	ls_s=$(ls $M/.snapshot 2>&1)
	[ "$(echo $ls_s)" = snap1 ] && ok "after the restart ls /m/.snapshot lists snap1" || bad "ls /m/.snapshot: $ls_s"
	la=$(ls -a $M)
	case " $(echo $la) " in *" .snapshot "*) bad "ls -a /m lists .snapshot after the restart" ;;
		*) ok "ls -a /m does not list .snapshot after the restart" ;; esac
	erofs "touch in the snapshot after the restart" "touch $S/tree/new"

	# Hold the snapshot: a direct mount and the submount, then have the host delete it. The
	# direct mount caches no attributes, so that its calls after the delete reach the server.
	if err=$(mount -i -t nfs -o "$o,actimeo=0" 10.0.2.2:/.snapshot/snap1 /m2 2>&1); then
		ok "mount 10.0.2.2:/.snapshot/snap1 directly"
	else
		bad "mount 10.0.2.2:/.snapshot/snap1: $err"
	fi
	[ "$(cat /m2/tree/a/f1 2>&1)" = "file a/f1, line one" ] && ok "read through the direct mount" \
		|| bad "read through the direct mount: $(cat /m2/tree/a/f1 2>&1)"
	[ "$(cat $S/tree/a/f3 2>&1)" = "file a/f3, line one" ] && ok "read through the submount" \
		|| bad "read through the submount: $(cat $S/tree/a/f3 2>&1)"
	exec 3<$S/tree/a/b/f8
	mark ready-delete
	waitfor $SYNC/deleted || finish
	r=$(cat $SYNC/deleted)
	[ "$r" = ok ] || { bad "the host could not delete snap1: $r"; finish; }
	drop
	stale() { # stale DESCRIPTION COMMAND: COMMAND fails with ESTALE (or EIO, what a soft mount may say)
		if err=$(eval "$2" 2>&1); then
			bad "$1 after the delete succeeded: $(echo $err | cut -c1-80)"
		else
			case $err in
				*"Stale file handle"*|*"I/O error"*) ok "$1 after the delete: $err" ;;
				*) bad "$1 after the delete failed, but not with ESTALE/EIO: $err" ;;
			esac
		fi
	}
	stale "ls on the held direct mount" "ls /m2/tree"
	stale "cat on the held direct mount" "cat /m2/tree/a/f1"
	stale "stat of the held mount's root" "stat /m2/."
	stale "read of a file held open in the snapshot" "cat <&3"
	exec 3<&-
	ls_s=$(ls -a $M/.snapshot 2>&1)
	case " $(echo $ls_s) " in *" snap1 "*) bad "ls /m/.snapshot still lists snap1: $(echo $ls_s)" ;;
		*) ok "ls /m/.snapshot no longer lists snap1 ($(echo $ls_s))" ;; esac
	if err=$(ls $S/tree 2>&1); then
		bad "ls /m/.snapshot/snap1/tree after the delete succeeded"
	else
		case $err in
			*"No such file"*|*"Stale file handle"*) ok "ls /m/.snapshot/snap1/tree after the delete: $err" ;;
			*) bad "ls /m/.snapshot/snap1/tree after the delete failed oddly: $err" ;;
		esac
	fi
	sameman "the live tree is untouched by the delete" $M/.manifest-after $T
	umount /m2 2>/dev/null || umount -f /m2 2>/dev/null || umount -l /m2 || bad "umount of the stale /m2"
	echo "INFO mounts at the end: $(grep ' nfs ' /proc/mounts | cut -d' ' -f1,2 | tr '\n' ';')"
fi

cd /
umount /sync 2>/dev/null
finish
