//! The HTTP plumbing both ports share (metrics and logs browser): the server with its limits, basic
//! auth, and the one response body type both ports answer with. What each port answers lives with
//! its side: [`crate::metrics`] and [`crate::web`].

pub mod auth;
pub mod server;

use std::convert::Infallible;

use bytes::Bytes;
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Full};
use hyper::header::{HeaderValue, CONTENT_TYPE};
use hyper::{Response, StatusCode};

/// A response body: fixed bytes or a stream of chunks. One type for every answer of both ports,
/// so the server serves any handler, and an error while streaming breaks the answer off.
pub type Body = BoxBody<Bytes, std::io::Error>;

/// A fixed body.
pub fn full(bytes: impl Into<Bytes>) -> Body {
    Full::new(bytes.into())
        .map_err(|never: Infallible| match never {})
        .boxed()
}

/// A fixed answer with its status and content type.
pub fn fixed(
    status: StatusCode,
    content_type: &'static str,
    body: impl Into<Bytes>,
) -> Response<Body> {
    let mut r = Response::new(full(body));
    *r.status_mut() = status;
    r.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    r
}
