//! Arrowhead authorization tokens (Java `TokenGenerationService` / `TokenUtilities`): a JWS signed
//! RS512 by the Authorization system, with claims `jti`, `iss`="Authorization", `iat`, `nbf`
//! (one minute back), optional `exp`, `cid` (consumer), `sid` (service), `iid` (interface),
//! wrapped in a JWE (RSA-OAEP-256, A256CBC-HS512, `cty` JWT) for the provider's public key. The
//! Authorization system generates them; providers written in Rust verify them with [`verify`].

use josekit::jwe::{JweHeader, RSA_OAEP_256};
use josekit::jws::{JwsHeader, RS512};
use josekit::jwt::{self, JwtPayload};
use openssl::pkey::{PKey, Private, Public};
use serde_json::Value;
use std::time::{Duration, SystemTime};

pub const ISSUER: &str = "Authorization";
const JWE_ALG: &str = "RSA-OAEP-256";
const JWE_ENC: &str = "A256CBC-HS512";

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum TokenError {
    #[error("invalid public key: {0}")]
    Key(String),
    #[error("token cannot be created: {0}")]
    Create(String),
    #[error("token is invalid: {0}")]
    Invalid(String),
}

/// What a token grants: `consumer` is the Java `cid` (`<system>.<cloud>.<operator>`,
/// lowercase), `service` the definition, `interface` the interface name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grant {
    pub consumer: String,
    pub service: String,
    pub interface: String,
}

/// A decrypted, verified token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedToken {
    pub jti: String,
    pub grant: Grant,
    pub issued_at: SystemTime,
    pub not_before: SystemTime,
    pub expires_at: Option<SystemTime>,
}

/// `authenticationInfo` (standard base64 of a DER SubjectPublicKeyInfo) as a key.
pub fn public_key_from_base64(b64: &str) -> Result<PKey<Public>, TokenError> {
    let der =
        openssl::base64::decode_block(b64.trim()).map_err(|e| TokenError::Key(e.to_string()))?;
    PKey::public_key_from_der(&der).map_err(|e| TokenError::Key(e.to_string()))
}

/// A random identifier (`jti` of tokens and relay envelopes).
pub fn random_id() -> String {
    let mut bytes = [0u8; 16];
    if openssl::rand::rand_bytes(&mut bytes).is_err() {
        // The OS random source failing is not a token problem; fall back to the clock.
        let nanos = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0);
        bytes.copy_from_slice(&nanos.to_le_bytes());
    }
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Issues tokens with one signing key. Built once: preparing a signer (and an encrypter) goes
/// through OpenSSL's key decoders, which cost more than the RSA signature itself.
#[derive(Clone)]
pub struct Issuer {
    signer: josekit::jws::alg::rsassa::RsassaJwsSigner,
}

/// A provider's key, ready to encrypt tokens to.
pub type Recipient = josekit::jwe::alg::rsaes::RsaesJweEncrypter;

/// The recipient for a provider's `authenticationInfo`.
pub fn recipient(authentication_info: &str) -> Result<Recipient, TokenError> {
    let spki = public_key_from_base64(authentication_info)?
        .public_key_to_der()
        .map_err(|e| TokenError::Key(e.to_string()))?;
    RSA_OAEP_256
        .encrypter_from_der(spki)
        .map_err(|e| TokenError::Key(e.to_string()))
}

impl Issuer {
    pub fn new(signing_key: &PKey<Private>) -> Result<Self, TokenError> {
        let pem = signing_key
            .private_key_to_pem_pkcs8()
            .map_err(|e| TokenError::Key(e.to_string()))?;
        Ok(Self {
            signer: RS512
                .signer_from_pem(pem)
                .map_err(|e| TokenError::Key(e.to_string()))?,
        })
    }

