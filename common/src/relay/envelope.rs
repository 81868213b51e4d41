//! The envelope every relay message travels in, as Java's `RelayCryptographer` makes it: a
//! compact JWE (RSA-OAEP-256, A256CBC-HS512, `cty: JWT`) to the recipient's public key around
//! a compact JWS (RS512) by the sender's private key, whose claims are `jti`, `iat`, and,
//! when present, `mst` (message type), `sid` (session id) and `pld` (payload: JSON text, or
//! standard base64 for the Gateway's raw bytes). Opening requires the whitelisted algorithms,
//! a valid signature by the expected sender, and a `jti`, as Java's `JwtConsumer` does.

use josekit::jwe::{JweHeader, RSA_OAEP_256};
use josekit::jws::{JwsHeader, RS512};
use josekit::jwt::{self, JwtPayload};
use openssl::pkey::{PKey, Private, Public};
use serde_json::Value;

const JWE_ENC: &str = "A256CBC-HS512";
/// The message type of the Gateway's data (`pld` is base64 bytes).
pub const RAW: &str = "raw";

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EnvelopeError {
    #[error("relay key: {0}")]
    Key(String),
    #[error("cannot seal the relay message: {0}")]
    Seal(String),
    /// Java: AuthException "Message processing is failed".
    #[error("Message processing is failed: {0}")]
    Open(String),
}

/// What an envelope carries.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Message {
    pub message_type: Option<String>,
    pub session_id: Option<String>,
    pub payload: Option<String>,
}

/// Seals and opens envelopes with this system's key (built once: preparing josekit's signer and
/// decrypter goes through OpenSSL's key decoders).
pub struct Cryptographer {
    signer: josekit::jws::alg::rsassa::RsassaJwsSigner,
    decrypter: josekit::jwe::alg::rsaes::RsaesJweDecrypter,
}

fn key_error(e: impl std::fmt::Display) -> EnvelopeError {
    EnvelopeError::Key(e.to_string())
}

impl Cryptographer {
    pub fn new(own_key: &PKey<Private>) -> Result<Self, EnvelopeError> {
        let pem = own_key.private_key_to_pem_pkcs8().map_err(key_error)?;
        let der = own_key.private_key_to_der().map_err(key_error)?;
        Ok(Self {
            signer: RS512.signer_from_pem(pem).map_err(key_error)?,
            decrypter: RSA_OAEP_256.decrypter_from_der(der).map_err(key_error)?,
        })
    }

    /// The envelope of `message` for `recipient`.
    pub fn seal(
        &self,
        message: &Message,
        recipient: &PKey<Public>,
    ) -> Result<String, EnvelopeError> {
        let err = |e: josekit::JoseError| EnvelopeError::Seal(e.to_string());
        let mut claims = JwtPayload::new();
        claims.set_jwt_id(crate::token::random_id());
        claims.set_issued_at(&std::time::SystemTime::now());
        for (name, value) in [
            ("mst", &message.message_type),
            ("sid", &message.session_id),
            ("pld", &message.payload),
        ] {
            if let Some(v) = value {
                let v = if name == "pld" {
                    v.clone()
                } else {
                    v.trim().to_owned()
                };
                claims
                    .set_claim(name, Some(Value::String(v)))
                    .map_err(err)?;
            }
        }
        let jws = jwt::encode_with_signer(&claims, &JwsHeader::new(), &self.signer).map_err(err)?;
        let encrypter = RSA_OAEP_256
            .encrypter_from_der(recipient.public_key_to_der().map_err(key_error)?)
            .map_err(key_error)?;
        let mut header = JweHeader::new();
        header.set_content_encryption(JWE_ENC);
        header.set_content_type("JWT");
        josekit::jwe::serialize_compact(jws.as_bytes(), &header, &encrypter).map_err(err)
    }

    /// Java's `encodeSessionId`: only the session id.
    pub fn seal_session_id(
        &self,
        session_id: &str,
        recipient: &PKey<Public>,
    ) -> Result<String, EnvelopeError> {
        self.seal(
            &Message {
                session_id: Some(session_id.to_owned()),
                ..Default::default()
            },
            recipient,
        )
    }

