//! Building responses: JSON bodies, JSON-RPC errors with their HTTP status,
//! plain texts and SSE streams.

use super::body::Body;
use super::Resp;
use crate::jsonrpc::{code, ErrorObject, Response as RpcResponse};
use hyper::header::{HeaderValue, CACHE_CONTROL, CONTENT_TYPE};
use hyper::{Response, StatusCode};

pub(super) fn json_response(status: StatusCode, value: &str) -> Resp {
    let mut r = Response::new(Body::full(value.to_owned()));
    *r.status_mut() = status;
    r.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    r
}

pub(super) fn error_response(
    status: StatusCode,
    id: Option<crate::jsonrpc::RequestId>,
    e: ErrorObject,
) -> Resp {
    json_response(status, &RpcResponse::err(id, e).to_json())
}

pub(super) fn plain(status: StatusCode, text: &'static str) -> Resp {
    let mut r = Response::new(Body::full(text));
    *r.status_mut() = status;
    r
}

/// HTTP status for a JSON-RPC error of a modern request.
pub(super) fn modern_status(code_: i64) -> StatusCode {
    match code_ {
        code::METHOD_NOT_FOUND => StatusCode::NOT_FOUND,
        code::INVALID_PARAMS
        | code::INVALID_REQUEST
        | code::PARSE_ERROR
        | code::HEADER_MISMATCH
        | code::MISSING_CLIENT_CAPABILITY
        | code::UNSUPPORTED_PROTOCOL_VERSION => StatusCode::BAD_REQUEST,
        _ => StatusCode::OK,
    }
}

/// The headers of an event-stream answer.
pub(super) fn sse_headers(h: &mut hyper::HeaderMap) {
    h.insert(CONTENT_TYPE, HeaderValue::from_static("text/event-stream"));
    h.insert(CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    h.insert("x-accel-buffering", HeaderValue::from_static("no"));
}
