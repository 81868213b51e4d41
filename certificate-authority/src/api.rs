//! The Certificate Authority's HTTP endpoints: Java 4.6.2 paths, JSON and status codes, with
//! Java's bugs fixed where they hurt (error JSON instead of plain text or 500, the sysop can
//! revoke every certificate, stable trusted-key hashes, validity honoured).

use crate::access::{self, Endpoint};
use crate::ledger::Recorded;
use crate::signer::{SignError, Signer, ValidityBounds};
use crate::store::{self, NewKey};
use actix_web::{web, HttpRequest, HttpResponse};
use chrono::{DateTime, NaiveDateTime, SecondsFormat, Utc};
use common::db::{self, DbPool};
use common::dto::{format_instant, parse_instant, storable};
use common::error::ErrorMessage;
use common::identity::Caller;
use common::names::{PageParams, PageQuery};
use common::web::request_url;
use common::ArrowheadError;
use openssl::x509::X509;
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use std::sync::Arc;
use utoipa::OpenApi;

pub const BASE: &str = "/certificate-authority";

/// Handler state: the signing material and the database; no certificate data in memory.
pub struct AppState {
    pub pool: DbPool,
    /// Where issued certificates are recorded (batched; see `ledger`).
    pub ledger: crate::ledger::Ledger,
    pub signer: Arc<Signer>,
    pub bounds: ValidityBounds,
}

fn allow(caller: &Caller, endpoint: Endpoint, req: &HttpRequest) -> Result<(), ArrowheadError> {
    access::check(caller, endpoint, &request_url(req))
}

fn bad(message: impl Into<String>, origin: &str) -> ArrowheadError {
    ArrowheadError::bad_payload(message).with_origin(origin)
}

/// `ZonedDateTime.now()` as Java's ISO_INSTANT writes it: with fractions of a second.
fn now_instant(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::AutoSi, true)
}

fn instant(t: &NaiveDateTime) -> String {
    format_instant(t)
}

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::scope(BASE)
            .service(web::resource("/echo").route(web::get().to(echo)))
            .service(web::resource("/mgmt/logs").route(web::get().to(logs)))
            .service(web::resource("/sign").route(web::post().to(sign)))
            .service(web::resource("/checkCertificate").route(web::post().to(check_certificate)))
            .service(web::resource("/checkTrustedKey").route(web::post().to(check_trusted_key)))
            .service(web::resource("/mgmt/certificates").route(web::get().to(list_certificates)))
            .service(
                web::resource("/mgmt/certificates/{id}")
                    .route(web::delete().to(revoke_certificate)),
            )
            .service(
                web::resource("/mgmt/keys")
                    .route(web::get().to(list_keys))
                    .route(web::put().to(add_key)),
            )
            .service(web::resource("/mgmt/keys/{id}").route(web::delete().to(delete_key))),
    );
}

#[utoipa::path(get, path = "/certificate-authority/echo", tag = "Client", responses((status = 200, body = String)))]
pub async fn echo(caller: Caller, req: HttpRequest) -> Result<HttpResponse, ArrowheadError> {
    allow(&caller, Endpoint::Open, &req)?;
    Ok(HttpResponse::Ok()
        .content_type("text/plain;charset=UTF-8")
        .body("Got it!"))
}

common::mgmt_logs_handler!(
    "/certificate-authority/mgmt/logs",
    common::identity::CoreSystem::CertificateAuthority,
    AppState,
    |s| &s.pool
);

// ---- sign ----

/// Java `CertificateSigningRequestDTO`.
#[derive(Debug, Default, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SignRequest {
    /// Base64 of the DER PKCS#10 request (a PEM block is accepted too).
    #[schema(required = true)]
    #[serde(rename = "encodedCSR")]
    pub encoded_csr: Option<String>,
    /// ISO-8601 instant the certificate starts; default: now minus the negative offset.
    pub valid_after: Option<String>,
    /// ISO-8601 instant the certificate ends; default: now plus the positive offset.
    pub valid_before: Option<String>,
}

/// Java `CertificateSigningResponseDTO`: the issued certificate, the cloud's and the root's.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SignResponse {
    pub id: i64,
    /// Base64 DER: the issued certificate first, then the cloud certificate and the master.
    pub certificate_chain: Vec<String>,
}

