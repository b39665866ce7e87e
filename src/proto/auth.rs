//! RPC authentication (RFC 5531 §8–9, appendix A): `opaque_auth`, AUTH_NONE and AUTH_SYS.
//!
//! Limits are enforced while decoding, before anything is copied: an `opaque_auth` body is at most
//! 400 bytes, an AUTH_SYS machine name at most 255 bytes and its supplementary gid list at most 16
//! entries. The decoded [`Credential`] is owned and small (inline storage for the usual sizes), so
//! it moves freely between threads with the call it belongs to.

use smallvec::SmallVec;

use super::xdr::{self, padded_len, XdrResult, XdrWrite};

/// AUTH_NONE (also called AUTH_NULL).
pub const AUTH_NONE: u32 = 0;
/// AUTH_SYS (also called AUTH_UNIX).
pub const AUTH_SYS: u32 = 1;
/// AUTH_SHORT: a shorthand credential the server hands out in its verifier (we never do).
pub const AUTH_SHORT: u32 = 2;
/// AUTH_DH (Diffie-Hellman).
pub const AUTH_DH: u32 = 3;
/// RPCSEC_GSS (RFC 2203).
pub const RPCSEC_GSS: u32 = 6;

/// Largest `opaque_auth` body (RFC 5531: `opaque body<400>`).
pub const MAX_AUTH_BYTES: usize = 400;
/// Largest AUTH_SYS machine name (`string machinename<255>`).
pub const MAX_MACHINE_NAME: usize = 255;
/// Largest AUTH_SYS supplementary gid list (`unsigned int gids<16>`).
pub const MAX_GIDS: usize = 16;

/// `auth_stat`: why a call's authentication was refused (RFC 5531 §9).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u32)]
pub enum AuthStat {
    Ok = 0,
    /// Bad credential (seal broken): a malformed credential.
    BadCred = 1,
    /// Client must begin a new session.
    RejectedCred = 2,
    /// Bad verifier (seal broken).
    BadVerf = 3,
    /// Verifier expired or replayed.
    RejectedVerf = 4,
    /// Rejected for security reasons.
    TooWeak = 5,
    /// Bogus response verifier.
    InvalidResp = 6,
    /// Reason unknown.
    Failed = 7,
    /// RPCSEC_GSS: no credentials for the user.
    GssCredProblem = 13,
    /// RPCSEC_GSS: problem with the context.
    GssCtxProblem = 14,
}

impl AuthStat {
    /// The value for a wire code, if it is one we know.
    pub fn from_u32(v: u32) -> Option<Self> {
        Some(match v {
            0 => Self::Ok,
            1 => Self::BadCred,
            2 => Self::RejectedCred,
            3 => Self::BadVerf,
            4 => Self::RejectedVerf,
            5 => Self::TooWeak,
            6 => Self::InvalidResp,
            7 => Self::Failed,
            13 => Self::GssCredProblem,
            14 => Self::GssCtxProblem,
            _ => return None,
        })
    }
}

/// `opaque_auth`: a flavor and up to 400 bytes of body, borrowed from the message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OpaqueAuth<'a> {
    pub flavor: u32,
    pub body: &'a [u8],
}

impl<'a> OpaqueAuth<'a> {
    /// AUTH_NONE with an empty body: the verifier of every reply we send.
    pub const NONE: OpaqueAuth<'static> = OpaqueAuth {
        flavor: AUTH_NONE,
        body: &[],
    };

    /// Decodes an `opaque_auth`, rejecting a body longer than [`MAX_AUTH_BYTES`] before taking it.
    pub fn decode(input: &'a [u8]) -> XdrResult<'a, Self> {
        let (rest, flavor) = xdr::u32(input)?;
        let (rest, body) = xdr::opaque_var(MAX_AUTH_BYTES)(rest)?;
        Ok((rest, Self { flavor, body }))
    }

    pub fn encode<W: XdrWrite + ?Sized>(&self, out: &mut W) {
        out.put_xdr_u32(self.flavor);
        out.put_xdr_opaque_var(self.body);
    }
}

