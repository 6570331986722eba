//! Request extractors that answer in problem+json: the verified actor, strict JSON bodies that name the offending
//! field, and the command headers (`Idempotency-Key`, `If-Match`, `X-Correlation-Id`).

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::header;
use axum::http::request::Parts;
use domain::actor::Actor;
use serde::de::DeserializeOwned;
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::error::ApiError;
use crate::ApiState;

/// The actor of a verified bearer token. The only source of the actor recorded in events.
#[derive(Debug, Clone)]
pub struct Authenticated(pub Actor);

/// A JSON body parsed strictly: unknown fields, wrong types and malformed JSON are 422 naming the field,
/// 415 for another content type, 413 beyond the body limit. Keeps the raw bytes for the idempotency fingerprint.
#[derive(Debug)]
pub struct StrictJson<T> {
    pub value: T,
    pub raw: Bytes,
}

/// The headers a command may carry.
#[derive(Debug, Clone)]
pub struct CommandHeaders {
    pub idempotency_key: Option<Uuid>,
    /// The subject stream version the client expects (`If-Match: "3"`).
    pub if_match: Option<u64>,
    pub correlation_id: Uuid,
    pub causation_id: Option<Uuid>,
}

impl<S: ApiState> FromRequestParts<S> for Authenticated {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let value = parts
            .headers
            .get(header::AUTHORIZATION)
            .ok_or_else(|| ApiError::Unauthorized("missing Authorization: Bearer <token> header".to_owned()))?;
        let value =
            value.to_str().map_err(|_| ApiError::Unauthorized("Authorization header is not valid text".to_owned()))?;
        let token = value
            .strip_prefix("Bearer ")
            .or_else(|| value.strip_prefix("bearer "))
            .ok_or_else(|| ApiError::Unauthorized("Authorization header must be \"Bearer <token>\"".to_owned()))?;
        let actor = auth::verify(state.token_key(), token.trim(), state.now())
            .map_err(|error| ApiError::Unauthorized(format!("invalid bearer token: {error}")))?;
        tracing::Span::current().record("actor_id", actor.id.as_str());
        Ok(Authenticated(actor))
    }
}

impl<S: ApiState, T: DeserializeOwned> FromRequest<S> for StrictJson<T> {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        let content_type =
            request.headers().get(header::CONTENT_TYPE).and_then(|value| value.to_str().ok()).unwrap_or("");
        let is_json = content_type.split(';').next().is_some_and(|mime| {
            let mime = mime.trim();
            mime.eq_ignore_ascii_case("application/json") || mime.to_ascii_lowercase().ends_with("+json")
        });
        if !is_json {
            return Err(ApiError::UnsupportedMediaType("send the body as Content-Type: application/json".to_owned()));
        }
        let limit_bytes = state.body_limit_bytes();
        let raw = Bytes::from_request(request, state).await.map_err(|rejection| {
            if rejection.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::PayloadTooLarge { limit_bytes }
            } else {
                ApiError::BadRequest(format!("could not read the request body: {rejection}"))
            }
        })?;
        let value = parse_json(&raw)?;
        Ok(StrictJson { value, raw })
    }
}

/// Parses JSON naming the path of the field at fault.
///
/// A body is parsed once without tracking paths, which costs a fraction of the tracking parse; only a body that
/// fails is parsed again with [`serde_path_to_error`], which finds the same first error and names its path.
pub fn parse_json<T: DeserializeOwned>(raw: &[u8]) -> Result<T, ApiError> {
    if let Ok(value) = serde_json::from_slice(raw) {
        return Ok(value);
    }
    let mut deserializer = serde_json::Deserializer::from_slice(raw);
    let value = serde_path_to_error::deserialize(&mut deserializer).map_err(|error| {
        let path = error.path().to_string();
        let inner = error.into_inner();
        // "?" is serde_path_to_error's name for a place it could not tell (a body cut short before its first key).
        let field = if matches!(path.as_str(), "." | "?" | "") { "body".to_owned() } else { path };
        let rule =
            if inner.is_syntax() || inner.is_eof() { format!("malformed JSON: {inner}") } else { inner.to_string() };
        ApiError::invalid(field, rule)
    })?;
    deserializer.end().map_err(|error| ApiError::invalid("body", format!("malformed JSON: {error}")))?;
    Ok(value)
}

impl<S: ApiState> FromRequestParts<S> for CommandHeaders {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let text = |name: &'static str| -> Result<Option<&str>, ApiError> {
            parts
                .headers
                .get(name)
                .map(|value| value.to_str().map(str::trim).map_err(|_| ApiError::invalid(name, "must be plain text")))
                .transpose()
        };
        let uuid = |name: &'static str| -> Result<Option<Uuid>, ApiError> {
            text(name)?
                .map(|value| Uuid::parse_str(value).map_err(|_| ApiError::invalid(name, "must be a UUID")))
                .transpose()
        };
        let if_match = text("if-match")?
            .map(|value| {
                value
                    .trim_start_matches("W/")
                    .trim_matches('"')
                    .parse::<u64>()
                    .map_err(|_| ApiError::invalid("If-Match", "must be a stream version in quotes, such as \"3\""))
            })
            .transpose()?;
        Ok(CommandHeaders {
            idempotency_key: uuid("idempotency-key")?,
            if_match,
            correlation_id: uuid("x-correlation-id")?.unwrap_or_else(Uuid::now_v7),
            causation_id: uuid("x-causation-id")?,
        })
    }
}

