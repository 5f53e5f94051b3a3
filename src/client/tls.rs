//! TLS for `https://` endpoints of the HTTP client (feature `tls`).
//!
//! rustls with the `ring` provider; the server certificate is verified
//! against the system's roots (`rustls-native-certs`, which honours
//! `SSL_CERT_FILE` and `SSL_CERT_DIR`) plus the certificates of an optional
//! extra CA file, e.g. a private CA or a self-signed test certificate.

use std::path::Path;
use std::sync::Arc;
use tokio::net::TcpStream;
use tokio_rustls::rustls::{self, pki_types};

/// A TLS client configuration, shared by every connection of a client.
pub(crate) type Config = Arc<rustls::ClientConfig>;

/// The configuration for one endpoint: system roots plus `ca_file`.
pub(crate) fn config(ca_file: Option<&Path>) -> Result<Config, String> {
    use pki_types::pem::PemObject;
    let mut roots = rustls::RootCertStore::empty();
    let native = rustls_native_certs::load_native_certs();
    for e in &native.errors {
        log::debug!("tls: while loading the system's certificates: {e}");
    }
    let (added, _ignored) = roots.add_parsable_certificates(native.certs);
    let mut extra = 0;
    if let Some(path) = ca_file {
        let certs = pki_types::CertificateDer::pem_file_iter(path)
            .map_err(|e| format!("cannot read the CA file {}: {e}", path.display()))?;
        for c in certs {
            let c =
                c.map_err(|e| format!("the CA file {} is not valid PEM: {e}", path.display()))?;
            roots.add(c).map_err(|e| {
                format!(
                    "the CA file {} holds a certificate rustls cannot use: {e}",
                    path.display()
                )
            })?;
            extra += 1;
        }
        if extra == 0 {
            return Err(format!(
                "the CA file {} holds no PEM certificate",
                path.display()
            ));
        }
    }
    if added + extra == 0 {
        return Err("no trusted root certificates: install the system's CA bundle (e.g. ca-certificates), set SSL_CERT_FILE, or give a CA file".into());
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut cfg = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS set-up failed: {e}"))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    // We speak HTTP/1.1 only.
    cfg.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(cfg))
}

/// Run the TLS handshake over `tcp`, checking the certificate is for `host`.
pub(crate) async fn handshake(
    cfg: &Config,
    host: &str,
    tcp: TcpStream,
) -> Result<tokio_rustls::client::TlsStream<TcpStream>, String> {
    let name = pki_types::ServerName::try_from(host.to_string())
        .map_err(|e| format!("{host:?} is not a valid TLS server name: {e}"))?;
    tokio_rustls::TlsConnector::from(cfg.clone())
        .connect(name, tcp)
        .await
        .map_err(|e| {
            let hint = if e.to_string().contains("certificate") {
                " (if the server uses a private CA or a self-signed certificate, trust it with \"caFile\" in the upstream's config or SSL_CERT_FILE)"
            } else {
                ""
            };
            format!("TLS handshake failed: {e}{hint}")
        })
}