const SIGN: &str = "/certificate-authority/sign";
const STORABLE: &str =
    "Validity dates must lie between 1970-01-01T00:00:01Z and 2038-01-19T03:14:07Z (the database's TIMESTAMP range).";

/// The DER of a CSR given as base64 DER or as a PEM block.
fn csr_der(text: &str) -> Option<Vec<u8>> {
    let t = text.trim();
    if t.starts_with("-----BEGIN") {
        return openssl::x509::X509Req::from_pem(t.as_bytes())
            .ok()?
            .to_der()
            .ok();
    }
    let compact: String = t.chars().filter(|c| !c.is_whitespace()).collect();
    openssl::base64::decode_block(&compact).ok()
}

fn optional_instant(
    value: Option<&str>,
    name: &str,
    origin: &str,
) -> Result<Option<DateTime<Utc>>, ArrowheadError> {
    match value.map(str::trim).filter(|v| !v.is_empty()) {
        None => Ok(None),
        Some(v) => parse_instant(v).map(|t| Some(t.and_utc())).ok_or_else(|| {
            bad(
                format!("Invalid {name}: '{v}' is not an ISO-8601 instant"),
                origin,
            )
        }),
    }
}

/// A random positive 63-bit serial number.
fn random_serial() -> Result<i64, ArrowheadError> {
    let mut b = [0u8; 8];
    openssl::rand::rand_bytes(&mut b)
        .map_err(|e| ArrowheadError::internal(format!("no random numbers: {e}")))?;
    b[0] &= 0x7f;
    Ok(i64::from_be_bytes(b).max(1))
}

/// Signs a certificate signing request of a system of this cloud.
#[utoipa::path(post, path = "/certificate-authority/sign", tag = "Client", request_body = SignRequest,
    responses((status = 200, body = SignResponse), (status = 400, body = ErrorMessage), (status = 401, body = ErrorMessage)))]
pub async fn sign(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    body: web::Json<SignRequest>,
) -> Result<web::Json<SignResponse>, ArrowheadError> {
    allow(&caller, Endpoint::Onboarding, &req)?;
    let requester = caller
        .identity()
        .map(|id| id.cn())
        .ok_or_else(|| bad("Unexpected client cert", SIGN))?;
    let body = body.into_inner();
    let encoded = body
        .encoded_csr
        .as_deref()
        .filter(|c| !c.trim().is_empty())
        .ok_or_else(|| bad("The encodedCSR is mandatory", SIGN))?;
    let der = csr_der(encoded).ok_or_else(|| bad(SignError::Unparsable.to_string(), SIGN))?;
    let window = (
        optional_instant(body.valid_after.as_deref(), "validAfter", SIGN)?,
        optional_instant(body.valid_before.as_deref(), "validBefore", SIGN)?,
    );
    let signer = state.signer.clone();
    let bounds = state.bounds;
    let chain_rest = signer.chain_base64.clone();
    // A serial already in the table (one chance in 2^62 per issued certificate) is drawn
    // again: the table's unique key makes serials unique, not luck.
    for _ in 0..5 {
        let serial = random_serial()?;
        let (s, d, r) = (signer.clone(), der.clone(), requester.clone());
        let issued = web::block(move || s.sign(&d, &r, window, bounds, Utc::now(), serial))
            .await
            .map_err(|e| ArrowheadError::internal(e.to_string()))?
            .map_err(|e| bad(e.to_string(), SIGN))?;
        if !storable(&issued.not_before.naive_utc()) || !storable(&issued.not_after.naive_utc()) {
            return Err(bad(STORABLE, SIGN));
        }
        let entry = crate::ledger::Entry {
            common_name: issued.common_name.clone(),
            serial,
            created_by: requester.clone(),
            valid_after: issued.not_before.naive_utc(),
            valid_before: issued.not_after.naive_utc(),
        };
        match state.ledger.record(entry).await {
            Recorded::Id(id) => {
                tracing::info!(id, "certificate issued");
                let mut certificate_chain = vec![openssl::base64::encode_block(&issued.der)];
                certificate_chain.extend(chain_rest);
                return Ok(web::Json(SignResponse {
                    id,
                    certificate_chain,
                }));
            }
            Recorded::SerialTaken => continue,
            Recorded::Failed(e) => return Err(e),
        }
    }
    Err(ArrowheadError::internal("No unused serial number found."))
}

// ---- check certificate ----

