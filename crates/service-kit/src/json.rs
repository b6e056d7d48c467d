//! The JSON body extractor both services use. It is `axum::Json` with three differences:
//!
//! - every rejection is our error shape, with a **fixed message that never echoes the request**
//!   (serde's messages quote unknown field names and offending values; a client's markup or
//!   newlines must not come back to it, nor reach a log);
//! - the body must be a JSON **object**: serde would read `["hi"]` into a struct, positionally;
//! - a body that does not arrive within the server's body deadline is a 408, not a 400.

use axum::{
    body::Bytes,
    extract::{FromRequest, Request, rejection::BytesRejection},
    http::{HeaderMap, StatusCode, header},
};
use serde::de::DeserializeOwned;

use crate::error::{BadRequest, caused_by};

/// A JSON request body, parsed into `T`; a bad one is a 4xx in our error shape.
#[derive(Debug, Clone, Copy, Default)]
pub struct ApiJson<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for ApiJson<T> {
    type Rejection = BadRequest;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        if !is_json(request.headers()) {
            return Err(BadRequest::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                "expected content-type: application/json",
            ));
        }
        let bytes = Bytes::from_request(request, state)
            .await
            .map_err(unreadable_body)?;
        parse(&bytes).map(Self)
    }
}

/// `application/json` or `application/<anything>+json`, parameters allowed (as `axum::Json`).
fn is_json(headers: &HeaderMap) -> bool {
    let Some(value) = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
    else {
        return false;
    };
    let essence = value.split(';').next().unwrap_or_default().trim();
    let Some((kind, subtype)) = essence.split_once('/') else {
        return false;
    };
    kind.eq_ignore_ascii_case("application")
        && (subtype.eq_ignore_ascii_case("json") || subtype.to_ascii_lowercase().ends_with("+json"))
}

fn unreadable_body(rejection: BytesRejection) -> BadRequest {
    if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
        return BadRequest::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "body_too_large",
            format!(
                "the body must be at most {} KiB",
                crate::api::MAX_BODY_BYTES / 1024
            ),
        );
    }
    // tower-http's body deadline (see `serve.rs`).
    if caused_by::<tower_http::timeout::TimeoutError>(&rejection) {
        return BadRequest::new(
            StatusCode::REQUEST_TIMEOUT,
            "body_timeout",
            "the request body did not arrive in time",
        );
    }
    BadRequest::new(
        StatusCode::BAD_REQUEST,
        "unreadable_body",
        "the request body could not be read",
    )
}

fn parse<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, BadRequest> {
    // Syntax first, so "not JSON" is told apart from "JSON of the wrong shape".
    if let Err(error) = serde_json::from_slice::<serde::de::IgnoredAny>(bytes) {
        return Err(BadRequest::new(
            StatusCode::BAD_REQUEST,
            "invalid_json",
            format!(
                "the body is not valid JSON (line {}, column {})",
                error.line(),
                error.column()
            ),
        ));
    }
    if bytes.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') {
        return Err(BadRequest::invalid(
            "invalid_body",
            "the body must be a JSON object",
        ));
    }
    let deserializer = &mut serde_json::Deserializer::from_slice(bytes);
    serde_path_to_error::deserialize(deserializer)
        .map_err(|error| BadRequest::invalid("invalid_body", shape_message(&error)))
}

/// What is wrong with the body's shape, in words of ours: the field path (our field names, kept
/// only if they look like field names) and the kind of problem, never the client's values.
fn shape_message(error: &serde_path_to_error::Error<serde_json::Error>) -> String {
    let inner = error.inner().to_string();
    let path = error.path().to_string();
    let path_is_ours = path.len() <= 64
        && path
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '[' | ']'));
    let at = if path == "." || !path_is_ours {
        "the body".to_owned()
    } else {
        format!("`{path}`")
    };
    let problem = if let Some(rest) = inner.strip_prefix("missing field `") {
        // The missing field's name is one of ours, not the client's.
        let field: String = rest.chars().take_while(|c| *c != '`').collect();
        return format!("missing field `{field}` in the body; see /openapi.json");
    } else if inner.starts_with("unknown field") {
        "has an unknown field"
    } else if inner.starts_with("invalid type") {
        "has the wrong type"
    } else if inner.starts_with("invalid length") {
        "has the wrong length"
    } else {
        "is invalid"
    };
    format!("{at} {problem}; see /openapi.json")
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;

    use super::*;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Ask {
        question: String,
        #[serde(default)]
        session_id: Option<String>,
    }

    fn error(body: &str) -> BadRequest {
        parse::<Ask>(body.as_bytes()).unwrap_err()
    }

    #[test]
    fn shapes_are_named_without_echoing_the_request() {
        let cases = [
            (r#"["question"]"#, 422, "must be a JSON object"),
            ("{}", 422, "missing field `question`"),
            (r#"{"question": 42}"#, 422, "`question` has the wrong type"),
            (
                "{\"question\": \"hi\", \"<script>\\nX-Forged: 1\": 1}",
                422,
                "has an unknown field",
            ),
            ("{\"question\": \"hi\",", 400, "not valid JSON"),
        ];
        for (body, status, expected) in cases {
            let error = error(body);
            assert_eq!(error.status.as_u16(), status, "{body}");
            assert!(
                error.message.contains(expected),
                "{body}: {}",
                error.message
            );
            for echoed in ["<script>", "X-Forged", "42", "\n"] {
                assert!(!error.message.contains(echoed), "{body}: {}", error.message);
            }
        }
    }

    #[test]
    fn a_valid_object_parses() {
        let ask: Ask = parse(br#" {"question": "hi", "session_id": "s-1"}"#).unwrap();
        assert_eq!(ask.question, "hi");
    }

    #[test]
    fn json_content_types_are_recognised() {
        for (value, json) in [
            ("application/json", true),
            ("application/json; charset=utf-8", true),
            ("Application/JSON", true),
            ("application/vnd.api+json", true),
            ("text/plain", false),
            ("application/jsonx", false),
            ("json", false),
        ] {
            let mut headers = HeaderMap::new();
            headers.insert(header::CONTENT_TYPE, value.parse().unwrap());
            assert_eq!(is_json(&headers), json, "{value}");
        }
    }
}
