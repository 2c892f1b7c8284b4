//! Discovery documents and environment URLs are hostile until checked: the client sends its
//! secret and tokens to the endpoints they name and hands the authorization URL to the system
//! opener, so each must be https (or http on this computer).

use std::sync::Arc;

use moneyhub::{ClientAuth, Config, Error, Moneyhub};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Serves `document` as discovery (and an empty key set) to every request, over loopback.
async fn serve_discovery(document: impl Fn(&str) -> Value + Send + Sync + 'static) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    let document = Arc::new(document);
    let issuer = format!("{base}/oidc");
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            let document = document.clone();
            let issuer = issuer.clone();
            tokio::spawn(async move {
                let mut request = vec![0_u8; 4096];
                let read = stream.read(&mut request).await.unwrap_or(0);
                let head = String::from_utf8_lossy(&request[..read]);
                let body = if head.starts_with("GET /oidc/jwks") {
                    json!({ "keys": [] })
                } else {
                    document(&issuer)
                }
                .to_string();
                let answer = format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = stream.write_all(answer.as_bytes()).await;
            });
        }
    });
    base
}

fn document(issuer: &str, overrides: Value) -> Value {
    let mut document = json!({
        "issuer": issuer,
        "authorization_endpoint": format!("{issuer}/auth"),
        "token_endpoint": format!("{issuer}/token"),
        "jwks_uri": format!("{issuer}/jwks"),
        "pushed_authorization_request_endpoint": format!("{issuer}/request"),
        "response_types_supported": ["code"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256"],
    });
    for (name, value) in overrides.as_object().expect("object") {
        document[name] = value.clone();
    }
    document
}

fn client(base: &str) -> Result<Moneyhub, Error> {
    Moneyhub::new(Config::new(
        url::Url::parse(base).expect("url"),
        url::Url::parse(&format!("{base}/v3")).expect("url"),
        "client",
        ClientAuth::SecretBasic {
            secret: "secret".into(),
        },
        "banklinks://callback",
    ))
}

#[tokio::test]
async fn a_discovery_document_naming_a_file_or_plain_http_host_is_refused_whole() {
    let hostile = [
        ("authorization_endpoint", "file:///etc/passwd"),
        ("authorization_endpoint", "javascript:alert(1)"),
        ("token_endpoint", "http://collector.example/token"),
        (
            "pushed_authorization_request_endpoint",
            "http://collector.example/request",
        ),
    ];
    for (field, value) in hostile {
        let base = serve_discovery(move |issuer| document(issuer, json!({ field: value }))).await;
        let client = client(&base).expect("client");
        let result = client.metadata().await;
        assert!(
            matches!(result, Err(Error::Discovery(ref why)) if why.contains(field)),
            "{field} = {value}: {result:?}"
        );
    }
    // The control: the same document with its own loopback endpoints is read.
    let base = serve_discovery(|issuer| document(issuer, json!({}))).await;
    client(&base)
        .expect("client")
        .metadata()
        .await
        .expect("a well-formed loopback document is read");
}

#[test]
fn a_client_will_not_send_its_secret_over_plain_http_to_another_computer() {
    for base in [
        "http://identity.example.com",
        "ftp://identity.example.com",
        "https://user:password@identity.example.com",
    ] {
        assert!(
            matches!(client(base), Err(Error::Config(_))),
            "{base} must be refused"
        );
    }
    assert!(client("https://identity.moneyhub.co.uk").is_ok());
    assert!(client("http://127.0.0.1:8460").is_ok());
}