/// Java `CertificateCheckRequestDTO`.
#[derive(Debug, Default, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CheckCertificateRequest {
    pub version: Option<i32>,
    /// Base64 DER of the certificate.
    #[schema(required = true)]
    pub certificate: Option<String>,
}

/// Java `CertificateCheckResponseDTO`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CheckCertificateResponse {
    pub version: i32,
    pub produced_at: String,
    pub end_of_validity: String,
    pub common_name: String,
    /// The certificate's serial number (a JSON number of any size, as Java's BigInteger).
    #[schema(value_type = u64)]
    pub serial_number: Box<RawValue>,
    /// `GOOD`, `REVOKED`, `EXPIRED` or `UNKNOWN`.
    pub status: String,
}

const CHECK_CERT: &str = "/certificate-authority/checkCertificate";

/// An ASN.1 time as an ISO-8601 instant (OpenSSL prints `Nov 29 01:02:09 2027 GMT`).
fn asn1_instant(t: &openssl::asn1::Asn1TimeRef) -> Result<String, ArrowheadError> {
    let epoch = openssl::asn1::Asn1Time::from_unix(0)
        .map_err(|e| ArrowheadError::internal(e.to_string()))?;
    let d = epoch
        .diff(t)
        .map_err(|e| ArrowheadError::internal(e.to_string()))?;
    let secs = i64::from(d.days) * 86_400 + i64::from(d.secs);
    chrono::DateTime::from_timestamp(secs, 0)
        .map(|t| instant(&t.naive_utc()))
        .ok_or_else(|| ArrowheadError::internal("certificate end of validity out of range"))
}

fn serial_json(cert: &X509) -> Result<Box<RawValue>, ArrowheadError> {
    let decimal = cert
        .serial_number()
        .to_bn()
        .and_then(|bn| bn.to_dec_str().map(|s| s.to_string()))
        .map_err(|e| ArrowheadError::internal(e.to_string()))?;
    RawValue::from_string(decimal).map_err(|e| ArrowheadError::internal(e.to_string()))
}

/// What this CA knows of a certificate: `GOOD`, `REVOKED`, `EXPIRED`, or `UNKNOWN` when it did
/// not issue it (also when only the issuer's name matches: the signature is verified, which
/// Java does not do).
#[utoipa::path(post, path = "/certificate-authority/checkCertificate", tag = "Client", request_body = CheckCertificateRequest,
    responses((status = 200, body = CheckCertificateResponse), (status = 400, body = ErrorMessage), (status = 401, body = ErrorMessage)))]
pub async fn check_certificate(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    body: web::Json<CheckCertificateRequest>,
) -> Result<web::Json<CheckCertificateResponse>, ArrowheadError> {
    allow(&caller, Endpoint::Open, &req)?;
    let body = body.into_inner();
    let text = body
        .certificate
        .as_deref()
        .filter(|c| !c.trim().is_empty())
        .ok_or_else(|| bad("The certificate is mandatory", CHECK_CERT))?;
    let compact: String = text.chars().filter(|c| !c.is_whitespace()).collect();
    let cert = openssl::base64::decode_block(&compact)
        .map_err(|e| e.to_string())
        .and_then(|der| X509::from_der(&der).map_err(|e| e.to_string()))
        .map_err(|e| {
            bad(
                format!("Cannot parse certificate, because: {e}"),
                CHECK_CERT,
            )
        })?;
    let now = Utc::now();
    let common_name = common::tls::common_name(&cert).unwrap_or_default();
    let serial_number = serial_json(&cert)?;
    let not_after = asn1_instant(cert.not_after())?;
    let unknown = |end: String, serial_number| CheckCertificateResponse {
        version: body.version.unwrap_or_default(),
        produced_at: now_instant(now),
        end_of_validity: end,
        common_name: common_name.clone(),
        serial_number,
        status: "UNKNOWN".into(),
    };
    let cloud = &state.signer.cloud_cert;
    let ours = cert
        .issuer_name()
        .try_cmp(cloud.subject_name())
        .is_ok_and(|o| o.is_eq())
        && cloud
            .public_key()
            .and_then(|k| cert.verify(&k))
            .unwrap_or(false);
    let serial = common::revocation::serial_of(&cert);
    let (true, Some(serial)) = (ours, serial) else {
        return Ok(web::Json(unknown(not_after, serial_number)));
    };
    let row = db::run(&state.pool, move |c| Ok(store::find_by_serial(c, serial)?)).await?;
    let Some(row) = row else {
        return Ok(web::Json(unknown(not_after, serial_number)));
    };
    let now_naive = now.naive_utc();
    let (status, end) = match row.revoked_at {
        Some(at) => ("REVOKED", at),
        None if now_naive > row.valid_before => ("EXPIRED", row.valid_before),
        None if now_naive < row.valid_after => ("UNKNOWN", row.valid_before),
        None => ("GOOD", row.valid_before),
    };
    Ok(web::Json(CheckCertificateResponse {
        version: 1,
        produced_at: now_instant(now),
        end_of_validity: instant(&end),
        common_name: row.common_name,
        serial_number,
        status: status.into(),
    }))
}