    /// Java's `encodeBytes`: the Gateway's data, type `raw`, no session id.
    pub fn seal_bytes(
        &self,
        bytes: &[u8],
        recipient: &PKey<Public>,
    ) -> Result<String, EnvelopeError> {
        self.seal(
            &Message {
                message_type: Some(RAW.into()),
                session_id: None,
                payload: Some(openssl::base64::encode_block(bytes)),
            },
            recipient,
        )
    }

    /// Opens an envelope addressed to this system and signed by `sender`.
    pub fn open(&self, text: &str, sender: &PKey<Public>) -> Result<Message, EnvelopeError> {
        let open = |m: String| EnvelopeError::Open(m);
        let (inner, header) = josekit::jwe::deserialize_compact(text.trim(), &self.decrypter)
            .map_err(|e| open(e.to_string()))?;
        if header.algorithm() != Some("RSA-OAEP-256")
            || header.content_encryption() != Some(JWE_ENC)
        {
            return Err(open("unexpected encryption algorithms".into()));
        }
        let verifier = RS512
            .verifier_from_der(sender.public_key_to_der().map_err(key_error)?)
            .map_err(key_error)?;
        let (claims, jws_header) =
            jwt::decode_with_verifier(&inner, &verifier).map_err(|e| open(e.to_string()))?;
        if jws_header.algorithm() != Some("RS512") {
            return Err(open("unexpected signature algorithm".into()));
        }
        if claims.jwt_id().is_none() {
            return Err(open("no jti".into()));
        }
        let text_claim = |name: &str| -> Result<Option<String>, EnvelopeError> {
            match claims.claim(name) {
                None | Some(Value::Null) => Ok(None),
                Some(Value::String(s)) => Ok(Some(s.clone())),
                Some(_) => Err(open(format!("{name} is not a string"))),
            }
        };
        Ok(Message {
            message_type: text_claim("mst")?,
            session_id: text_claim("sid")?,
            payload: text_claim("pld")?,
        })
    }
}

