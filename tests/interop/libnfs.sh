#!/usr/bin/env bash
# libnfs.sh: interop checks with a second, user-space NFSv3 client (libnfs),
# from the host, against a server on this host's loopback.
#
#   tests/interop/libnfs.sh --port P [--mountport M] [--host H] [--export PATH]
#                           [--big-mib N] [--entries N]
#
# Uses libnfs-utils (nfs-ls, nfs-cp, nfs-cat) and tests/interop/nfs-helper.c
# (mkdir, populate, count, rmtree through libnfs, which the utilities lack).
# Installs libnfs-utils, libnfs-dev and gcc with apt-get when missing (root).
# URLs look like nfs://127.0.0.1/dir/file?version=3&nfsport=P&mountport=M
# (libnfs 4.0). Prints PASS/FAIL lines and "N passed, N failed"; exits 1 if
# anything failed, 2 on usage or setup errors.
set -uo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
PORT=
MOUNTPORT=
HOST=127.0.0.1
EXPORT=/
BIG_MIB=100
ENTRIES=300

while [ $# -gt 0 ]; do
	case $1 in
	--port) PORT=$2; shift 2 ;;
	--mountport) MOUNTPORT=$2; shift 2 ;;
	--host) HOST=$2; shift 2 ;;
	--export) EXPORT=$2; shift 2 ;;
	--big-mib) BIG_MIB=$2; shift 2 ;;
	--entries) ENTRIES=$2; shift 2 ;;
	-h | --help) sed -n '2,13p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 2 ;;
	*) echo "libnfs.sh: unknown argument $1" >&2; exit 2 ;;
	esac
