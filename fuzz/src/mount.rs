//! Harness for MOUNT v3 and portmap v2 argument decoding from untrusted bytes.
//!
//! Input: a 4-byte big-endian procedure number, then the argument body. The same body is offered
//! to both programs. Decoders must never panic, and whatever they accept must re-encode to a
//! body that decodes the same.

use slatenfs::proto::mount::MountCall;
use slatenfs::proto::portmap::PortmapCall;
use slatenfs::proto::xdr::encode_to_vec;

pub fn mount_args(data: &[u8]) {
    let Some((head, body)) = data.split_first_chunk::<4>() else {
        return;
    };
    let proc = u32::from_be_bytes(*head);
    if let Ok(call) = MountCall::decode(proc, body) {
        let wire = encode_to_vec(&call);
        assert_eq!(MountCall::decode(proc, &wire), Ok(call));
    }
    if let Ok(call) = PortmapCall::decode(proc, body) {
        let wire = encode_to_vec(&call);
        assert_eq!(PortmapCall::decode(proc, &wire), Ok(call));
    }
}