/// The AUTH_SYS credential body (RFC 5531 appendix A).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AuthSys {
    /// Arbitrary id the caller machine may generate.
    pub stamp: u32,
    /// The caller's machine name (bytes, not necessarily UTF-8); at most 255 bytes.
    pub machinename: SmallVec<[u8; 32]>,
    pub uid: u32,
    pub gid: u32,
    /// Supplementary groups; at most 16.
    pub gids: SmallVec<[u32; MAX_GIDS]>,
}

impl AuthSys {
    /// Decodes an AUTH_SYS body. The limits are checked before anything is copied, and the body
    /// must be consumed exactly (XDR has one encoding per value). Any violation is
    /// [`AuthStat::BadCred`].
    pub fn decode_body(body: &[u8]) -> Result<Self, AuthStat> {
        Self::parse(body)
            .ok()
            .filter(|(rest, _)| rest.is_empty())
            .map(|(_, v)| v)
            .ok_or(AuthStat::BadCred)
    }

    fn parse(input: &[u8]) -> XdrResult<'_, Self> {
        let (rest, stamp) = xdr::u32(input)?;
        let (rest, name) = xdr::string(MAX_MACHINE_NAME)(rest)?;
        let (rest, uid) = xdr::u32(rest)?;
        let (rest, gid) = xdr::u32(rest)?;
        let (mut rest, count) = xdr::u32(rest)?;
        let count = count as usize;
        if count > MAX_GIDS {
            return Err(nom::Err::Error(nom::error::Error::new(
                input,
                nom::error::ErrorKind::TooLarge,
            )));
        }
        let mut gids = SmallVec::new();
        for _ in 0..count {
            let (next, g) = xdr::u32(rest)?;
            gids.push(g);
            rest = next;
        }
        Ok((
            rest,
            Self {
                stamp,
                machinename: SmallVec::from_slice(name),
                uid,
                gid,
                gids,
            },
        ))
    }

    /// Length of the encoded body.
    pub fn encoded_len(&self) -> usize {
        4 + 4 + padded_len(self.machinename.len()) + 4 + 4 + 4 + 4 * self.gids.len()
    }

    /// Writes the body (without the flavor and length of the enclosing `opaque_auth`). No limit is
    /// checked here, so that tests can build over-limit credentials.
    pub fn encode_body<W: XdrWrite + ?Sized>(&self, out: &mut W) {
        out.put_xdr_u32(self.stamp);
        out.put_xdr_opaque_var(&self.machinename);
        out.put_xdr_u32(self.uid);
        out.put_xdr_u32(self.gid);
        out.put_xdr_u32(self.gids.len() as u32);
        for g in &self.gids {
            out.put_xdr_u32(*g);
        }
    }
}

/// A call's decoded credential.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Credential {
    #[default]
    None,
    Sys(AuthSys),
}

impl Credential {
    /// Interprets a call's credential.
    ///
    /// - AUTH_NONE must have an empty body, AUTH_SYS a well-formed body within the limits;
    ///   otherwise [`AuthStat::BadCred`].
    /// - AUTH_SHORT is answered with [`AuthStat::RejectedCred`], which tells the client to fall
    ///   back to its full credential (RFC 5531 §10.2; we never issue short handles).
    /// - Any other flavor (AUTH_DH, RPCSEC_GSS, unknown) is [`AuthStat::TooWeak`]: the flavor is
    ///   not acceptable here. (REJECTEDCRED would make a GSS client retry context creation.)
    pub fn from_opaque(auth: OpaqueAuth<'_>) -> Result<Self, AuthStat> {
        match auth.flavor {
            AUTH_NONE if auth.body.is_empty() => Ok(Self::None),
            AUTH_NONE => Err(AuthStat::BadCred),
            AUTH_SYS => AuthSys::decode_body(auth.body).map(Self::Sys),
            AUTH_SHORT => Err(AuthStat::RejectedCred),
            _ => Err(AuthStat::TooWeak),
        }
    }

