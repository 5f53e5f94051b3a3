//! A session: one client connection's state.
use super::Server;
use std::sync::Arc;

/// One connection's state.
pub struct Session {
    #[allow(dead_code)]
    server: Arc<Server>,
}

impl Session {
    pub(crate) fn new(server: Arc<Server>) -> Arc<Self> {
        Arc::new(Session { server })
    }
}
