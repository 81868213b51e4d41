//! The Onboarding Controller's HTTP endpoints: a device proves it may join (a certificate of
//! the cloud, or the shared secret over HTTP Basic) and gets a certificate signed by the
//! Certificate Authority, with the cloud's chain and where to go next.

use actix_web::{web, HttpRequest, HttpResponse};
use common::dto::onboarding::{CertificateCreationRequest, CertificateResponse};
use common::error::ErrorMessage;
use common::identity::Caller;
use common::registration::Registrar;
use common::ArrowheadError;
use openssl::pkey::{PKey, Private};
use serde::{Deserialize, Serialize};
use utoipa::OpenApi;

pub const BASE: &str = "/onboarding";

/// Handler state: the shared secret and the way to the other core systems.
pub struct AppState {
    pub pool: common::db::DbPool,
    /// `sharedSecret`; `None` turns the shared-secret endpoints off.
    pub shared_secret: Option<String>,
    pub registrar: Registrar,
    /// `<cloud>.<operator>.arrowhead.eu` of this system's certificate.
    pub cloud_cn: Option<String>,
}

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::scope(BASE)
            .service(web::resource("/echo").route(web::get().to(echo)))
            .service(web::resource("/mgmt/logs").route(web::get().to(logs)))
            .service(web::resource("/certificate/name").route(web::post().to(certificate_name)))
            .service(web::resource("/certificate/csr").route(web::post().to(certificate_csr)))
            .service(web::resource("/sharedsecret/name").route(web::post().to(secret_name)))
            .service(web::resource("/sharedsecret/csr").route(web::post().to(secret_csr))),
    );
}

fn bad(message: impl Into<String>, origin: &str) -> ArrowheadError {
    ArrowheadError::bad_payload(message).with_origin(origin)
}

fn auth(message: impl Into<String>, origin: &str) -> ArrowheadError {
    ArrowheadError::auth(message).with_origin(origin)
}

#[utoipa::path(get, path = "/onboarding/echo", tag = "Client", responses((status = 200, body = String)))]
pub async fn echo() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/plain;charset=UTF-8")
        .body("Got it!")
}

common::mgmt_logs_handler!(
    "/onboarding/mgmt/logs",
    common::identity::CoreSystem::OnboardingController,
    AppState,
    |s| &s.pool
);

// ---- wire types ----

/// Java `OnboardingWithNameRequestDTO`.
#[derive(Debug, Default, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct NameRequest {
    #[schema(required = true)]
    #[serde(rename = "creationRequestDTO")]
    pub creation_request_dto: Option<CertificateCreationRequest>,
}

/// Java `OnboardingWithCsrRequestDTO`.
#[derive(Debug, Default, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CsrRequest {
    /// Base64 DER PKCS#10, CN `<system>.<cloud>.<operator>.arrowhead.eu`: the device keeps its
    /// private key (the recommended way).
    #[schema(required = true)]
    pub certificate_signing_request: Option<String>,
}

/// Java `ServiceEndpoint`: where to go next.
#[derive(Debug, Clone, Deserialize, Serialize, utoipa::ToSchema)]
pub struct ServiceEndpoint {
    /// The Java `CoreSystemService` name (`SERVICEREGISTRY_REGISTER_SERVICE`, ...).
    pub service: String,
    pub uri: String,
}

/// Java `OnboardingWithNameResponseDTO` / `OnboardingWithCsrResponseDTO`. An endpoint whose
/// system is not registered is `null` (Java fails the whole request with 503).
#[derive(Debug, Clone, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct OnboardingResponse {
    pub onboarding_certificate: CertificateResponse,
    /// Base64 DER of the cloud certificate.
    pub intermediate_certificate: String,
    /// Base64 DER of the master certificate.
    pub root_certificate: String,
    pub device_registry: Option<ServiceEndpoint>,
    pub system_registry: Option<ServiceEndpoint>,
    pub service_registry: Option<ServiceEndpoint>,
    pub orchestration_service: Option<ServiceEndpoint>,
}

// ---- who may onboard ----

