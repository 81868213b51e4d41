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
///
/// RSA signing is the whole cost of a token, so it runs on at most one thread per core, each
/// with its own copy of the key. Signing on every blocking thread at once with one shared key
/// made the threads queue on OpenSSL's per-key blinding lock and the cores switch between them:
/// 1.4 to 2.6 ms of CPU per token instead of the 0.9 ms the signature costs.
pub struct TokenService {
    /// One issuer per permit: an issuer is used by one thread at a time.
    issuers: Mutex<Vec<token::Issuer>>,
    /// Used when every pooled issuer is busy.
    shared: token::Issuer,
    permits: tokio::sync::Semaphore,
    /// `authenticationInfo` → recipient. A pure function of the key text, so sharing it between
    /// requests can never give a wrong answer; bounded by clearing.
    recipients: Mutex<HashMap<String, Arc<token::Recipient>>>,
}

const MAX_RECIPIENTS: usize = 10_000;
/// Requests of at most this many tokens are signed on the worker that received them.
pub const INLINE_TOKENS: usize = 2;

impl TokenService {
    pub fn new(signing_key: &PKey<Private>) -> Result<Self, String> {
        let signers = std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1);
        let issuers = (0..signers)
            .map(|_| token::Issuer::new(signing_key).map_err(|e| e.to_string()))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Self {
            issuers: Mutex::new(issuers),
            shared: token::Issuer::new(signing_key).map_err(|e| e.to_string())?,
            permits: tokio::sync::Semaphore::new(signers),
            recipients: Mutex::default(),
        })
    }

    /// Runs `f` (which calls [`Self::generate`]) for `tokens` tokens. Up to
    /// [`INLINE_TOKENS`] are signed right on the calling worker: a signature takes about a
    /// millisecond, less than handing the work to another thread and back costs in switches on
    /// a loaded machine, and there is one worker per core. More go to a blocking thread once a
    /// signing slot is free, so no more threads sign than there are cores.
    pub async fn signing<T: Send + 'static>(
        self: &Arc<Self>,
        tokens: usize,
        f: impl FnOnce(&TokenService) -> Result<T, ArrowheadError> + Send + 'static,
    ) -> Result<T, ArrowheadError> {
        if tokens <= INLINE_TOKENS {
            return f(self);
        }
        let _permit = self
            .permits
            .acquire()
            .await
            .map_err(|_| ArrowheadError::internal("Token generation is shutting down."))?;
        let me = self.clone();
        actix_web::web::block(move || f(&me))
            .await
            .map_err(|_| ArrowheadError::internal("Token generation failed."))?
    }

    /// Takes a free issuer for one signing run and gives it back afterwards.
    fn with_issuer<T>(&self, f: impl FnOnce(&token::Issuer) -> T) -> T {
        let lock = || self.issuers.lock().unwrap_or_else(|p| p.into_inner());
        let issuer = lock().pop();
        match issuer {
            Some(issuer) => {
                let out = f(&issuer);
                lock().push(issuer);
                out
            }
            // More signers than issuers (inline signing on the workers alongside the blocking
            // ones): the shared issuer, correct, only slower under contention.
            None => f(&self.shared),
        }
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
        self.with_issuer(|issuer| self.generate_with(issuer, cid, service, providers, now))
    }

    fn generate_with(
        &self,
        issuer: &token::Issuer,
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
                let t = issuer
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

#[cfg(test)]
mod busy_tests {
    use super::*;

    /// More threads sign at once than there are pooled issuers (the inline path does not take a
    /// permit): every one still gets its tokens, none panics on an empty pool.
    #[test]
    fn more_signers_than_issuers_all_get_tokens() {
        let key = PKey::from_rsa(openssl::rsa::Rsa::generate(2048).unwrap()).unwrap();
        let provider = PKey::from_rsa(openssl::rsa::Rsa::generate(2048).unwrap()).unwrap();
        let info = openssl::base64::encode_block(&provider.public_key_to_der().unwrap());
        let service = Arc::new(TokenService::new(&key).unwrap());
        let providers = vec![TokenProvider {
            name: "p".into(),
            address: "127.0.0.1".into(),
            port: 1,
            authentication_info: info,
            interfaces: vec!["HTTP-SECURE-JSON".into()],
            duration: None,
        }];
        let threads: Vec<_> = (0..8)
            .map(|_| {
                let (service, providers) = (service.clone(), providers.clone());
                std::thread::spawn(move || {
                    service
                        .generate("c.cloud.op", "s", &providers, SystemTime::now())
                        .map(|r| r.token_data[0].tokens.len())
                })
            })
            .collect();
        for t in threads {
            assert_eq!(t.join().unwrap().unwrap(), 1);
        }
        assert_eq!(
            service.issuers.lock().unwrap().len(),
            std::thread::available_parallelism().map_or(1, |n| n.get()),
            "every pooled issuer is back"
        );
    }
}
