//! How every answer is written: a status, a content type and a body, JSON
//! bodies from typed structs.

use bytes::Bytes;
use http_body_util::Full;
use hyper::header::{HeaderValue, CONTENT_TYPE};
use hyper::{Response, StatusCode};
use serde::Serialize;

/// The response type of every route.
pub(crate) type HttpResponse = Response<Full<Bytes>>;

/// The content type of every JSON answer.
pub(crate) const JSON: &str = "application/json";

/// The 500 answer when an answer cannot be encoded. Fixed text, so that
/// failing cannot fail again; it has the shape of every error answer.
const ENCODE_FAILED: &str = "{\"error\":\"the answer could not be encoded as JSON\",\"outcome\":\"internal_error\",\"errors\":[\"the answer could not be encoded as JSON\"]}\n";

/// An answer with a body as it is.
pub(crate) fn respond(
    status: StatusCode,
    content_type: &'static str,
    body: impl Into<Bytes>,
) -> HttpResponse {
    let mut r = Response::new(Full::new(body.into()));
    *r.status_mut() = status;
    r.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    r
}

/// A JSON answer, one line. Serializing the crate's answer types cannot
/// fail today (string keys, no maps with other keys, paths written as
/// text); should a later type fail, the client gets a 500, not a panic.
pub(crate) fn json<T: Serialize + ?Sized>(status: StatusCode, value: &T) -> HttpResponse {
    match serde_json::to_vec(value) {
        Ok(mut body) => {
            body.push(b'\n');
            respond(status, JSON, body)
        }
        Err(e) => {
            tracing::error!(error = %e, "an HTTP answer could not be encoded");
            respond(StatusCode::INTERNAL_SERVER_ERROR, JSON, ENCODE_FAILED)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_fixed_encoding_failure_answer_has_the_error_shape() {
        let v: serde_json::Value = serde_json::from_str(ENCODE_FAILED).unwrap();
        assert!(v["error"].is_string());
        assert_eq!(v["outcome"], "internal_error");
        assert!(v["errors"][0].is_string());
    }

    #[test]
    fn a_value_that_cannot_be_encoded_is_a_500_not_a_panic() {
        /// A type whose serialization always fails.
        struct Broken;
        impl Serialize for Broken {
            fn serialize<S: serde::Serializer>(&self, _: S) -> Result<S::Ok, S::Error> {
                Err(serde::ser::Error::custom("broken"))
            }
        }
        assert_eq!(
            json(StatusCode::OK, &Broken).status(),
            StatusCode::INTERNAL_SERVER_ERROR
        );
    }
}