/// A caller of the `/certificate/*` endpoints: its verified certificate of this cloud (the
/// handshake lets clients without one through, `server.ssl.client-auth=want`).
fn with_certificate(
    req: &HttpRequest,
    caller: Result<Caller, ArrowheadError>,
    origin: &str,
) -> Result<(), ArrowheadError> {
    let no_certificate = matches!(
        req.conn_data::<common::web::PeerIdentity>(),
        Some(common::web::PeerIdentity(Err(common::peer::Refusal {
            cn: None,
            ..
        })))
    );
    if no_certificate {
        return Err(auth("Client certificate is needed!", origin));
    }
    caller.map(|_| ())
}

/// Checks HTTP Basic authentication against the shared secret: any user name, the password is
/// everything after the first `:` (Java splits on every `:`, so a secret containing one never
/// matches), compared in constant time. Malformed headers are 401, never 500.
pub fn check_shared_secret(
    header: Option<&str>,
    secret: Option<&str>,
    origin: &str,
) -> Result<(), ArrowheadError> {
    let secret = secret.ok_or_else(|| bad("Shared Secret is disabled by this service", origin))?;
    let header =
        header.ok_or_else(|| auth("Basic Authentication is needed for this method", origin))?;
    let failed = || auth("Basic Authentication failed with the given secret", origin);
    let (scheme, encoded) = header.trim().split_once(' ').ok_or_else(failed)?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return Err(failed());
    }
    let decoded = openssl::base64::decode_block(encoded.trim()).map_err(|_| failed())?;
    let text = String::from_utf8(decoded).map_err(|_| failed())?;
    let (_user, given) = text.split_once(':').ok_or_else(failed)?;
    if given.len() == secret.len() && openssl::memcmp::eq(given.as_bytes(), secret.as_bytes()) {
        Ok(())
    } else {
        Err(failed())
    }
}

fn basic_header(req: &HttpRequest) -> Option<&str> {
    req.headers()
        .get(actix_web::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
}

// ---- keys and requests ----

/// Where a core service is, as the Java `CoreSystemService` names it; `None` when its system
/// is not registered.
async fn endpoint(
    registrar: &Registrar,
    orchestrator: Option<&common::registration::Located>,
    definition: &str,
    java_name: &str,
) -> Option<ServiceEndpoint> {
    match crate::peers::locate(registrar, orchestrator, definition).await {
        Ok(uri) => Some(ServiceEndpoint {
            service: java_name.to_owned(),
            uri,
        }),
        Err(e) => {
            tracing::debug!(definition, error = %e, "not in the onboarding answer");
            None
        }
    }
}

/// Has the CA sign `csr` and answers with the chain and the next endpoints.
async fn onboard(
    state: &AppState,
    csr: Vec<u8>,
    key: Option<&PKey<Private>>,
    with_name: bool,
) -> Result<OnboardingResponse, ArrowheadError> {
    let signed = common::certify::sign(&state.registrar, &csr).await?;
    let (dr, sr_def) = if with_name {
        (
            (
                "device-onboarding-with-name",
                "DEVICEREGISTRY_ONBOARDING_WITH_NAME_SERVICE",
            ),
            (
                "system-onboarding-with-name",
                "SYSTEMREGISTRY_ONBOARDING_WITH_NAME_SERVICE",
            ),
        )
    } else {
        (
            (
                "device-onboarding-with-csr",
                "DEVICEREGISTRY_ONBOARDING_WITH_CSR_SERVICE",
            ),
            (
                "system-onboarding-with-csr",
                "SYSTEMREGISTRY_ONBOARDING_WITH_CSR_SERVICE",
            ),
        )
    };
    let r = &state.registrar;
    // The Orchestrator is looked up once; then four independent lookups, asked at once.
    let orchestrator = r.locate("orchestration-service").await.ok();
    let o = orchestrator.as_ref();
    let (device_registry, system_registry, service_registry, orchestration_service) = tokio::join!(
        endpoint(r, o, dr.0, dr.1),
        endpoint(r, o, sr_def.0, sr_def.1),
        endpoint(r, o, "service-register", "SERVICEREGISTRY_REGISTER_SERVICE"),
        endpoint(r, o, "orchestration-service", "ORCHESTRATION_SERVICE"),
    );
    Ok(OnboardingResponse {
        onboarding_certificate: signed.response("AH_ONBOARDING", key)?,
        intermediate_certificate: signed.intermediate,
        root_certificate: signed.root,
        device_registry,
        system_registry,
        service_registry,
        orchestration_service,
    })
}

async fn with_name(
    state: &AppState,
    req: &HttpRequest,
    body: NameRequest,
    origin: &str,
) -> Result<OnboardingResponse, ArrowheadError> {
    let creation = body
        .creation_request_dto
        .ok_or_else(|| bad("Request is null.", origin))?;
    let (csr, key) = common::certify::csr_for_name(
        &creation,
        state.cloud_cn.as_deref(),
        req.peer_addr().map(|a| a.ip()),
        "Onboarding Controller",
        origin,
    )?;
    onboard(state, csr, Some(&key), true).await
}

async fn with_csr(
    state: &AppState,
    body: CsrRequest,
    origin: &str,
) -> Result<OnboardingResponse, ArrowheadError> {
    let der = common::certify::decode_csr(
        body.certificate_signing_request.as_deref(),
        " CertificateSigningRequest must have value ",
        origin,
    )?;
    onboard(state, der, None, false).await
}

const CERT_NAME: &str = "/onboarding/certificate/name";
const CERT_CSR: &str = "/onboarding/certificate/csr";
const SECRET_NAME: &str = "/onboarding/sharedsecret/name";
const SECRET_CSR: &str = "/onboarding/sharedsecret/csr";

/// Onboarding of a system holding a certificate of this cloud: a new certificate for the name
/// (the key pair is generated unless one is sent).
#[utoipa::path(post, path = "/onboarding/certificate/name", tag = "Client", request_body = NameRequest,
    responses((status = 200, body = OnboardingResponse), (status = 400, body = ErrorMessage), (status = 401, body = ErrorMessage), (status = 503, body = ErrorMessage)))]
