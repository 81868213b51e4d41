//! Onboarding of a system: a certificate signed by the Certificate Authority (`AH_SYSTEM`;
//! Java labels it `AH_DEVICE` by mistake) and its registry entry, in one request.

use super::client::register_entry;
use super::{
    allow, bad, duplicate, entry_of, response, AppState, SystemRegistryRequest,
    SystemRegistryResponse,
};
use crate::access::Endpoint;
use crate::store::{self, NewEntry};
use actix_web::{web, HttpRequest, HttpResponse};
use common::db;
use common::dto::onboarding::{CertificateCreationRequest, CertificateResponse};
use common::error::ErrorMessage;
use common::identity::Caller;
use common::ArrowheadError;
use openssl::pkey::{PKey, Private};
use serde::{Deserialize, Serialize};

/// Java `SystemRegistryOnboardingWithNameRequestDTO`: a registration and the certificate to make.
#[derive(Debug, Default, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct OnboardingWithNameRequest {
    #[serde(flatten)]
    pub registration: SystemRegistryRequest,
    #[schema(required = true)]
    pub certificate_creation_request: Option<CertificateCreationRequest>,
}

/// Java `SystemRegistryOnboardingWithCsrRequestDTO`: a registration and the system's own CSR.
#[derive(Debug, Default, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct OnboardingWithCsrRequest {
    #[serde(flatten)]
    pub registration: SystemRegistryRequest,
    /// Base64 DER PKCS#10, CN `<system>.<cloud>.<operator>.arrowhead.eu`.
    #[schema(required = true)]
    pub certificate_signing_request: Option<String>,
}

/// Java `SystemRegistryOnboardingWith{Name,Csr}ResponseDTO`: the entry and the certificate.
#[derive(Debug, Clone, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct OnboardingResponse {
    #[serde(flatten)]
    pub entry: SystemRegistryResponse,
    pub certificate_response: CertificateResponse,
}

/// Signs the system's certificate, then registers it. A system that has an entry on this
/// device already is refused before anything is signed.
async fn onboard(
    state: &AppState,
    entry: NewEntry,
    csr: Vec<u8>,
    key: Option<&PKey<Private>>,
    origin: &str,
) -> Result<HttpResponse, ArrowheadError> {
    let probe = entry.clone();
    if db::run(&state.pool, move |c| Ok(store::is_registered(c, &probe)?)).await? {
        return Err(duplicate(
            &entry.device.name,
            &entry.device.mac,
            &entry.system.system_name,
            origin,
        ));
    }
    let signed = common::certify::sign(&state.registrar, &csr).await?;
    let certificate_response = signed.response("AH_SYSTEM", key)?;
    let entry = register_entry(state, entry, origin).await?;
    Ok(HttpResponse::Created().json(OnboardingResponse {
        entry: response(&entry),
        certificate_response,
    }))
}

/// Onboards a system by name: a certificate for `<commonName>.<cloud>` (key pair given or
/// generated, returned with the private key) and its registry entry.
#[utoipa::path(post, path = "/systemregistry/onboarding/name", tag = "Onboarding", request_body = OnboardingWithNameRequest,
    responses((status = 201, body = OnboardingResponse), (status = 400, body = ErrorMessage), (status = 401, body = ErrorMessage), (status = 503, body = ErrorMessage)))]
pub async fn onboarding_name(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    body: web::Json<OnboardingWithNameRequest>,
) -> Result<HttpResponse, ArrowheadError> {
    allow(&caller, Endpoint::Client, &req)?;
    const ORIGIN: &str = "/systemregistry/onboarding/name";
    let body = body.into_inner();
    let creation = body
        .certificate_creation_request
        .ok_or_else(|| bad("Certificate creation request is null.", ORIGIN))?;
    let entry = entry_of(&body.registration, true, state.address, ORIGIN)?;
    let (csr, key) = common::certify::csr_for_name(
        &creation,
        state.cloud_cn.as_deref(),
        req.peer_addr().map(|a| a.ip()),
        "System Registry",
        ORIGIN,
    )?;
    onboard(&state, entry, csr, Some(&key), ORIGIN).await
}

/// Onboards a system with its own CSR (it keeps its private key) and registers it.
#[utoipa::path(post, path = "/systemregistry/onboarding/csr", tag = "Onboarding", request_body = OnboardingWithCsrRequest,
    responses((status = 201, body = OnboardingResponse), (status = 400, body = ErrorMessage), (status = 401, body = ErrorMessage), (status = 503, body = ErrorMessage)))]
pub async fn onboarding_csr(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    body: web::Json<OnboardingWithCsrRequest>,
) -> Result<HttpResponse, ArrowheadError> {
    allow(&caller, Endpoint::Client, &req)?;
    const ORIGIN: &str = "/systemregistry/onboarding/csr";
    let body = body.into_inner();
    if body.certificate_signing_request.is_none() {
        return Err(bad("Certificate signing request is null.", ORIGIN));
    }
    let entry = entry_of(&body.registration, true, state.address, ORIGIN)?;
    let csr = common::certify::decode_csr(
        body.certificate_signing_request.as_deref(),
        "Certificate signing request is null.",
        ORIGIN,
    )?;
    onboard(&state, entry, csr, None, ORIGIN).await
}
