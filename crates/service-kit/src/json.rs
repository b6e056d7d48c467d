//! The JSON body extractor both services use: `axum::Json` underneath (content type, reading,
//! parsing), with three rules of ours on top:
//!
//! - every rejection is our error shape, with a **fixed message that never echoes the request**
//!   (serde's messages quote unknown field names and offending values; a client's markup or
//!   newlines must not come back to it, nor reach a log);
//! - the body must be a JSON **object** ([`Object`]): serde would read `["hi"]` into a struct,
//!   positionally;
//! - a body that does not arrive within the server's body deadline is a 408, not a 400.

use std::{fmt, marker::PhantomData};

use axum::{
    Json,
    extract::{
        FromRequest, Request,
        rejection::{BytesRejection, JsonRejection},
    },
    http::StatusCode,
};
use serde::{
    Deserialize, Deserializer,
    de::{DeserializeOwned, MapAccess, Visitor, value::MapAccessDeserializer},
};

use crate::error::{BadRequest, caused_by, find_cause};

/// A JSON request body, parsed into `T`; a bad one is a 4xx in our error shape.
#[derive(Debug, Clone, Copy, Default)]
pub struct ApiJson<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for ApiJson<T> {
    type Rejection = BadRequest;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        match Json::<Object<T>>::from_request(request, state).await {
            Ok(Json(Object(value))) => Ok(Self(value)),
            Err(rejection) => Err(refusal(&rejection)),
        }
    }
}

/// `T`, deserialized only from a JSON object: the map form of a struct, never the sequence one.
struct Object<T>(T);

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Object<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ObjectVisitor<T>(PhantomData<T>);
        impl<'de, T: Deserialize<'de>> Visitor<'de> for ObjectVisitor<T> {
            type Value = T;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(NOT_AN_OBJECT)
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<T, A::Error> {
                T::deserialize(MapAccessDeserializer::new(map))
            }
        }
        deserializer
            .deserialize_map(ObjectVisitor(PhantomData))
            .map(Object)
    }
}

const NOT_AN_OBJECT: &str = "a JSON object";

/// axum's rejection, in our words.
fn refusal(rejection: &JsonRejection) -> BadRequest {
    match rejection {
        JsonRejection::MissingJsonContentType(_) => BadRequest::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "expected content-type: application/json",
        ),
        JsonRejection::JsonSyntaxError(error) => {
            let (line, column) = find_cause::<serde_json::Error>(error)
                .map_or((0, 0), |error| (error.line(), error.column()));
            BadRequest::new(
                StatusCode::BAD_REQUEST,
                "invalid_json",
                format!("the body is not valid JSON (line {line}, column {column})"),
            )
        }
        JsonRejection::JsonDataError(error) => BadRequest::invalid(
            "invalid_body",
            find_cause::<serde_path_to_error::Error<serde_json::Error>>(error).map_or_else(
                || "the body is invalid; see /openapi.json".to_owned(),
                shape_message,
            ),
        ),
        JsonRejection::BytesRejection(rejection) => unreadable_body(rejection),
        _ => BadRequest::new(
            StatusCode::BAD_REQUEST,
            "unreadable_body",
            "the request body could not be read",
        ),
    }
}

fn unreadable_body(rejection: &BytesRejection) -> BadRequest {
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
    if caused_by::<tower_http::timeout::TimeoutError>(rejection) {
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

/// What is wrong with the body's shape, in words of ours: the field path (our field names, kept
/// only if they look like field names) and the kind of problem, never the client's values.
fn shape_message(error: &serde_path_to_error::Error<serde_json::Error>) -> String {
    let inner = error.inner().to_string();
    if inner.contains(NOT_AN_OBJECT) {
        return "the body must be a JSON object".to_owned();
    }
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
    use axum::http::header;
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

    async fn extract(body: &str, content_type: Option<&str>) -> Result<Ask, BadRequest> {
        let mut request = Request::post("/");
        if let Some(content_type) = content_type {
            request = request.header(header::CONTENT_TYPE, content_type);
        }
        let request = request
            .body(axum::body::Body::from(body.to_owned()))
            .unwrap();
        ApiJson::<Ask>::from_request(request, &())
            .await
            .map(|ApiJson(ask)| ask)
    }

    async fn error(body: &str) -> BadRequest {
        extract(body, Some("application/json")).await.unwrap_err()
    }

    #[tokio::test]
    async fn shapes_are_named_without_echoing_the_request() {
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
            let error = error(body).await;
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

    #[tokio::test]
    async fn a_valid_object_parses() {
        let ask = extract(
            r#" {"question": "hi", "session_id": "s-1"}"#,
            Some("application/json"),
        )
        .await
        .unwrap();
        assert_eq!(ask.question, "hi");
    }

    #[tokio::test]
    async fn json_content_types_are_recognised() {
        for (value, json) in [
            ("application/json", true),
            ("application/json; charset=utf-8", true),
            ("Application/JSON", true),
            ("application/vnd.api+json", true),
            ("text/plain", false),
            ("application/jsonx", false),
            ("json", false),
        ] {
            let result = extract(r#"{"question": "hi"}"#, Some(value)).await;
            assert_eq!(result.is_ok(), json, "{value}");
        }
    }
}