    /// Creates a token. `duration` is the lifetime; `None` means no `exp` (the Java default).
    pub fn issue(
        &self,
        recipient: &Recipient,
        grant: &Grant,
        duration: Option<Duration>,
        now: SystemTime,
    ) -> Result<String, TokenError> {
        let err = |e: josekit::JoseError| TokenError::Create(e.to_string());
        let mut payload = JwtPayload::new();
        payload.set_jwt_id(random_id());
        payload.set_issuer(ISSUER);
        payload.set_issued_at(&now);
        payload.set_not_before(&(now - Duration::from_secs(60)));
        if let Some(d) = duration {
            let expires = now
                .checked_add(d)
                .ok_or_else(|| TokenError::Create("token lifetime too long".into()))?;
            payload.set_expires_at(&expires);
        }
        payload
            .set_claim("cid", Some(Value::String(grant.consumer.to_lowercase())))
            .map_err(err)?;
        payload
            .set_claim("sid", Some(Value::String(grant.service.to_lowercase())))
            .map_err(err)?;
        payload
            .set_claim("iid", Some(Value::String(grant.interface.clone())))
            .map_err(err)?;
        let jws =
            jwt::encode_with_signer(&payload, &JwsHeader::new(), &self.signer).map_err(err)?;
        let mut header = JweHeader::new();
        header.set_content_encryption(JWE_ENC);
        header.set_content_type("JWT");
        josekit::jwe::serialize_compact(jws.as_bytes(), &header, recipient).map_err(err)
    }
}

/// Creates one token (convenience for a single use; systems keep an [`Issuer`]).
pub fn generate(
    signing_key: &PKey<Private>,
    provider_key: &PKey<Public>,
    grant: &Grant,
    duration: Option<Duration>,
    now: SystemTime,
) -> Result<String, TokenError> {
    let spki = provider_key
        .public_key_to_der()
        .map_err(|e| TokenError::Key(e.to_string()))?;
    let recipient = RSA_OAEP_256
        .encrypter_from_der(spki)
        .map_err(|e| TokenError::Key(e.to_string()))?;
    Issuer::new(signing_key)?.issue(&recipient, grant, duration, now)
}

