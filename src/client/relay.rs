//! Server-to-client requests of a legacy server (elicitation, sampling,
//! roots), handed to whoever made the request they belong to.
//!
//! Over HTTP the transport knows the POST whose stream carried the request
//! and marks it (`_meta` key [`RELATED`]); on stdio the protocol says
//! nothing, so the request goes to the one call that accepts relays, and is
//! refused when there are several (or none).

use crate::jsonrpc::{ErrorObject, Request, RequestId};
use serde_json::{Map, Value};
use std::collections::HashMap;
use std::sync::Mutex;
use tokio::sync::{mpsc, oneshot};

/// The `_meta` key the HTTP transport uses to tie a server request to ours.
pub(super) const RELATED: &str = "lmcp/relatedRequestId";

/// A request of the server, to be answered through `reply`.
#[derive(Debug)]
pub struct ServerRequest {
    /// Its method (`elicitation/create`, `sampling/createMessage`, `roots/list`, …).
    pub method: String,
    /// Its params.
    pub params: Map<String, Value>,
    /// Where the answer goes (dropping it answers with an error).
    pub reply: oneshot::Sender<Result<Value, ErrorObject>>,
}

/// Where a call wants the server's requests delivered.
pub type Relay = mpsc::UnboundedSender<ServerRequest>;

/// The calls currently accepting relays, by their request id.
#[derive(Default)]
pub(super) struct Relays(Mutex<HashMap<RequestId, Relay>>);

impl Relays {
    pub(super) fn add(&self, id: RequestId, relay: Relay) {
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(id, relay);
    }

    pub(super) fn remove(&self, id: &RequestId) {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).remove(id);
    }

    /// Hand `req` to its call; the answer to send back, once known.
    pub(super) fn dispatch(
        &self,
        mut req: Request,
    ) -> oneshot::Receiver<Result<Value, ErrorObject>> {
        let related = req
            .params
            .get_mut("_meta")
            .and_then(Value::as_object_mut)
            .and_then(|m| m.remove(RELATED))
            .and_then(|v| serde_json::from_value::<RequestId>(v).ok());
        let target = {
            let map = self.0.lock().unwrap_or_else(|e| e.into_inner());
            match &related {
                Some(id) => map.get(id).cloned(),
                None if map.len() == 1 => map.values().next().cloned(),
                None => None,
            }
        };
        let (tx, rx) = oneshot::channel();
        let refuse = |tx: oneshot::Sender<Result<Value, ErrorObject>>, why: &str| {
            let _ = tx.send(Err(ErrorObject::method_not_found(&format!(
                "{}: {why}",
                req.method
            ))));
        };
        match target {
            Some(relay) => {
                let sr = ServerRequest {
                    method: req.method.clone(),
                    params: req.params.clone(),
                    reply: tx,
                };
                if let Err(e) = relay.send(sr) {
                    refuse(e.0.reply, "the call it belongs to has ended");
                }
            }
            None => refuse(
                tx,
                "lmcp cannot tell which of its calls this request belongs to, so it is not relayed",
            ),
        }
        rx
    }
}
