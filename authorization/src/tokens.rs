//! Token generation (Java `TokenGenerationService`): one token per provider and interface, for
//! the consumer identified as `<system>.<cloud>.<operator>`, signed with this system's key and
//! encrypted for the provider. Providers whose public key cannot be read are skipped, as in Java;
//! if none is left the request fails.

use common::dto::{TokenData, TokenGenerationResponse};
use common::token::{self, Grant};
use common::ArrowheadError;
use openssl::pkey::{PKey, Private};
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

/// One validated provider of a token request.
#[derive(Debug, Clone)]
pub struct TokenProvider {
    pub name: String,
    pub address: String,
    pub port: i32,
    pub authentication_info: String,
    pub interfaces: Vec<String>,
    /// `None`: no expiry (a duration of zero or less, as in Java).
    pub duration: Option<Duration>,
}

/// `cid` is the consumer name with its cloud and operator, lowercase (Java `TokenUtilities`).
pub fn consumer_id(system: &str, cloud: &str, operator: &str) -> String {
    format!("{system}.{cloud}.{operator}").to_lowercase()
}

/// Issues tokens with this system's key; provider keys are decoded once per distinct key.
pub struct TokenService {
    issuer: token::Issuer,
    /// `authenticationInfo` → recipient. A pure function of the key text, so sharing it between
    /// requests can never give a wrong answer; bounded by clearing.
    recipients: Mutex<HashMap<String, Arc<token::Recipient>>>,
}

const MAX_RECIPIENTS: usize = 10_000;

impl TokenService {
    pub fn new(signing_key: &PKey<Private>) -> Result<Self, String> {
        Ok(Self {
            issuer: token::Issuer::new(signing_key).map_err(|e| e.to_string())?,
            recipients: Mutex::default(),
        })
    }

    fn recipient(
        &self,
        authentication_info: &str,
    ) -> Result<Arc<token::Recipient>, token::TokenError> {
        let mut cache = self.recipients.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(r) = cache.get(authentication_info) {
            return Ok(r.clone());
        }
        let r = Arc::new(token::recipient(authentication_info)?);
        if cache.len() >= MAX_RECIPIENTS {
            cache.clear();
        }
        cache.insert(authentication_info.to_owned(), r.clone());
        Ok(r)
    }

    pub fn generate(
        &self,
        cid: &str,
        service: &str,
        providers: &[TokenProvider],
        now: SystemTime,
    ) -> Result<TokenGenerationResponse, ArrowheadError> {
        let mut token_data = Vec::with_capacity(providers.len());
        for p in providers {
            let recipient = match self.recipient(&p.authentication_info) {
                Ok(r) => r,
                Err(e) => {
                    tracing::warn!(provider = %p.name, error = %e, "skipping provider: its authentication info is not a public key");
                    continue;
                }
            };
            let mut tokens = BTreeMap::new();
            for interface in &p.interfaces {
                let grant = Grant {
                    consumer: cid.to_owned(),
                    service: service.to_owned(),
                    interface: interface.clone(),
                };
                let t = self
                    .issuer
                    .issue(&recipient, &grant, p.duration, now)
                    .map_err(|e| {
                        ArrowheadError::internal(format!("Token generation failed: {e}"))
                    })?;
                tokens.insert(interface.clone(), t);
            }
            token_data.push(TokenData {
                provider_name: p.name.clone(),
                provider_address: p.address.clone(),
                provider_port: p.port,
                tokens,
            });
        }
        if token_data.is_empty() {
            return Err(ArrowheadError::invalid_parameter(
                "Token generation failed for all the provider systems.",
            ));
        }
        Ok(TokenGenerationResponse { token_data })
    }
}