/// The bytes of a `raw` message's payload.
pub fn raw_bytes(message: &Message) -> Result<Vec<u8>, EnvelopeError> {
    let payload = message
        .payload
        .as_deref()
        .ok_or_else(|| EnvelopeError::Open("raw message without payload".into()))?;
    openssl::base64::decode_block(payload).map_err(|e| EnvelopeError::Open(e.to_string()))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    //! Besides round trips, the envelope is checked against an independent implementation of
    //! RFC 7516/7518 written here from OpenSSL primitives (RSA-OAEP with SHA-256, AES-256-CBC,
    //! HMAC-SHA-512, RSA PKCS#1 v1.5 with SHA-512), in both directions.
    use super::*;
    use openssl::base64;
    use openssl::hash::MessageDigest;
    use openssl::pkey_ctx::PkeyCtx;
    use openssl::rsa::Padding;
    use openssl::symm::{decrypt, encrypt, Cipher};

    fn key() -> PKey<Private> {
        PKey::from_rsa(openssl::rsa::Rsa::generate(2048).unwrap()).unwrap()
    }

    fn public(k: &PKey<Private>) -> PKey<Public> {
        PKey::public_key_from_der(&k.public_key_to_der().unwrap()).unwrap()
    }

    fn b64url_decode(s: &str) -> Vec<u8> {
        let mut t: String = s.replace('-', "+").replace('_', "/");
        while !t.len().is_multiple_of(4) {
            t.push('=');
        }
        base64::decode_block(&t).unwrap()
    }

    fn b64url(b: &[u8]) -> String {
        base64::encode_block(b)
            .replace('+', "-")
            .replace('/', "_")
            .trim_end_matches('=')
            .to_owned()
    }

    fn oaep(ctx: &mut PkeyCtx<impl openssl::pkey::HasPublic>) {
        ctx.set_rsa_padding(Padding::PKCS1_OAEP).unwrap();
        ctx.set_rsa_oaep_md(openssl::md::Md::sha256()).unwrap();
        ctx.set_rsa_mgf1_md(openssl::md::Md::sha256()).unwrap();
    }

    fn tag(mac_key: &[u8], aad: &[u8], iv: &[u8], ciphertext: &[u8]) -> Vec<u8> {
        let mut data = aad.to_vec();
        data.extend_from_slice(iv);
        data.extend_from_slice(ciphertext);
        data.extend_from_slice(&((aad.len() as u64) * 8).to_be_bytes());
        let k = PKey::hmac(mac_key).unwrap();
        let mut signer = openssl::sign::Signer::new(MessageDigest::sha512(), &k).unwrap();
        signer.update(&data).unwrap();
        signer.sign_to_vec().unwrap()[..32].to_vec()
    }

    /// Independent opening: JWE then JWS, by hand.
    fn independent_open(token: &str, recipient: &PKey<Private>, sender: &PKey<Private>) -> Value {
        let parts: Vec<&str> = token.split('.').collect();
        assert_eq!(parts.len(), 5);
        let header: Value = serde_json::from_slice(&b64url_decode(parts[0])).unwrap();
        assert_eq!(
            (
                header["alg"].as_str(),
                header["enc"].as_str(),
                header["cty"].as_str()
            ),
            (Some("RSA-OAEP-256"), Some(JWE_ENC), Some("JWT"))
        );
        let mut ctx = PkeyCtx::new(recipient).unwrap();
        ctx.decrypt_init().unwrap();
        oaep(&mut ctx);
        let mut cek = Vec::new();
        ctx.decrypt_to_vec(&b64url_decode(parts[1]), &mut cek)
            .unwrap();
        assert_eq!(cek.len(), 64);
        let (iv, ciphertext) = (b64url_decode(parts[2]), b64url_decode(parts[3]));
        assert_eq!(
            tag(&cek[..32], parts[0].as_bytes(), &iv, &ciphertext),
            b64url_decode(parts[4])
        );
        let jws = decrypt(Cipher::aes_256_cbc(), &cek[32..], Some(&iv), &ciphertext).unwrap();
        let jws = String::from_utf8(jws).unwrap();
        let p: Vec<&str> = jws.split('.').collect();
        let jws_header: Value = serde_json::from_slice(&b64url_decode(p[0])).unwrap();
        assert_eq!(jws_header["alg"], "RS512");
        let mut verifier = openssl::sign::Verifier::new(MessageDigest::sha512(), sender).unwrap();
        verifier
            .update(format!("{}.{}", p[0], p[1]).as_bytes())
            .unwrap();
        assert!(
            verifier.verify(&b64url_decode(p[2])).unwrap(),
            "RS512 signature"
        );
        serde_json::from_slice(&b64url_decode(p[1])).unwrap()
    }

    /// Independent sealing, as jose4j would produce it.
    fn independent_seal(
        claims: &Value,
        sender: &PKey<Private>,
        recipient: &PKey<Private>,
    ) -> String {
        let h = b64url(br#"{"alg":"RS512"}"#);
        let c = b64url(claims.to_string().as_bytes());
        let mut signer = openssl::sign::Signer::new(MessageDigest::sha512(), sender).unwrap();
        signer.update(format!("{h}.{c}").as_bytes()).unwrap();
        let jws = format!("{h}.{c}.{}", b64url(&signer.sign_to_vec().unwrap()));
        let header = b64url(br#"{"alg":"RSA-OAEP-256","enc":"A256CBC-HS512","cty":"JWT"}"#);
        let mut cek = [0u8; 64];
        openssl::rand::rand_bytes(&mut cek).unwrap();
        let mut iv = [0u8; 16];
        openssl::rand::rand_bytes(&mut iv).unwrap();
        let ciphertext =
            encrypt(Cipher::aes_256_cbc(), &cek[32..], Some(&iv), jws.as_bytes()).unwrap();
        let mut ctx = PkeyCtx::new(recipient).unwrap();
        ctx.encrypt_init().unwrap();
        oaep(&mut ctx);
        let mut wrapped = Vec::new();
        ctx.encrypt_to_vec(&cek, &mut wrapped).unwrap();
        let t = tag(&cek[..32], header.as_bytes(), &iv, &ciphertext);
        format!(
            "{header}.{}.{}.{}.{}",
            b64url(&wrapped),
            b64url(&iv),
            b64url(&ciphertext),
            b64url(&t)
        )
    }

    #[test]
    fn round_trip_and_independent_implementation() {
        let (a, b) = (key(), key());
        let (ca, cb) = (
            Cryptographer::new(&a).unwrap(),
            Cryptographer::new(&b).unwrap(),
        );
        let m = Message {
            message_type: Some(" gsd_poll ".into()),
            session_id: Some("AbC123".into()),
            payload: Some(
                r#"{"requestedService":{"serviceDefinitionRequirement":"temperature"}}"#.into(),
            ),
        };
        let sealed = ca.seal(&m, &public(&b)).unwrap();
        let opened = cb.open(&sealed, &public(&a)).unwrap();
        assert_eq!(
            opened.message_type.as_deref(),
            Some("gsd_poll"),
            "trimmed as Java does"
        );
        assert_eq!(
            (opened.session_id, opened.payload),
            (m.session_id.clone(), m.payload.clone())
        );
        // What we seal, an independent JOSE opens.
        let claims = independent_open(&sealed, &b, &a);
        assert_eq!(claims["mst"], "gsd_poll");
        assert!(claims["jti"].as_str().is_some_and(|j| !j.is_empty()) && claims["iat"].is_number());
        // What an independent JOSE seals (jose4j's shape), we open.
        let theirs = independent_seal(
            &serde_json::json!({"jti": "x1", "iat": 1700000000, "mst": "ack", "sid": "AbC123"}),
            &a,
            &b,
        );
        assert_eq!(
            cb.open(&theirs, &public(&a)).unwrap(),
            Message {
                message_type: Some("ack".into()),
                session_id: Some("AbC123".into()),
                payload: None
            }
        );
        // Raw bytes.
        let sealed = ca
            .seal_bytes(b"GET / HTTP/1.1\r\n\r\n\x00\xff", &public(&b))
            .unwrap();
        let opened = cb.open(&sealed, &public(&a)).unwrap();
        assert_eq!(
            (opened.message_type.as_deref(), opened.session_id.as_deref()),
            (Some(RAW), None)
        );
        assert_eq!(
            raw_bytes(&opened).unwrap(),
            b"GET / HTTP/1.1\r\n\r\n\x00\xff"
        );
    }

    #[test]
    fn forged_tampered_and_incomplete_envelopes_are_refused() {
        let (a, b, mallory) = (key(), key(), key());
        let (ca, cb, cm) = (
            Cryptographer::new(&a).unwrap(),
            Cryptographer::new(&b).unwrap(),
            Cryptographer::new(&mallory).unwrap(),
        );
        let sealed = ca.seal_session_id("AbC123", &public(&b)).unwrap();
        // Another sender's signature, for someone else, or altered: all refused.
        let forged = cm.seal_session_id("AbC123", &public(&b)).unwrap();
        assert!(matches!(
            cb.open(&forged, &public(&a)),
            Err(EnvelopeError::Open(_))
        ));
        assert!(
            cm.open(&sealed, &public(&a)).is_err(),
            "not addressed to mallory"
        );
        let mut parts: Vec<String> = sealed.split('.').map(str::to_owned).collect();
        parts[3] = b64url(&[0u8; 64]);
        assert!(cb.open(&parts.join("."), &public(&a)).is_err());
        assert!(cb.open("not.a.token", &public(&a)).is_err());
        // No jti (Java requires one).
        let no_jti = independent_seal(&serde_json::json!({"iat": 1, "sid": "x"}), &a, &b);
        assert_eq!(
            cb.open(&no_jti, &public(&a)),
            Err(EnvelopeError::Open("no jti".into()))
        );
    }
}