pub async fn certificate_name(
    state: web::Data<AppState>,
    caller: Result<Caller, ArrowheadError>,
    req: HttpRequest,
    body: web::Json<NameRequest>,
) -> Result<HttpResponse, ArrowheadError> {
    with_certificate(&req, caller, CERT_NAME)?;
    Ok(HttpResponse::Ok().json(with_name(&state, &req, body.into_inner(), CERT_NAME).await?))
}

/// Onboarding of a system holding a certificate of this cloud, with its own CSR.
#[utoipa::path(post, path = "/onboarding/certificate/csr", tag = "Client", request_body = CsrRequest,
    responses((status = 200, body = OnboardingResponse), (status = 400, body = ErrorMessage), (status = 401, body = ErrorMessage), (status = 503, body = ErrorMessage)))]
pub async fn certificate_csr(
    state: web::Data<AppState>,
    caller: Result<Caller, ArrowheadError>,
    req: HttpRequest,
    body: web::Json<CsrRequest>,
) -> Result<HttpResponse, ArrowheadError> {
    with_certificate(&req, caller, CERT_CSR)?;
    Ok(HttpResponse::Ok().json(with_csr(&state, body.into_inner(), CERT_CSR).await?))
}

/// Onboarding with the shared secret (HTTP Basic, any user name): a certificate for the name.
#[utoipa::path(post, path = "/onboarding/sharedsecret/name", tag = "Client", request_body = NameRequest,
    responses((status = 200, body = OnboardingResponse), (status = 400, body = ErrorMessage), (status = 401, body = ErrorMessage), (status = 503, body = ErrorMessage)))]
pub async fn secret_name(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Json<NameRequest>,
) -> Result<HttpResponse, ArrowheadError> {
    check_shared_secret(
        basic_header(&req),
        state.shared_secret.as_deref(),
        SECRET_NAME,
    )?;
    Ok(HttpResponse::Ok().json(with_name(&state, &req, body.into_inner(), SECRET_NAME).await?))
}

