//! The Arrowhead error model shared by every system. Whatever goes wrong — validation, access
//! control, the database, a peer system, or the HTTP framework itself — reaches the client as the
//! Java `ErrorMessageDTO` JSON `{"errorMessage","errorCode","exceptionType","origin"}` with the
//! status the Java `Utilities.calculateHttpStatusFromArrowheadException` would pick.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use serde::{Deserialize, Serialize};
use std::fmt;

/// The eight Java exception classes, serialized by their enum names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ExceptionType {
    Arrowhead,
    Auth,
    BadPayload,
    InvalidParameter,
    DataNotFound,
    Timeout,
    Generic,
    Unavailable,
}

impl ExceptionType {
    /// Status used when the error code is not itself a valid HTTP status.
    pub fn default_status(self) -> StatusCode {
        match self {
            ExceptionType::Auth => StatusCode::UNAUTHORIZED,
            ExceptionType::BadPayload | ExceptionType::InvalidParameter => StatusCode::BAD_REQUEST,
            ExceptionType::DataNotFound => StatusCode::NOT_FOUND,
            ExceptionType::Unavailable | ExceptionType::Timeout => StatusCode::GATEWAY_TIMEOUT,
            ExceptionType::Arrowhead | ExceptionType::Generic => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

/// Wire form of an error (Java `ErrorMessageDTO`); `origin` is left out when unknown.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ErrorMessage {
    pub error_message: String,
    pub error_code: u16,
    pub exception_type: ExceptionType,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub origin: Option<String>,
}

/// One error type for all systems. `code` 0 means "derive from the type", as in Java.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArrowheadError {
    pub message: String,
    pub kind: ExceptionType,
    pub code: u16,
    pub origin: Option<String>,
    /// The database chose this transaction as a deadlock's victim and rolled it back: running
    /// the whole transaction again may succeed (never part of the answer).
    pub retryable: bool,
}

pub type ArrowheadResult<T> = Result<T, ArrowheadError>;

impl ArrowheadError {
    pub fn new(kind: ExceptionType, message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            kind,
            code: 0,
            origin: None,
            retryable: false,
        }
    }
    /// Client sent something unusable (Java `BadPayloadException`, 400).
    pub fn bad_payload(message: impl Into<String>) -> Self {
        Self::new(ExceptionType::BadPayload, message)
    }
    /// A well-formed request that conflicts with stored data (Java `InvalidParameterException`, 400).
    pub fn invalid_parameter(message: impl Into<String>) -> Self {
        Self::new(ExceptionType::InvalidParameter, message)
    }
    pub fn auth(message: impl Into<String>) -> Self {
        Self::new(ExceptionType::Auth, message)
    }
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(ExceptionType::DataNotFound, message)
    }
    pub fn unavailable(message: impl Into<String>) -> Self {
        Self::new(ExceptionType::Unavailable, message).with_code(503)
    }
    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(ExceptionType::Arrowhead, message)
    }
    pub fn generic(message: impl Into<String>) -> Self {
        Self::new(ExceptionType::Generic, message)
    }
    pub fn with_origin(mut self, origin: impl Into<String>) -> Self {
        self.origin = Some(origin.into());
        self
    }
    /// Sets the origin only when none is known yet: inner layers know better where they failed.
    pub fn or_origin(mut self, origin: &str) -> Self {
        if self.origin.is_none() {
            self.origin = Some(origin.to_owned());
        }
        self
    }
    pub fn with_code(mut self, code: u16) -> Self {
        self.code = code;
        self
    }

    pub fn status(&self) -> StatusCode {
        match StatusCode::from_u16(self.code) {
            Ok(s) if self.code >= 100 => s,
            _ => self.kind.default_status(),
        }
    }

    pub fn to_message(&self) -> ErrorMessage {
        ErrorMessage {
            error_message: self.message.clone(),
            error_code: self.status().as_u16(),
            exception_type: self.kind,
            origin: self.origin.clone(),
        }
    }

    /// Rebuilds the error a peer system answered with, so it propagates unchanged through call
    /// chains as in the Java systems.
    pub fn from_message(m: ErrorMessage) -> Self {
        Self {
            message: m.error_message,
            kind: m.exception_type,
            code: m.error_code,
            origin: m.origin,
            retryable: false,
        }
    }
}

impl fmt::Display for ArrowheadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:?} ({}): {}",
            self.kind,
            self.status().as_u16(),
            self.message
        )
    }
}

impl std::error::Error for ArrowheadError {}

impl ResponseError for ArrowheadError {
    fn status_code(&self) -> StatusCode {
        self.status()
    }
    fn error_response(&self) -> HttpResponse {
        HttpResponse::build(self.status()).json(self.to_message())
    }
}

impl From<diesel::result::Error> for ArrowheadError {
    fn from(e: diesel::result::Error) -> Self {
        crate::db::map_db_error(e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_is_byte_exact() {
        let e = ArrowheadError::bad_payload("Port number is invalid.")
            .with_origin("/serviceregistry/register");
        assert_eq!(
            serde_json::to_string(&e.to_message()).unwrap(),
            r#"{"errorMessage":"Port number is invalid.","errorCode":400,"exceptionType":"BAD_PAYLOAD","origin":"/serviceregistry/register"}"#
        );
        let e = ArrowheadError::invalid_parameter("x");
        assert_eq!(
            serde_json::to_string(&e.to_message()).unwrap(),
            r#"{"errorMessage":"x","errorCode":400,"exceptionType":"INVALID_PARAMETER"}"#
        );
    }

    #[test]
    fn status_mapping_follows_java() {
        let cases = [
            (ExceptionType::Arrowhead, 500),
            (ExceptionType::Auth, 401),
            (ExceptionType::BadPayload, 400),
            (ExceptionType::InvalidParameter, 400),
            (ExceptionType::DataNotFound, 404),
            (ExceptionType::Timeout, 504),
            (ExceptionType::Generic, 500),
            (ExceptionType::Unavailable, 504),
        ];
        for (kind, status) in cases {
            assert_eq!(
                ArrowheadError::new(kind, "m").status().as_u16(),
                status,
                "{kind:?}"
            );
        }
        // An explicit, valid code wins over the type (UnavailableServerException uses 503).
        assert_eq!(ArrowheadError::unavailable("m").status().as_u16(), 503);
        // An invalid code falls back to the type.
        assert_eq!(
            ArrowheadError::auth("m").with_code(42).status().as_u16(),
            401
        );
    }
}