    pub fn flavor(&self) -> u32 {
        match self {
            Self::None => AUTH_NONE,
            Self::Sys(_) => AUTH_SYS,
        }
    }

    /// The caller's uid, when the credential carries one.
    pub fn uid(&self) -> Option<u32> {
        match self {
            Self::None => None,
            Self::Sys(s) => Some(s.uid),
        }
    }

    /// Writes the credential as an `opaque_auth`.
    pub fn encode<W: XdrWrite + ?Sized>(&self, out: &mut W) {
        match self {
            Self::None => OpaqueAuth::NONE.encode(out),
            Self::Sys(sys) => {
                out.put_xdr_u32(AUTH_SYS);
                out.put_xdr_u32(sys.encoded_len() as u32);
                sys.encode_body(out);
            }
        }
    }
}

/// Checks a call's verifier. With the flavors we accept (AUTH_NONE, AUTH_SYS) the verifier must
/// be AUTH_NONE; its body (at most 400 bytes, already bounded by [`OpaqueAuth::decode`]) is
/// ignored. Anything else is [`AuthStat::BadVerf`].
pub fn check_verifier(verf: OpaqueAuth<'_>) -> Result<(), AuthStat> {
    if verf.flavor == AUTH_NONE {
        Ok(())
    } else {
        Err(AuthStat::BadVerf)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::BytesMut;

    fn sys(name_len: usize, ngids: usize) -> AuthSys {
        AuthSys {
            stamp: 1,
            machinename: SmallVec::from_elem(b'h', name_len),
            uid: 1000,
            gid: 100,
            gids: (0..ngids as u32).collect(),
        }
    }

    fn body(s: &AuthSys) -> BytesMut {
        let mut b = BytesMut::new();
        s.encode_body(&mut b);
        assert_eq!(b.len(), s.encoded_len());
        b
    }

    #[test]
    fn auth_sys_limits() {
        let ok = sys(255, 16);
        assert_eq!(AuthSys::decode_body(&body(&ok)), Ok(ok));
        assert_eq!(
            AuthSys::decode_body(&body(&sys(256, 0))),
            Err(AuthStat::BadCred)
        );
        assert_eq!(
            AuthSys::decode_body(&body(&sys(8, 17))),
            Err(AuthStat::BadCred)
        );
    }

    #[test]
    fn auth_sys_rejects_trailing_and_truncated() {
        let mut b = body(&sys(5, 2));
        assert!(AuthSys::decode_body(&b[..b.len() - 1]).is_err());
        b.extend_from_slice(&[0, 0, 0, 0]);
        assert_eq!(AuthSys::decode_body(&b), Err(AuthStat::BadCred));
    }

    #[test]
    fn opaque_auth_bound() {
        let mut b = BytesMut::new();
        b.put_xdr_u32(AUTH_SYS);
        b.put_xdr_opaque_var(&[0u8; 401]);
        assert!(OpaqueAuth::decode(&b).is_err());
        let mut b = BytesMut::new();
        b.put_xdr_u32(AUTH_SYS);
        b.put_xdr_opaque_var(&[0u8; 400]);
        assert_eq!(OpaqueAuth::decode(&b).unwrap().1.body.len(), 400);
    }

    #[test]
    fn flavors() {
        let none = OpaqueAuth {
            flavor: AUTH_NONE,
            body: &[],
        };
        assert_eq!(Credential::from_opaque(none), Ok(Credential::None));
        let gss = OpaqueAuth {
            flavor: RPCSEC_GSS,
            body: &[0; 8],
        };
        assert_eq!(Credential::from_opaque(gss), Err(AuthStat::TooWeak));
        let short = OpaqueAuth {
            flavor: AUTH_SHORT,
            body: &[0; 8],
        };
        assert_eq!(Credential::from_opaque(short), Err(AuthStat::RejectedCred));
        let bad_none = OpaqueAuth {
            flavor: AUTH_NONE,
            body: &[0; 4],
        };
        assert_eq!(Credential::from_opaque(bad_none), Err(AuthStat::BadCred));
    }
}
