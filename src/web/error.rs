//! The one error type of the API and its JSON envelope:
//! `{"status": <int>, "error": <reason phrase>, "message": <text>}`.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use serde::Serialize;
use utoipa::ToSchema;

use crate::db::DbError;
use crate::domain::ValidationError;

/// Error envelope returned with every 4xx/5xx answer.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    pub status: u16,
    pub error: String,
    pub message: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    pub status: StatusCode,
    pub message: String,
}

impl ApiError {
    pub fn new(status: StatusCode, message: impl Into<String>) -> Self {
        Self {
            status,
            message: message.into(),
        }
    }
    pub fn bad_request(m: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, m)
    }
    pub fn not_found(m: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, m)
    }
    pub fn forbidden(m: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, m)
    }
    pub fn internal(m: impl Into<String>) -> Self {
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, m)
    }
    pub fn service_unavailable(m: impl Into<String>) -> Self {
        Self::new(StatusCode::SERVICE_UNAVAILABLE, m)
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.status.as_u16(), self.message)
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        self.status
    }
    fn error_response(&self) -> HttpResponse {
        let mut resp = HttpResponse::build(self.status);
        if self.status == StatusCode::UNAUTHORIZED {
            // RFC 6750 §3: a 401 names the scheme the client should authenticate with.
            resp.insert_header((
                actix_web::http::header::WWW_AUTHENTICATE,
                "Bearer realm=\"composed\"",
            ));
        }
        resp.json(ErrorBody {
            status: self.status.as_u16(),
            error: self
                .status
                .canonical_reason()
                .unwrap_or("Error")
                .to_string(),
            message: self.message.clone(),
        })
    }
}

impl From<ValidationError> for ApiError {
    fn from(e: ValidationError) -> Self {
        Self::bad_request(e.0)
    }
}

impl From<diesel::result::Error> for ApiError {
    fn from(e: diesel::result::Error) -> Self {
        tracing::error!(error = %e, "database query failed");
        Self::internal(format!("Database error: {e}"))
    }
}

impl From<DbError> for ApiError {
    fn from(e: DbError) -> Self {
        match e {
            DbError::Pool(m) => {
                tracing::warn!(error = %m, "no database connection available");
                Self::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    format!("Database unavailable: {m}"),
                )
            }
            DbError::Query(q) => q.into(),
            other => Self::internal(other.to_string()),
        }
    }
}

impl From<actix_web::error::BlockingError> for ApiError {
    fn from(e: actix_web::error::BlockingError) -> Self {
        Self::internal(format!("Background task failed: {e}"))
    }
}

impl ApiError {
    pub fn unauthorized(m: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, m)
    }
}

/// Middleware that puts every 4xx/5xx answer produced outside [`ApiError`] (actix's extractors,
/// the router, the file server, payload limits) into the JSON envelope, keeping the status and
/// the headers; the original plain-text body, if any, becomes the message.
pub fn envelope_errors<B: actix_web::body::MessageBody + 'static>()
-> actix_web::middleware::ErrorHandlers<B> {
    actix_web::middleware::ErrorHandlers::new().default_handler(wrap_in_envelope)
}

fn wrap_in_envelope<B: actix_web::body::MessageBody + 'static>(
    res: actix_web::dev::ServiceResponse<B>,
) -> actix_web::Result<actix_web::middleware::ErrorHandlerResponse<B>> {
    use actix_web::middleware::ErrorHandlerResponse;
    let is_json = res
        .headers()
        .get(actix_web::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        // The web UI's error pages are HTML for people, and stay so.
        .is_some_and(|v| v.starts_with("application/json") || v.starts_with("text/html"));
    if is_json || res.request().method() == actix_web::http::Method::HEAD {
        return Ok(ErrorHandlerResponse::Response(res.map_into_left_body()));
    }
    Ok(ErrorHandlerResponse::Future(Box::pin(async move {
        let (req, res) = res.into_parts();
        let status = res.status();
        let mut headers = res.headers().clone();
        let text = actix_web::body::to_bytes_limited(res.into_body(), 4096)
            .await
            .ok()
            .and_then(Result::ok)
            .map(|b| String::from_utf8_lossy(&b).trim().to_string())
            .unwrap_or_default();
        let message = if text.is_empty() {
            match status {
                StatusCode::NOT_FOUND => {
                    format!(
                        "The requested URL {} was not found on the server.",
                        req.path()
                    )
                }
                s => s.canonical_reason().unwrap_or("Error").to_string(),
            }
        } else {
            text
        };
        let mut envelope = ApiError::new(status, message).error_response();
        headers.remove(actix_web::http::header::CONTENT_TYPE);
        headers.remove(actix_web::http::header::CONTENT_LENGTH);
        for (name, value) in headers.iter() {
            envelope.headers_mut().append(name.clone(), value.clone());
        }
        Ok(actix_web::dev::ServiceResponse::new(req, envelope).map_into_right_body())
    })))
}