/// The idempotency fingerprint of a command: route and exact body bytes.
pub fn fingerprint(route: &str, raw: &[u8]) -> String {
    let mut hasher = Sha256::new();
    hasher.update(route.as_bytes());
    hasher.update([0]);
    hasher.update(raw);
    hex::encode(hasher.finalize())
}

/// A query string parsed strictly: unknown parameters and malformed values are 422.
#[derive(Debug)]
pub struct StrictQuery<T>(pub T);

impl<S: ApiState, T: DeserializeOwned + Send> FromRequestParts<S> for StrictQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let query = parts.uri.query().unwrap_or("");
        serde_urlencoded::from_str(query)
            .map(StrictQuery)
            .map_err(|error| ApiError::invalid("query", error.to_string()))
    }
}

/// A `YYYY-MM-DD` query parameter.
pub fn date_param(field: &str, value: &str) -> Result<time::Date, ApiError> {
    domain::deadline::parse_date_iso(value).map_err(|error| ApiError::invalid(field, error.to_string()))
}

/// A business cut-off date (`as_of`, `cut_off`), `YYYY-MM-DD`, within the years plans may cover (2000 to 2100): a
/// date outside them cannot be a cut-off of any plan, so it is refused rather than answered.
pub fn as_of_param(field: &str, value: &str) -> Result<time::Date, ApiError> {
    let date = date_param(field, value)?;
    let years = domain::plan::PLAN_YEARS;
    if !years.contains(&date.year()) {
        return Err(ApiError::invalid(
            field,
            format!(
                "{date} is outside the years plans cover; give a date from {}-01-01 to {}-12-31",
                years.start(),
                years.end()
            ),
        ));
    }
    Ok(date)
}

/// What the ledger knew, as a query parameter: digits only are a global position ("everything up to the event at
/// this position"); anything else must be an RFC 3339 instant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KnownAtParam {
    Instant(time::OffsetDateTime),
    Position(u64),
}

/// Parses a `known_at` value (or a diff's `from`/`to` on the knowledge axis) into an instant or a position.
pub fn known_at_or_position_param(field: &str, value: &str) -> Result<KnownAtParam, ApiError> {
    let value = value.trim();
    if !value.is_empty() && value.bytes().all(|byte| byte.is_ascii_digit()) {
        return value.parse::<u64>().map(KnownAtParam::Position).map_err(|_| {
            ApiError::invalid(field, format!("position {value} is larger than any position the log can reach"))
        });
    }
    time::OffsetDateTime::parse(value, &time::format_description::well_known::Rfc3339)
        .map(KnownAtParam::Instant)
        .map_err(|_| {
            ApiError::invalid(
                field,
                format!(
                    "\"{value}\" is neither an RFC 3339 instant (2024-04-20T17:00:00+07:00) nor a global position (1234)"
                ),
            )
        })
}

/// The `known_at` query parameter: an RFC 3339 instant.
pub fn known_at_param(value: &str) -> Result<time::OffsetDateTime, ApiError> {
    time::OffsetDateTime::parse(value, &time::format_description::well_known::Rfc3339)
        .map_err(|_| ApiError::invalid("known_at", "must be an RFC 3339 instant such as 2024-04-20T17:00:00+07:00"))
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;

    use super::*;

    #[derive(Debug, Deserialize, PartialEq)]
    #[serde(deny_unknown_fields)]
    struct Body {
        summary: String,
        measures: Vec<Measure>,
    }

    #[derive(Debug, Deserialize, PartialEq)]
    #[serde(deny_unknown_fields)]
    struct Measure {
        achieved: u32,
    }

    fn invalid(raw: &str) -> (String, String) {
        match parse_json::<Body>(raw.as_bytes()) {
            Err(ApiError::Invalid { field, rule }) => (field, rule),
            other => panic!("expected a validation error for {raw}, got {other:?}"),
        }
    }

    #[test]
    fn a_valid_body_is_parsed() {
        let body: Body = parse_json(br#"{"summary":"Xong","measures":[{"achieved":2}]}"#).expect("valid");
        assert_eq!(body, Body { summary: "Xong".to_owned(), measures: vec![Measure { achieved: 2 }] });
    }

    #[test]
    fn an_error_names_the_path_of_the_field_at_fault() {
        let (field, rule) = invalid(r#"{"summary":"Xong","measures":[{"achieved":2},{"achieved":"ba"}]}"#);
        assert_eq!(field, "measures[1].achieved");
        assert!(rule.contains("invalid type"), "{rule}");

        let (field, rule) = invalid(r#"{"summary":"Xong","measures":[],"extra":1}"#);
        assert_eq!(field, "extra");
        assert!(rule.contains("unknown field"), "{rule}");
    }

    #[test]
    fn malformed_json_and_trailing_text_are_the_body_s_fault() {
        let (field, rule) = invalid(r#"{"summary":"Xong","#);
        assert_eq!(field, "body");
        assert!(rule.starts_with("malformed JSON"), "{rule}");

        let (field, rule) = invalid(r#"{"summary":"Xong","measures":[]} x"#);
        assert_eq!(field, "body");
        assert!(rule.starts_with("malformed JSON"), "{rule}");
    }
}
