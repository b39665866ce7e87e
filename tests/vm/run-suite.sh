#!/usr/bin/env bash
# run-suite.sh: run the real-client conformance suite against an NFSv3 server
# listening on this host's loopback, inside the nfs-vm guest (Linux 6.1 NFS
# client under QEMU/TCG). See tests/vm/README.md.
#
#   tests/vm/run-suite.sh --port P [--mountport M] [--export PATH]
#                         [--opts MOUNTOPTS] [--fsx-seed S] [--fsx-ops N]
#                         [--only posix,fsx,concurrency,tar] [--timeout S]
#                         [--verbose] [--keep DIR]
#
# It builds tests/posix/{posix_suite,fsx}.c statically into target/vmtests/,
# packs a source tarball (this repo's src/ plus a few crates from
# ~/.cargo/registry, plus a few awkward entries), boots the guest with
# ../shared/nfs-vm/run and runs tests/vm/guest-suite.sh there. The exit status
# is the guest script's (0 = everything passed, 1 = a check failed) or the
# harness's own (124 timeout, 125 mount failed, 126 guest failed, 127 host
# error). Env: NFSVM_RUN overrides the harness path.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)

PORT=
MOUNTPORT=
EXPORT=
# soft: a hung or dead server gives EIO (after about 10+20+30 s) instead of
# hanging the guest until --timeout
OPTS="vers=3,proto=tcp,nolock,soft,timeo=100,retrans=2"
FSX_SEED=
FSX_OPS=8000
ONLY=posix,fsx,concurrency,tar
TIMEOUT=900
VERBOSE=0
KEEP=

usage() {
	sed -n '2,20p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
	exit 2
}

while [ $# -gt 0 ]; do
	case $1 in
	--port) PORT=$2; shift 2 ;;
	--mountport) MOUNTPORT=$2; shift 2 ;;
	--export) EXPORT=$2; shift 2 ;;
	--opts) OPTS=$2; shift 2 ;;
	--fsx-seed) FSX_SEED=$2; shift 2 ;;
	--fsx-ops) FSX_OPS=$2; shift 2 ;;
	--only) ONLY=$2; shift 2 ;;
	--timeout) TIMEOUT=$2; shift 2 ;;
	--verbose) VERBOSE=1; shift ;;
	--keep) KEEP=$2; shift 2 ;;
	-h | --help) usage ;;
	*) echo "run-suite: unknown argument: $1" >&2; usage ;;
	esac
done
[ -n "$PORT" ] || { echo "run-suite: --port is required" >&2; usage; }
MOUNTPORT=${MOUNTPORT:-$PORT}

log() { echo "run-suite: $*" >&2; }

# ------------------------------------------------------------- harness --
RUN=${NFSVM_RUN:-}
if [ -z "$RUN" ]; then
	# CI: the repo is checked out at X and shared/ sits at X/../shared.
	# A git worktree under X/../wt/NAME finds it one level further up.
	for cand in "$ROOT/../shared/nfs-vm/run" "$ROOT/../../shared/nfs-vm/run"; do
		if [ -x "$cand" ]; then RUN=$cand; break; fi
	done
fi
if [ -z "$RUN" ] || [ ! -x "$RUN" ]; then
	log "cannot find the nfs-vm harness (looked for ../shared/nfs-vm/run; set NFSVM_RUN)"
	exit 127
fi

