//! Bounds on what comes back from a service we call (the agent, the model API). A response's
//! size is the upstream's choice; memory is ours: a body past the cap fails the read with
//! [`http_body_util::LengthLimitError`] instead of being buffered.

use http_body_util::{LengthLimitError, Limited};

/// `response`, with a body that fails once it has delivered more than `max_bytes`. The
/// response's own timeouts (reqwest's) still apply to the body underneath.
pub fn limit_body(response: reqwest::Response, max_bytes: usize) -> reqwest::Response {
    let (parts, body) = http::Response::<reqwest::Body>::from(response).into_parts();
    let limited = reqwest::Body::wrap(Limited::new(body, max_bytes));
    reqwest::Response::from(http::Response::from_parts(parts, limited))
}

/// Whether `error` (a failed body read, anywhere in its source chain) hit [`limit_body`]'s cap.
pub fn is_too_large(error: &(dyn std::error::Error + 'static)) -> bool {
    crate::error::caused_by::<LengthLimitError>(error)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn response(body: &'static str) -> reqwest::Response {
        reqwest::Response::from(http::Response::new(body))
    }

    #[tokio::test]
    async fn a_body_within_the_cap_is_read_whole() {
        let body = limit_body(response("0123456789"), 10)
            .bytes()
            .await
            .unwrap();
        assert_eq!(&body[..], b"0123456789");
    }

    #[tokio::test]
    async fn a_body_past_the_cap_fails_as_too_large() {
        let error = limit_body(response("0123456789x"), 10)
            .bytes()
            .await
            .unwrap_err();
        assert!(is_too_large(&error), "{error:?}");
        assert!(!is_too_large(&std::io::Error::other("unrelated")));
    }
}