done
[ -n "$PORT" ] || { echo "libnfs.sh: --port is required" >&2; exit 2; }
MOUNTPORT=${MOUNTPORT:-$PORT}
EXPORT=/${EXPORT#/}
EXPORT=${EXPORT%/}

# ------------------------------------------------------- prerequisites --
need=()
command -v nfs-cp >/dev/null 2>&1 && command -v nfs-ls >/dev/null 2>&1 && command -v nfs-cat >/dev/null 2>&1 || need+=(libnfs-utils)
[ -e /usr/include/nfsc/libnfs.h ] || need+=(libnfs-dev)
command -v gcc >/dev/null 2>&1 || need+=(gcc)
if [ ${#need[@]} -gt 0 ]; then
	[ "$(id -u)" = 0 ] || { echo "libnfs.sh: missing ${need[*]} (install them, or run as root)" >&2; exit 2; }
	echo "libnfs.sh: installing ${need[*]}" >&2
	export DEBIAN_FRONTEND=noninteractive
	apt-get install -y -q "${need[@]}" >&2 ||
		{ apt-get update -q >&2 && apt-get install -y -q "${need[@]}" >&2; } ||
		{ echo "libnfs.sh: apt-get install failed" >&2; exit 2; }
fi
BUILD=$ROOT/target/interop
mkdir -p "$BUILD"
HELPER=$BUILD/nfs-helper
if [ ! -x "$HELPER" ] || [ "$HERE/nfs-helper.c" -nt "$HELPER" ]; then
	gcc -O2 -Wall -o "$HELPER" "$HERE/nfs-helper.c" -lnfs || { echo "libnfs.sh: building nfs-helper failed" >&2; exit 2; }
fi

# ------------------------------------------------------------- helpers --
pass=0
fail=0
ok() { pass=$((pass + 1)); echo "PASS $*"; }
bad() { fail=$((fail + 1)); echo "FAIL $*"; }
check() { if [ "$2" = "$3" ]; then ok "$1"; else bad "$1: expected '$2', got '$3'"; fi; }
Q="version=3&nfsport=$PORT&mountport=$MOUNTPORT"
ROOTURL="nfs://$HOST$EXPORT/?$Q"
W=libnfs-interop.$$         # work directory, below the export root
url() { echo "nfs://$HOST$EXPORT/$W${1:+/$1}?$Q"; } # url [NAME]
helper() { "$HELPER" "nfs://$HOST$EXPORT/?$Q" "$@"; }
now() { date +%s.%N; }
secs() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.2f", b - a }'; }
mibs() { awk -v a="$1" -v b="$(now)" -v m="$2" 'BEGIN { d = b - a; if (d <= 0) d = 0.001; printf "%.1f MiB/s", m / d }'; }
# run NAME CMD...: PASS if the command exits 0
run() {
	local name=$1 out
	shift
	if out=$("$@" 2>&1); then ok "$name"; else bad "$name: '$*' failed: $(echo "$out" | tail -3)"; fi
}

TMP=$(mktemp -d /tmp/libnfs-interop.XXXXXX)
cleanup() { rm -rf "$TMP"; }
trap cleanup EXIT
echo "libnfs.sh: server $HOST, NFS port $PORT, MOUNT port $MOUNTPORT, export ${EXPORT:-/} ($(dpkg-query -W -f '${Package} ${Version}' libnfs-utils 2>/dev/null))"
T_ALL=$(now)

# ---------------------------------------------------------------- tests --
run "nfs-ls of the export root" nfs-ls "$ROOTURL"
run "nfs-helper mkdir $W" helper mkdir "/$W"
if nfs-ls "$ROOTURL" 2>/dev/null | awk '{print $NF}' | grep -qx "$W"; then ok "nfs-ls of the root lists the new directory"; else bad "nfs-ls of the root lists the new directory"; fi
check "new directory is empty" 0 "$(nfs-ls "$(url)" 2>/dev/null | wc -l)"
if nfs-ls "$(url no-such-dir)" >/dev/null 2>&1; then bad "nfs-ls of a missing directory fails"; else ok "nfs-ls of a missing directory fails"; fi

# big file: in, out, compare
head -c $((BIG_MIB * 1048576)) /dev/urandom >"$TMP/big"
want=$(sha256sum <"$TMP/big" | cut -d' ' -f1)
T=$(now)
run "nfs-cp ${BIG_MIB} MiB into the server" nfs-cp "$TMP/big" "$(url big)"
echo "  copy in: $(secs "$T")s, $(mibs "$T" "$BIG_MIB")"
check "nfs-ls shows the size of the big file" $((BIG_MIB * 1048576)) \
	"$(nfs-ls "$(url)" 2>/dev/null | awk '$NF == "big" {print $5}')"
T=$(now)
run "nfs-cp ${BIG_MIB} MiB out of the server" nfs-cp "$(url big)" "$TMP/big.out"
echo "  copy out: $(secs "$T")s, $(mibs "$T" "$BIG_MIB")"
check "big file copied out: sha256" "$want" "$(sha256sum <"$TMP/big.out" | cut -d' ' -f1)"
T=$(now)
check "big file via nfs-cat: sha256" "$want" "$(nfs-cat "$(url big)" 2>/dev/null | sha256sum | cut -d' ' -f1)"
echo "  nfs-cat: $(secs "$T")s"
rm -f "$TMP/big.out"

# files of awkward sizes
for size in 0 1 4095 65536 65537 1048577; do
	head -c "$size" /dev/urandom >"$TMP/f$size"
	run "nfs-cp $size-byte file in" nfs-cp "$TMP/f$size" "$(url "f$size")"
	run "nfs-cp $size-byte file out" nfs-cp "$(url "f$size")" "$TMP/f$size.out"
	if cmp -s "$TMP/f$size" "$TMP/f$size.out"; then ok "$size-byte file round trip"; else bad "$size-byte file round trip"; fi
done

# a small text file and nfs-cat; server-to-server copy
printf 'hello from libnfs interop\nsecond line\n' >"$TMP/small"
run "nfs-cp small file in" nfs-cp "$TMP/small" "$(url small.txt)"
check "nfs-cat of the small file" "$(cat "$TMP/small")" "$(nfs-cat "$(url small.txt)" 2>/dev/null)"
run "nfs-cp server to server" nfs-cp "$(url small.txt)" "$(url small-copy.txt)"
check "nfs-cat of the server-side copy" "$(cat "$TMP/small")" "$(nfs-cat "$(url small-copy.txt)" 2>/dev/null)"
if nfs-cat "$(url missing.txt)" >/dev/null 2>&1; then bad "nfs-cat of a missing file fails"; else ok "nfs-cat of a missing file fails"; fi

# a directory with a few hundred entries
run "nfs-helper mkdir $W/many" helper mkdir "/$W/many"
T=$(now)
run "nfs-helper create $ENTRIES entries" helper populate "/$W/many" "$ENTRIES"
echo "  create $ENTRIES entries: $(secs "$T")s"
nfs-ls "$(url many)" 2>/dev/null | awk '{print $NF}' | sort >"$TMP/many.ls"
check "nfs-ls lists $ENTRIES entries" "$ENTRIES" "$(wc -l <"$TMP/many.ls")"
i=0
while [ $i -lt "$ENTRIES" ]; do printf 'entry-%04d\n' $i; i=$((i + 1)); done >"$TMP/many.want"
if cmp -s "$TMP/many.want" "$TMP/many.ls"; then ok "nfs-ls lists exactly the created names"; else bad "nfs-ls lists exactly the created names"; diff "$TMP/many.want" "$TMP/many.ls" | head -5; fi
check "libnfs readdir counts $ENTRIES entries" "$ENTRIES" "$(helper count "/$W/many" 2>/dev/null)"
check "nfs-ls of the work directory (10 entries)" 10 "$(nfs-ls "$(url)" 2>/dev/null | wc -l)"

# clean up through libnfs, and check it is gone
T=$(now)
run "nfs-helper rmtree $W" helper rmtree "/$W"
echo "  rmtree: $(secs "$T")s"
if nfs-ls "$ROOTURL" 2>/dev/null | awk '{print $NF}' | grep -qx "$W"; then bad "work directory gone from the root listing"; else ok "work directory gone from the root listing"; fi

echo "libnfs.sh: total $(secs "$T_ALL")s"
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