/// Onboarding with the shared secret and the device's own CSR: the recommended way (the
/// private key never leaves the device).
#[utoipa::path(post, path = "/onboarding/sharedsecret/csr", tag = "Client", request_body = CsrRequest,
    responses((status = 200, body = OnboardingResponse), (status = 400, body = ErrorMessage), (status = 401, body = ErrorMessage), (status = 503, body = ErrorMessage)))]
pub async fn secret_csr(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Json<CsrRequest>,
) -> Result<HttpResponse, ArrowheadError> {
    check_shared_secret(
        basic_header(&req),
        state.shared_secret.as_deref(),
        SECRET_CSR,
    )?;
    Ok(HttpResponse::Ok().json(with_csr(&state, body.into_inner(), SECRET_CSR).await?))
}

/// Who may call each documented operation, in words, for the OpenAPI document.
pub fn who_may_call(_method: &str, path: &str) -> Option<&'static str> {
    let op = path.strip_prefix(BASE)?;
    Some(match op {
        "/echo" => "anyone who reaches the port (a client certificate is optional here).",
        "/certificate/name" | "/certificate/csr" => "any system of the cloud (its certificate).",
        "/sharedsecret/name" | "/sharedsecret/csr" => {
            "anyone presenting the shared secret as HTTP Basic password (no certificate needed)."
        }
        p if p.starts_with("/mgmt") => "the sysop.",
        _ => return None,
    })
}

#[derive(OpenApi)]
#[openapi(
    info(
        description = "Onboarding Controller core system (Arrowhead 4.x compatible): a device that holds the shared secret (or a certificate of the cloud) gets its certificate signed by the Certificate Authority."
    ),
    paths(echo, logs, certificate_name, certificate_csr, secret_name, secret_csr),
    components(schemas(ErrorMessage))
)]
pub struct ApiDoc;

/// The OpenAPI document this system serves (and prints with `--openapi`).
pub fn openapi() -> utoipa::openapi::OpenApi {
    common::openapi::finish(ApiDoc::openapi(), "Onboarding Controller", who_may_call)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn basic(text: &str) -> String {
        format!("Basic {}", openssl::base64::encode_block(text.as_bytes()))
    }

    /// Every operation says who may call it, every response is described.
    #[test]
    fn the_document_is_complete() {
        assert_eq!(common::openapi::faults(&openapi()), Vec::<String>::new());
    }

    #[test]
    fn shared_secret_checks() {
        let check = |h: Option<&str>, s: Option<&str>| {
            check_shared_secret(h, s, "/o").map_err(|e| {
                let m = e.to_message();
                (m.error_code, m.error_message)
            })
        };
        let failed = Err((
            401,
            "Basic Authentication failed with the given secret".to_owned(),
        ));
        assert_eq!(check(Some(&basic("device:s3cret")), Some("s3cret")), Ok(()));
        assert_eq!(check(Some(&basic(":s3cret")), Some("s3cret")), Ok(()));
        assert_eq!(
            check(Some(&basic("x:a:b")), Some("a:b")),
            Ok(()),
            "secrets may contain ':'"
        );
        assert_eq!(check(Some(&basic("device:wrong")), Some("s3cret")), failed);
        assert_eq!(check(Some(&basic("device:s3cre")), Some("s3cret")), failed);
        assert_eq!(
            check(Some("Basic"), Some("s3cret")),
            failed,
            "no space: 401, not 500"
        );
        assert_eq!(check(Some("Basic %%%"), Some("s3cret")), failed);
        assert_eq!(check(Some(&basic("nocolon")), Some("nocolon")), failed);
        assert_eq!(
            check(
                Some(&basic("device:s3cret").replace("Basic", "Bearer")),
                Some("s3cret")
            ),
            failed
        );
        assert_eq!(
            check(None, Some("s3cret")),
            Err((
                401,
                "Basic Authentication is needed for this method".to_owned()
            ))
        );
        assert_eq!(
            check(Some(&basic("a:b")), None),
            Err((400, "Shared Secret is disabled by this service".to_owned()))
        );
    }
}