// ---- issued certificates ----

/// Java `IssuedCertificateDTO`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct IssuedCertificate {
    pub id: i64,
    pub created_by: String,
    pub created_at: String,
    pub revoked_at: Option<String>,
    pub valid_from: String,
    pub valid_until: String,
    pub common_name: String,
    pub serial_number: i64,
    /// `GOOD`, `REVOKED` or `EXPIRED`.
    pub status: String,
}

/// Java `IssuedCertificatesResponseDTO`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct IssuedCertificates {
    pub count: i64,
    pub issued_certificates: Vec<IssuedCertificate>,
}

/// Java's page checks of the CA (its own message when only one of page and size is given).
fn ca_page(q: &PageQuery, sortable: &[&str], origin: &str) -> Result<PageParams, ArrowheadError> {
    if q.page.is_some() != q.item_per_page.is_some() {
        return Err(bad(
            "Only both or none of page and size may be defined.",
            origin,
        ));
    }
    q.validate(sortable, origin)
}

const MGMT_CERTS: &str = "/certificate-authority/mgmt/certificates";

/// Certificates this CA issued (paged, sorted by `id`, `commonName`, `createdAt`, `updatedAt`).
#[utoipa::path(get, path = "/certificate-authority/mgmt/certificates", tag = "Management", params(PageQuery),
    responses((status = 200, body = IssuedCertificates), (status = 400, body = ErrorMessage), (status = 401, body = ErrorMessage)))]
pub async fn list_certificates(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    q: web::Query<PageQuery>,
) -> Result<web::Json<IssuedCertificates>, ArrowheadError> {
    allow(&caller, Endpoint::Mgmt, &req)?;
    let page = ca_page(&q, store::CERT_SORT_FIELDS, MGMT_CERTS)?;
    let (rows, count) = db::run(&state.pool, move |c| {
        Ok(store::list_certificates(c, &page)?)
    })
    .await?;
    let now = Utc::now().naive_utc();
    Ok(web::Json(IssuedCertificates {
        count,
        issued_certificates: rows
            .into_iter()
            .map(|r| IssuedCertificate {
                status: if r.revoked_at.is_some() {
                    "REVOKED"
                } else if now < r.valid_after || now > r.valid_before {
                    "EXPIRED"
                } else {
                    "GOOD"
                }
                .into(),
                id: r.id,
                created_by: r.created_by,
                created_at: instant(&r.created_at),
                revoked_at: r.revoked_at.as_ref().map(instant),
                valid_from: instant(&r.valid_after),
                valid_until: instant(&r.valid_before),
                common_name: r.common_name,
                serial_number: r.serial,
            })
            .collect(),
    }))
}

fn positive_id(raw: &str, origin: &str) -> Result<i64, ArrowheadError> {
    raw.trim()
        .parse::<i64>()
        .ok()
        .filter(|id| *id > 0)
        .ok_or_else(|| bad("Invalid id", origin))
}

/// Revokes a certificate: from then on (within a few seconds) every core system of the cloud
/// refuses it. Revoking a revoked certificate again changes nothing.
#[utoipa::path(delete, path = "/certificate-authority/mgmt/certificates/{id}", tag = "Management", params(("id" = i64, Path)),
    responses((status = 200, body = String, description = "`Certificate revoked` (text)"), (status = 400, body = ErrorMessage), (status = 401, body = ErrorMessage)))]
