#!/bin/sh
# Runs in the QEMU guest (busybox sh, as root, --no-mount) for tests/system/exports.sh: mounts
# three exports of the server on the host and checks what the export rules promise.
#   /pub  127.0.0.1(rw,root_squash,insecure)  root is squashed to 65534; chown fails
#   /ro   127.0.0.1(ro,insecure)              reads work, every change is refused
#   /     192.0.2.1(rw)                       the guest (127.0.0.1 to the server) cannot mount
# (A directory below an export that admits the client may be mounted, as with knfsd, so the
# refused export is the top one.)
# Usage: exports-guest.sh PORT
P=$1
o="vers=3,proto=tcp,nolock,soft,timeo=100,retrans=2,nosharecache,addr=10.0.2.2,port=$P,mountaddr=10.0.2.2,mountport=$P,mountproto=tcp"
pass() { echo "PASS $*"; }
fail() { echo "FAIL $*"; }
mkdir -p /m/pub /m/ro /m/top

if err=$(mount -i -t nfs -o "$o" 10.0.2.2:/pub /m/pub 2>&1); then
    pass "mount /pub (root_squash)"
    if touch /m/pub/by-root; then
        pass "touch as root on a root_squash export"
        owner=$(stat -c %u:%g /m/pub/by-root)
        [ "$owner" = "65534:65534" ] && pass "the file root created is owned by 65534:65534" \
            || fail "the file root created is owned by $owner, not 65534:65534"
        if err=$(chown 0:0 /m/pub/by-root 2>&1); then
            fail "chown 0:0 by squashed root succeeded"
        else
            case $err in
                *"not permitted"*) pass "chown by squashed root fails: $err" ;;
                *) fail "chown by squashed root failed, but not with EPERM: $err" ;;
            esac
        fi
    else
        fail "touch as root on a root_squash export"
    fi
    umount /m/pub
else
    fail "mount /pub: $err"
fi

if err=$(mount -i -t nfs -o "$o" 10.0.2.2:/ro /m/ro 2>&1); then
    pass "mount /ro"
    [ "$(cat /m/ro/f 2>&1)" = hello ] && pass "read on the ro export" || fail "read on the ro export"
    for what in "touch /m/ro/new" "mkdir /m/ro/d" "rm /m/ro/f" "chmod 600 /m/ro/f" "mv /m/ro/f /m/ro/g"; do
        if err=$(eval "$what" 2>&1); then
            fail "$what on the ro export succeeded"
        else
            case $err in
                *"Read-only file system"*) pass "$what on the ro export: EROFS" ;;
                *) fail "$what on the ro export failed, but not with EROFS: $err" ;;
            esac
        fi
    done
    # Opening an existing file for writing: the client asks ACCESS first, and no write bit is
    # granted on a read-only export, so this is EACCES (as with knfsd), not EROFS.
    if err=$(sh -c 'echo x >> /m/ro/f' 2>&1); then
        fail "appending on the ro export succeeded"
    else
        case $err in
            *"Permission denied"*|*"Read-only file system"*) pass "append on the ro export refused: $err" ;;
            *) fail "append on the ro export failed oddly: $err" ;;
        esac
    fi
    [ "$(cat /m/ro/f 2>&1)" = hello ] && pass "the ro file is unchanged" || fail "the ro file changed"
    umount /m/ro
else
    fail "mount /ro: $err"
fi

if err=$(mount -i -t nfs -o "$o" 10.0.2.2:/ /m/top 2>&1); then
    fail "a client outside the rules of / mounted it"
    umount /m/top
else
    case $err in
        *"denied"*) pass "a client outside the rules cannot mount: $err" ;;
        *) fail "the mount of / failed, but not with EACCES: $err" ;;
    esac
fi
