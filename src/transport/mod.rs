//! Transports: they move bytes between a client and a [`crate::server::Session`].
