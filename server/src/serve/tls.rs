//! Optional TLS (rustls, `ring` provider): `--tls-cert` and `--tls-key` PEM files, ALPN `h2`
//! then `http/1.1`.
//!
//! Guarantees: the files are read and checked (a certificate chain, one private key that
//! matches it) when the server starts, so a misconfigured server fails at start, not on the
//! first client; TLS 1.2 and 1.3 only (rustls has nothing older); the handshake is bounded by
//! the request timeout like a request head (`connections.rs`).

use std::path::Path;
use std::sync::Arc;

use lianlog_ledger::{Error, Result};
use rustls::pki_types::pem::PemObject as _;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio_rustls::TlsAcceptor;

use super::TlsFiles;
use super::connections::Handshake;

/// The largest PEM file read (a certificate chain is a few kilobytes).
const MAX_PEM_BYTES: u64 = 1 << 20;

/// TLS over the accepted TCP stream.
#[derive(Clone)]
pub(crate) struct Tls(TlsAcceptor);

impl Tls {
    /// The TLS configuration of `files`, checked.
    pub(crate) fn load(files: &TlsFiles) -> Result<Tls> {
        let cert_pem = read_pem(&files.cert)?;
        let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(&cert_pem)
            .collect::<std::result::Result<_, _>>()
            .map_err(|err| bad(&files.cert, &format!("not a PEM certificate chain ({err})")))?;
        if chain.is_empty() {
            return Err(bad(&files.cert, "holds no certificate (PEM `BEGIN CERTIFICATE`)"));
        }
        let key_pem = read_pem(&files.key)?;
        let key = PrivateKeyDer::from_pem_slice(&key_pem)
            .map_err(|err| bad(&files.key, &format!("holds no PEM private key ({err})")))?;
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|err| Error::bad_input(format!("cannot configure TLS: {err}")))?
            .with_no_client_auth()
            .with_single_cert(chain, key)
            .map_err(|err| {
                Error::bad_input(format!(
                    "{} and {} do not make a TLS identity: {err}; pass the certificate chain (leaf first) and its own key",
                    files.cert.display(),
                    files.key.display()
                ))
            })?;
        config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
        Ok(Tls(TlsAcceptor::from(Arc::new(config))))
    }
}

impl Handshake for Tls {
    type Stream = tokio_rustls::server::TlsStream<tokio::net::TcpStream>;
    async fn handshake(&self, stream: tokio::net::TcpStream) -> std::io::Result<Self::Stream> {
        self.0.accept(stream).await
    }
}

fn read_pem(path: &Path) -> Result<Vec<u8>> {
    use std::io::Read as _;
    let mut bytes = Vec::new();
    std::fs::File::open(path)
        .and_then(|file| file.take(MAX_PEM_BYTES + 1).read_to_end(&mut bytes))
        .map_err(|err| Error::io("read", path, err))?;
    if bytes.len() as u64 > MAX_PEM_BYTES {
        return Err(bad(path, &format!("is larger than {MAX_PEM_BYTES} bytes; it is not a PEM file")));
    }
    Ok(bytes)
}

fn bad(path: &Path, what: &str) -> Error {
    Error::bad_input(format!("{} {what}", path.display()))
}