pub async fn revoke_certificate(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    id: web::Path<String>,
) -> Result<HttpResponse, ArrowheadError> {
    allow(&caller, Endpoint::Mgmt, &req)?;
    let origin = request_url(&req);
    let id = positive_id(&id, &origin)?;
    let revoked = db::run(&state.pool, move |c| {
        Ok(store::revoke(c, id, Utc::now().naive_utc())?)
    })
    .await?;
    if !revoked {
        return Err(bad(
            format!("Certificate revocation failed: no certificate with id {id}"),
            &origin,
        ));
    }
    tracing::info!(id, "certificate revoked");
    Ok(HttpResponse::Ok()
        .content_type("text/plain;charset=UTF-8")
        .body("Certificate revoked"))
}

// ---- trusted keys ----

/// Java `TrustedKeyCheckRequestDTO`.
#[derive(Debug, Default, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TrustedKeyCheckRequest {
    #[schema(required = true)]
    pub public_key: Option<String>,
}

/// Java `TrustedKeyCheckResponseDTO` (and `TrustedKeyDTO` of the list).
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TrustedKey {
    pub id: i64,
    pub created_at: String,
    pub description: String,
}

/// Java `TrustedKeysResponseDTO`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TrustedKeys {
    pub count: i64,
    pub trusted_keys: Vec<TrustedKey>,
}

/// Java `AddTrustedKeyRequestDTO`.
#[derive(Debug, Default, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AddTrustedKeyRequest {
    #[schema(required = true)]
    pub public_key: Option<String>,
    #[schema(required = true)]
    pub description: Option<String>,
    /// ISO-8601 instant.
    #[schema(required = true)]
    pub valid_after: Option<String>,
    /// ISO-8601 instant.
    #[schema(required = true)]
    pub valid_before: Option<String>,
}

/// Java `AddTrustedKeyResponseDTO`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AddTrustedKeyResponse {
    pub id: i64,
    pub valid_after: String,
    pub valid_before: String,
}

const CHECK_KEY: &str = "/certificate-authority/checkTrustedKey";
const MGMT_KEYS: &str = "/certificate-authority/mgmt/keys";

/// Whether a key (e.g. a device's manufacturer key) is trusted now.
#[utoipa::path(post, path = "/certificate-authority/checkTrustedKey", tag = "Client", request_body = TrustedKeyCheckRequest,
    responses((status = 200, body = TrustedKey), (status = 400, body = ErrorMessage), (status = 401, body = ErrorMessage)))]
pub async fn check_trusted_key(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    body: web::Json<TrustedKeyCheckRequest>,
) -> Result<web::Json<TrustedKey>, ArrowheadError> {
    allow(&caller, Endpoint::Onboarding, &req)?;
    let key = body
        .public_key
        .as_deref()
        .filter(|k| !k.trim().is_empty())
        .ok_or_else(|| bad("The publicKey is mandatory", CHECK_KEY))?;
    let hash = store::key_hash(key);
    let row = db::run(&state.pool, move |c| Ok(store::find_key(c, &hash)?)).await?;
    let row = row.ok_or_else(|| bad("Cannot find trusted certificate", CHECK_KEY))?;
    // Java ignores the key's validity; a key is trusted only within it.
    let now = Utc::now().naive_utc();
    if now < row.valid_after || now > row.valid_before {
        return Err(bad(
            format!(
                "The trusted key is not valid now (valid from {} to {})",
                instant(&row.valid_after),
                instant(&row.valid_before)
            ),
            CHECK_KEY,
        ));
    }
    Ok(web::Json(TrustedKey {
        id: row.id,
        created_at: instant(&row.created_at),
        description: row.description,
    }))
}

/// Trusted keys (paged, sorted by `id`, `createdAt`, `updatedAt`).
#[utoipa::path(get, path = "/certificate-authority/mgmt/keys", tag = "Management", params(PageQuery),
    responses((status = 200, body = TrustedKeys), (status = 400, body = ErrorMessage), (status = 401, body = ErrorMessage)))]
pub async fn list_keys(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    q: web::Query<PageQuery>,
) -> Result<web::Json<TrustedKeys>, ArrowheadError> {
    allow(&caller, Endpoint::Mgmt, &req)?;
    let page = ca_page(&q, store::KEY_SORT_FIELDS, MGMT_KEYS)?;
    let (rows, count) = db::run(&state.pool, move |c| Ok(store::list_keys(c, &page)?)).await?;
    Ok(web::Json(TrustedKeys {
        count,
        trusted_keys: rows
            .into_iter()
            .map(|r| TrustedKey {
                id: r.id,
                created_at: instant(&r.created_at),
                description: r.description,
            })
            .collect(),
    }))
}