# -------------------------------------------------------- prerequisites --
need_pkgs=()
command -v gcc >/dev/null 2>&1 || need_pkgs+=(gcc)
# static libc for gcc -static
[ -e /usr/lib/x86_64-linux-gnu/libc.a ] || [ -e /usr/lib/libc.a ] || need_pkgs+=(libc6-dev)
command -v tar >/dev/null 2>&1 || need_pkgs+=(tar)
command -v gzip >/dev/null 2>&1 || need_pkgs+=(gzip)
if [ ${#need_pkgs[@]} -gt 0 ]; then
	if [ "$(id -u)" != 0 ]; then
		log "missing ${need_pkgs[*]} and not root: install them first"
		exit 127
	fi
	log "installing ${need_pkgs[*]}"
	export DEBIAN_FRONTEND=noninteractive
	apt-get install -y -q "${need_pkgs[@]}" >&2 ||
		{ apt-get update -q >&2 && apt-get install -y -q "${need_pkgs[@]}" >&2; } ||
		{ log "apt-get install ${need_pkgs[*]} failed"; exit 127; }
fi

# ---------------------------------------------------------------- build --
BUILD=$ROOT/target/vmtests
mkdir -p "$BUILD"
build() { # name
	local src=$ROOT/tests/posix/$1.c out=$BUILD/$1
	if [ ! -x "$out" ] || [ "$src" -nt "$out" ]; then
		log "building $1"
		gcc -static -O2 -Wall -o "$out.tmp" "$src" && mv "$out.tmp" "$out" || { log "build of $1 failed"; exit 127; }
	fi
}
build posix_suite
build fsx

# -------------------------------------------------------------- tarball --
# A real source tree, about 9 MiB and 900 entries unpacked: our own
# src/ (git archive) plus a few crates from the cargo registry, and a few
# awkward entries (symlinks, hard links, empty file and dir, odd names and
# modes, a binary file, a deep path).
TARBALL=$BUILD/src.tar.gz
make_tarball() {
	local stage
	stage=$(mktemp -d "$BUILD/stage.XXXXXX")
	mkdir -p "$stage/tree/slatenfs" "$stage/tree/crates" "$stage/tree/extras"
	if git -C "$ROOT" rev-parse --verify -q HEAD >/dev/null 2>&1; then
		git -C "$ROOT" archive --format=tar HEAD src Cargo.toml | tar -xf - -C "$stage/tree/slatenfs"
	else
		cp -a "$ROOT/src" "$ROOT/Cargo.toml" "$stage/tree/slatenfs/"
	fi
	local reg n=0 c d
	for reg in "$HOME"/.cargo/registry/src/*/; do
		[ -d "$reg" ] || continue
		for c in nom bytes smallvec parking_lot parking_lot_core crossbeam-channel futures-util glommio memchr hashbrown; do
			# the highest version of that crate present
			d=$(ls -d "$reg$c"-[0-9]* 2>/dev/null | sort -V | tail -1 || true)
			[ -n "$d" ] && [ ! -e "$stage/tree/crates/$(basename "$d")" ] || continue
			cp -a "$d" "$stage/tree/crates/"
			n=$((n + 1))
		done
		break
	done
	if [ "$n" -lt 3 ]; then
		# no cargo registry on this machine (yet): use system headers instead
		log "cargo registry not found; using /usr/include for the tarball"
		cp -a /usr/include/linux /usr/include/asm-generic "$stage/tree/crates/" 2>/dev/null || true
	fi
	local x=$stage/tree/extras
	mkdir -p "$x/empty-dir" "$x/deep/a/b/c/d/e/f/g/h/i/j"
	: >"$x/empty-file"
	echo "deep" >"$x/deep/a/b/c/d/e/f/g/h/i/j/file"
	echo "linked" >"$x/hard1"
	ln "$x/hard1" "$x/hard2"
	ln "$x/hard1" "$x/deep/hard3"
	ln -s hard1 "$x/rel-link"
	ln -s ../extras/deep/a/b "$x/dir-link"
	ln -s does/not/exist "$x/dangling-link"
	echo "secret" >"$x/mode-0600"
	chmod 0600 "$x/mode-0600"
	printf '#!/bin/sh\necho hi\n' >"$x/mode-0755"
	chmod 0755 "$x/mode-0755"
	echo "ro" >"$x/mode-0444"
	chmod 0444 "$x/mode-0444"
	echo "spaces" >"$x/name with spaces"
	echo "utf8" >"$x/ünïcödé-名前"
	head -c 1048577 /dev/urandom >"$x/random.bin"
	head -c 200000 /dev/zero >"$x/zeros.bin"
	touch -d '2001-02-03 04:05:06' "$x/mode-0444" "$x/empty-file"
	tar -czf "$TARBALL.tmp" -C "$stage/tree" .
	mv "$TARBALL.tmp" "$TARBALL"
	log "tarball: $(tar -tzf "$TARBALL" | wc -l) entries, $(du -sk "$stage/tree" | cut -f1) KiB unpacked, $(($(stat -c %s "$TARBALL") / 1024)) KiB packed"
	rm -rf "$stage"
}
make_tarball

# ------------------------------------------------------------------ run --
guest_args=(--tarball /src.tar.gz --fsx-ops "$FSX_OPS" --only "$ONLY")
[ -n "$FSX_SEED" ] && guest_args+=(--fsx-seed "$FSX_SEED")
[ "$VERBOSE" = 1 ] && guest_args+=(--verbose)
run_args=(--port "$PORT" --mountport "$MOUNTPORT" --opts "$OPTS" --timeout "$TIMEOUT" --mem 1024
	--with "$BUILD/posix_suite" --with "$BUILD/fsx" --file "$TARBALL:/src.tar.gz")
[ -n "$EXPORT" ] && run_args+=(--export "$EXPORT")
[ -n "$KEEP" ] && run_args+=(--keep "$KEEP")

log "server 127.0.0.1 port $PORT, mount port $MOUNTPORT, options $OPTS"
start=$(date +%s)
set +e
"$RUN" "${run_args[@]}" -- "$HERE/guest-suite.sh" "${guest_args[@]}"
rc=$?
set -e
log "exit status $rc after $(($(date +%s) - start))s wall"
exit $rc