/// Verifies a token as a provider must: decrypt with the provider's own key, check the
/// Authorization system's signature, the issuer, the time window, and that the consumer named in
/// the token is the caller (`consumer_system`, the first label of its certificate CN). Service
/// and interface are returned for the provider to compare with what is being called.
pub fn verify(
    token: &str,
    provider_key: &PKey<Private>,
    authorization_key: &PKey<Public>,
    consumer_system: &str,
    now: SystemTime,
) -> Result<VerifiedToken, TokenError> {
    let invalid = |m: String| TokenError::Invalid(m);
    let pkcs8 = provider_key
        .private_key_to_der()
        .map_err(|e| TokenError::Key(e.to_string()))?;
    let decrypter = RSA_OAEP_256
        .decrypter_from_der(pkcs8)
        .map_err(|e| TokenError::Key(e.to_string()))?;
    let (inner, header) = josekit::jwe::deserialize_compact(token.trim(), &decrypter)
        .map_err(|e| invalid(e.to_string()))?;
    if header.algorithm() != Some(JWE_ALG) || header.content_encryption() != Some(JWE_ENC) {
        return Err(invalid("unexpected encryption algorithms".into()));
    }
    let spki = authorization_key
        .public_key_to_der()
        .map_err(|e| TokenError::Key(e.to_string()))?;
    let verifier = RS512
        .verifier_from_der(spki)
        .map_err(|e| TokenError::Key(e.to_string()))?;
    let (payload, _) =
        jwt::decode_with_verifier(&inner, &verifier).map_err(|e| invalid(e.to_string()))?;
    if payload.issuer() != Some(ISSUER) {
        return Err(invalid(format!(
            "issuer is {:?}, not {ISSUER}",
            payload.issuer()
        )));
    }
    let jti = payload
        .jwt_id()
        .ok_or_else(|| invalid("no jti".into()))?
        .to_owned();
    let not_before = payload
        .not_before()
        .ok_or_else(|| invalid("no nbf".into()))?;
    let issued_at = payload
        .issued_at()
        .ok_or_else(|| invalid("no iat".into()))?;
    if now < not_before {
        return Err(invalid("not valid yet".into()));
    }
    let expires_at = payload.expires_at();
    if expires_at.is_some_and(|exp| now >= exp) {
        return Err(invalid("expired".into()));
    }
    let text = |k: &str| {
        payload
            .claim(k)
            .and_then(Value::as_str)
            .map(str::to_owned)
            .ok_or_else(|| invalid(format!("no {k}")))
    };
    let grant = Grant {
        consumer: text("cid")?,
        service: text("sid")?,
        interface: text("iid")?,
    };
    let token_consumer = grant.consumer.split('.').next().unwrap_or_default();
    if !crate::identity::same_system(token_consumer, consumer_system) {
        return Err(invalid(format!(
            "issued to {token_consumer}, presented by {consumer_system}"
        )));
    }
    Ok(VerifiedToken {
        jti,
        grant,
        issued_at,
        not_before,
        expires_at,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::OnceLock;

    fn keys() -> &'static (PKey<Private>, PKey<Private>, PKey<Private>) {
        static KEYS: OnceLock<(PKey<Private>, PKey<Private>, PKey<Private>)> = OnceLock::new();
        KEYS.get_or_init(|| {
            let k = || PKey::from_rsa(openssl::rsa::Rsa::generate(2048).unwrap()).unwrap();
            (k(), k(), k())
        })
    }

    fn public(k: &PKey<Private>) -> PKey<Public> {
        public_key_from_base64(&openssl::base64::encode_block(
            &k.public_key_to_der().unwrap(),
        ))
        .unwrap()
    }

    fn grant() -> Grant {
        Grant {
            consumer: "Consumer.testcloud2.aitia".into(),
            service: "Temperature".into(),
            interface: "HTTP-SECURE-JSON".into(),
        }
    }

    #[test]
    fn round_trip_with_the_java_claims() {
        let (auth, provider, _) = keys();
        let now = SystemTime::now();
        let token = generate(
            auth,
            &public(provider),
            &grant(),
            Some(Duration::from_secs(3600)),
            now,
        )
        .unwrap();
        assert_eq!(token.split('.').count(), 5, "compact JWE");
        let header = josekit::jwt::decode_header(&token).unwrap();
        let claim = |k: &str| header.claim(k).and_then(Value::as_str).map(str::to_owned);
        assert_eq!(
            (claim("alg"), claim("enc"), claim("cty")),
            (
                Some("RSA-OAEP-256".into()),
                Some("A256CBC-HS512".into()),
                Some("JWT".into())
            )
        );
        let v = verify(&token, provider, &public(auth), "consumer", now).unwrap();
        assert_eq!(
            v.grant,
            Grant {
                consumer: "consumer.testcloud2.aitia".into(),
                service: "temperature".into(),
                interface: "HTTP-SECURE-JSON".into()
            }
        );
        assert_eq!(v.jti.len(), 32);
        let secs = |t: SystemTime| t.duration_since(SystemTime::UNIX_EPOCH).unwrap().as_secs();
        assert_eq!(secs(v.issued_at), secs(now));
        assert_eq!(secs(v.not_before), secs(now) - 60);
        assert_eq!(v.expires_at.map(secs), Some(secs(now) + 3600));
        // Without a duration there is no exp, as with the Java default (-1).
        let forever = generate(auth, &public(provider), &grant(), None, now).unwrap();
        assert_eq!(
            verify(&forever, provider, &public(auth), "CONSUMER", now)
                .unwrap()
                .expires_at,
            None
        );
    }

    #[test]
    fn refuses_what_a_provider_must_refuse() {
        let (auth, provider, other) = keys();
        let now = SystemTime::now();
        let token = generate(
            auth,
            &public(provider),
            &grant(),
            Some(Duration::from_secs(60)),
            now,
        )
        .unwrap();
        let cases: Vec<(&str, Result<VerifiedToken, TokenError>)> = vec![
            (
                "wrong provider key",
                verify(&token, other, &public(auth), "consumer", now),
            ),
            (
                "signed by someone else",
                verify(&token, provider, &public(other), "consumer", now),
            ),
            (
                "another consumer",
                verify(&token, provider, &public(auth), "intruder", now),
            ),
            (
                "expired",
                verify(
                    &token,
                    provider,
                    &public(auth),
                    "consumer",
                    now + Duration::from_secs(61),
                ),
            ),
            (
                "not yet valid",
                verify(
                    &token,
                    provider,
                    &public(auth),
                    "consumer",
                    now - Duration::from_secs(120),
                ),
            ),
            (
                "garbage",
                verify("a.b.c.d.e", provider, &public(auth), "consumer", now),
            ),
        ];
        for (what, got) in cases {
            assert!(
                matches!(got, Err(TokenError::Invalid(_))),
                "{what}: {got:?}"
            );
        }
        assert!(public_key_from_base64("not base64!").is_err());
    }
}
