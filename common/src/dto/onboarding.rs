//! The Java certificate DTOs of onboarding, shared by the Onboarding Controller, the Device
//! Registry and the System Registry.

use serde::{Deserialize, Serialize};

/// Java `KeyPairDTO`.
#[derive(Debug, Clone, Default, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct KeyPairDto {
    pub key_algorithm: Option<String>,
    /// `PKCS#8`, `PKCS#1` or `X.509` (of the private key); absent: tried in that order.
    pub key_format: Option<String>,
    /// Base64 DER `SubjectPublicKeyInfo`.
    pub public_key: Option<String>,
    /// Base64 DER private key.
    pub private_key: Option<String>,
}

/// Java `CertificateCreationRequestDTO`.
#[derive(Debug, Default, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CertificateCreationRequest {
    /// The system label: the certificate will be `<commonName>.<cloud>.<operator>.arrowhead.eu`.
    #[schema(required = true)]
    pub common_name: Option<String>,
    /// The device's own key pair; absent: one is generated (and returned with its private key).
    #[serde(rename = "keyPairDTO")]
    pub key_pair_dto: Option<KeyPairDto>,
}

/// Java `CertificateCreationResponseDTO`.
#[derive(Debug, Clone, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CertificateResponse {
    /// Base64 DER of the issued certificate.
    pub certificate: String,
    pub certificate_type: String,
    #[serde(rename = "keyPairDTO")]
    pub key_pair_dto: KeyPairDto,
    pub certificate_format: String,
}