/// Trusts a key for the given period.
#[utoipa::path(put, path = "/certificate-authority/mgmt/keys", tag = "Management", request_body = AddTrustedKeyRequest,
    responses((status = 201, body = AddTrustedKeyResponse), (status = 400, body = ErrorMessage), (status = 401, body = ErrorMessage)))]
pub async fn add_key(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    body: web::Json<AddTrustedKeyRequest>,
) -> Result<HttpResponse, ArrowheadError> {
    allow(&caller, Endpoint::Mgmt, &req)?;
    let body = body.into_inner();
    let required = |v: &Option<String>, message: &str| {
        v.as_deref()
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .map(str::to_owned)
            .ok_or_else(|| bad(message, MGMT_KEYS))
    };
    let public_key = required(&body.public_key, "The publicKey is mandatory")?;
    common::names::fits(
        &public_key,
        common::names::MAX_TEXT,
        "The publicKey",
        MGMT_KEYS,
    )?;
    let description = required(&body.description, "The description is mandatory")?;
    let after = required(&body.valid_after, "The validAfter field is mandatory")?;
    let before = required(&body.valid_before, "The validBefore field is mandatory")?;
    let parse = |v: &str, name: &str| {
        parse_instant(v).ok_or_else(|| {
            bad(
                format!("Invalid {name}: '{v}' is not an ISO-8601 instant"),
                MGMT_KEYS,
            )
        })
    };
    let (valid_after, valid_before) =
        (parse(&after, "validAfter")?, parse(&before, "validBefore")?);
    if !storable(&valid_after) || !storable(&valid_before) {
        return Err(bad(STORABLE, MGMT_KEYS));
    }
    if valid_after > valid_before {
        return Err(bad(
            "Invalid validity range: validAfter must have a value before validBefore",
            MGMT_KEYS,
        ));
    }
    if description.chars().count() > common::names::MAX_VARCHAR {
        return Err(bad(
            "The description is too long (at most 255 characters)",
            MGMT_KEYS,
        ));
    }
    let hash = store::key_hash(&public_key);
    let row = db::run(&state.pool, move |c| {
        Ok(store::add_key(
            c,
            &NewKey {
                public_key: &public_key,
                hash: &hash,
                description: &description,
                valid_after,
                valid_before,
            },
        )?)
    })
    .await?;
    let row = row.ok_or_else(|| bad("This public key is already trusted", MGMT_KEYS))?;
    Ok(HttpResponse::Created().json(AddTrustedKeyResponse {
        id: row.id,
        valid_after: instant(&row.valid_after),
        valid_before: instant(&row.valid_before),
    }))
}

/// Stops trusting a key.
#[utoipa::path(delete, path = "/certificate-authority/mgmt/keys/{id}", tag = "Management", params(("id" = i64, Path)),
    responses((status = 204, description = "Deleted"), (status = 400, body = ErrorMessage), (status = 401, body = ErrorMessage)))]
pub async fn delete_key(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    id: web::Path<String>,
) -> Result<HttpResponse, ArrowheadError> {
    allow(&caller, Endpoint::Mgmt, &req)?;
    let origin = request_url(&req);
    let id = positive_id(&id, &origin)?;
    let existed = db::run(&state.pool, move |c| Ok(store::delete_key(c, id)?)).await?;
    if !existed {
        return Err(bad(
            format!("Trusted key with id {id} does not exist"),
            &origin,
        ));
    }
    Ok(HttpResponse::NoContent().finish())
}

#[derive(OpenApi)]
#[openapi(
    info(
        description = "Certificate Authority core system (Arrowhead 4.x compatible): signs the certificates of the cloud's systems, answers whether a certificate is good, keeps the trusted keys of onboarding devices."
    ),
    paths(
        echo,
        logs,
        sign,
        check_certificate,
        check_trusted_key,
        list_certificates,
        revoke_certificate,
        list_keys,
        add_key,
        delete_key,
    ),
    components(schemas(ErrorMessage))
)]
pub struct ApiDoc;

/// The OpenAPI document this system serves (and prints with `--openapi`).
pub fn openapi() -> utoipa::openapi::OpenApi {
    common::openapi::finish(
        ApiDoc::openapi(),
        "Certificate Authority",
        crate::access::who_may_call,
    )
}
