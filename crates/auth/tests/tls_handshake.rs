//! SEC-03: a real TLS 1.3 handshake over loopback TCP with the generated demo certificate.

use std::sync::Arc;

use probity_auth::{generate_self_signed, tls_client_config, tls_server_config, TlsPaths};
use rustls_pki_types::ServerName;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

async fn round_trip(paths: &TlsPaths, server_name: &str) -> Result<Vec<u8>, String> {
    let server_cfg = tls_server_config(&paths.cert, &paths.key).map_err(|e| e.to_string())?;
    let acceptor = tokio_rustls::TlsAcceptor::from(server_cfg);
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .map_err(|e| e.to_string())?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    let server = tokio::spawn(async move {
        let (tcp, _) = listener.accept().await.map_err(|e| e.to_string())?;
        let mut tls = acceptor.accept(tcp).await.map_err(|e| e.to_string())?;
        let mut buf = [0u8; 5];
        tls.read_exact(&mut buf).await.map_err(|e| e.to_string())?;
        tls.write_all(&buf).await.map_err(|e| e.to_string())?;
        tls.shutdown().await.map_err(|e| e.to_string())?;
        Ok::<_, String>(())
    });
    let mut client_cfg =
        (*tls_client_config(Some(&paths.cert)).map_err(|e| e.to_string())?).clone();
    client_cfg.alpn_protocols = vec![b"http/1.1".to_vec()];
    let connector = tokio_rustls::TlsConnector::from(Arc::new(client_cfg));
    let tcp = TcpStream::connect(addr).await.map_err(|e| e.to_string())?;
    let name = ServerName::try_from(server_name.to_string()).map_err(|e| e.to_string())?;
    let result = async {
        let mut tls = connector
            .connect(name, tcp)
            .await
            .map_err(|e| e.to_string())?;
        let (_, conn) = tls.get_ref();
        assert_eq!(
            conn.protocol_version(),
            Some(rustls::ProtocolVersion::TLSv1_3)
        );
        tls.write_all(b"hello").await.map_err(|e| e.to_string())?;
        let mut out = Vec::new();
        tls.read_to_end(&mut out).await.map_err(|e| e.to_string())?;
        Ok::<_, String>(out)
    }
    .await;
    server.abort();
    result
}

#[tokio::test]
async fn sec_03_demo_certificate_serves_tls13_for_localhost_and_127_0_0_1() {
    let dir = tempfile::tempdir().unwrap();
    let paths = TlsPaths::in_dir(dir.path());
    generate_self_signed(&paths, &[]).unwrap();
    assert_eq!(round_trip(&paths, "localhost").await.unwrap(), b"hello");
    assert_eq!(round_trip(&paths, "127.0.0.1").await.unwrap(), b"hello");
}

#[tokio::test]
async fn sec_03_certificate_is_not_valid_for_other_names() {
    let dir = tempfile::tempdir().unwrap();
    let paths = TlsPaths::in_dir(dir.path());
    generate_self_signed(&paths, &[]).unwrap();
    let err = round_trip(&paths, "evil.example").await.unwrap_err();
    assert!(err.to_lowercase().contains("certificate"), "{err}");
}
