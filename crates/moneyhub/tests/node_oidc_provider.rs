//! The client against node-oidc-provider itself (the library Moneyhub's identity service is
//! reported to be built on), not against our sandbox's idea of it: its authorization answers
//! are what the client must accept. `tests/node-oidc-provider.mjs` at the repository root sets
//! it up; `scripts/test` installs it with the workspace's npm packages.
//!
//! The reading this pins down: node-oidc-provider puts `iss` in a `code` answer and leaves it
//! out of a `code id_token` one (`lib/actions/authorization/respond.js`: `if (!out.id_token)
//! out.iss = …`), while its discovery says it always sends `iss`.

use std::collections::HashMap;
use std::path::PathBuf;
use std::process::Stdio;

use moneyhub::{
    BankChoice, Callback, ClientAuth, Config, Moneyhub, Purpose, RequestObjectSigning, ResponseType,
};
use reqwest::header;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

const CLIENT_ID: &str = "banklinks-node-oidc";
const CLIENT_SECRET: &str = "node-oidc-provider-test-secret";
const REDIRECT_URI: &str = "banklinks://callback";

struct NodeOidcProvider {
    issuer: String,
    // Killed on drop; its stdin closing stops it too.
    _process: Child,
}

impl NodeOidcProvider {
    async fn start() -> Self {
        let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
        assert!(
            root.join("node_modules/oidc-provider").is_dir(),
            "node-oidc-provider is not installed: run scripts/test, or `npm install` at the repository root"
        );
        let mut process = Command::new("node")
            .arg(root.join("tests/node-oidc-provider.mjs"))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .expect("node runs");
        let stdout = process.stdout.take().expect("stdout");
        let mut lines = BufReader::new(stdout).lines();
        let issuer = loop {
            let line = lines
                .next_line()
                .await
                .expect("read")
                .expect("node-oidc-provider says where it listens");
            if let Some(issuer) = line.strip_prefix("listening ") {
                break issuer.to_string();
            }
        };
        // It writes notices later; a closed pipe would end it mid-journey.
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        Self {
            issuer,
            _process: process,
        }
    }

    fn client(&self, response_type: ResponseType) -> Moneyhub {
        let url = url::Url::parse(&self.issuer).expect("issuer");
        let mut config = Config::new(
            url.clone(),
            url,
            CLIENT_ID,
            ClientAuth::SecretBasic {
                secret: CLIENT_SECRET.into(),
            },
            REDIRECT_URI,
        );
        // Plain PAR fields: node-oidc-provider refuses unsigned request objects by default.
        config.request_object_signing = RequestObjectSigning::Plain;
        config.response_type = response_type;
        Moneyhub::new(config).expect("client")
    }

    /// Walks node-oidc-provider's own login and consent pages as a browser would (cookies
    /// kept, redirects followed by hand) and returns the URL it sends the browser back to.
    async fn journey(&self, url: &url::Url, login: &str) -> String {
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("http");
        let mut cookies: HashMap<String, String> = HashMap::new();
        let mut next = (reqwest::Method::GET, url.to_string(), None::<String>);
        for _ in 0..20 {
            let (method, target, form) = next;
            let cookie_header = cookies
                .iter()
                .map(|(name, value)| format!("{name}={value}"))
                .collect::<Vec<_>>()
                .join("; ");
            let mut request = http
                .request(method, &target)
                .header(header::COOKIE, cookie_header);
            if let Some(form) = form {
                request = request
                    .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                    .body(form);
            }
            let response = request.send().await.expect("node-oidc-provider answers");
            for set in response.headers().get_all(header::SET_COOKIE) {
                let pair = set.to_str().unwrap_or("").split(';').next().unwrap_or("");
                if let Some((name, value)) = pair.split_once('=') {
                    cookies.insert(name.trim().to_string(), value.to_string());
                }
            }
            if let Some(location) = response
                .headers()
                .get(header::LOCATION)
                .and_then(|l| l.to_str().ok())
            {
                if location.starts_with(REDIRECT_URI) {
                    return location.to_string();
                }
                let absolute = url::Url::parse(&target)
                    .and_then(|base| base.join(location))
                    .expect("location");
                next = (reqwest::Method::GET, absolute.to_string(), None);
                continue;
            }
            let status = response.status();
            let page = response.text().await.unwrap_or_default();
            assert!(status.is_success(), "{target}: {status}: {page}");
            // A dev interaction page: a login form, then a consent form, both posted to the
            // interaction's own URL.
            let form = if page.contains("name=\"login\"") {
                format!("prompt=login&login={login}&password=any")
            } else {
                "prompt=consent".to_string()
            };
            next = (reqwest::Method::POST, target, Some(form));
        }
        panic!("the journey did not come back to {REDIRECT_URI}");
    }
}

async fn authorize(
    provider: &NodeOidcProvider,
    response_type: ResponseType,
    user: &str,
) -> (Moneyhub, moneyhub::BegunAuthorization, Callback) {
    let client = provider.client(response_type);
    let begun = client
        .begin(Purpose::AddConnection {
            user_id: user.to_string(),
            bank: BankChoice::Test,
        })
        .await
        .expect("begin");
    let callback = Callback::parse(&provider.journey(&begun.url, user).await).expect("callback");
    (client, begun, callback)
}

#[tokio::test]
async fn node_oidc_provider_answers_are_accepted_with_and_without_iss() {
    let provider = NodeOidcProvider::start().await;

    // A code answer carries iss, and completes.
    let (client, begun, callback) = authorize(&provider, ResponseType::Code, "user-code").await;
    assert_eq!(callback.iss.as_deref(), Some(provider.issuer.as_str()));
    let done = client
        .complete(&begun.pending, &begun.secrets, &callback)
        .await
        .expect("the code answer completes");
    assert_eq!(done.connection_id, "node-oidc-connection-user-code");

    // A code answer stripped of its iss is refused: discovery says iss is always sent.
    let (client, begun, callback) = authorize(&provider, ResponseType::Code, "user-code").await;
    let mut without_iss = callback.clone();
    without_iss.iss = None;
    let refused = client
        .complete(&begun.pending, &begun.secrets, &without_iss)
        .await;
    assert!(
        matches!(refused, Err(moneyhub::Error::MalformedCallback(ref why)) if why.contains("iss")),
        "{refused:?}"
    );

    // A hybrid answer carries no iss (its id_token names the issuer), and completes.
    let (client, begun, callback) =
        authorize(&provider, ResponseType::CodeIdToken, "user-hybrid").await;
    assert!(callback.id_token.is_some() && callback.in_fragment);
    assert_eq!(callback.iss, None, "node-oidc-provider sends no iss here");
    let mut swapped_code = callback.clone();
    swapped_code.code = Some(moneyhub::Secret::new("swapped".to_string()));
    let refused = client
        .complete(&begun.pending, &begun.secrets, &swapped_code)
        .await;
    assert!(
        matches!(refused, Err(moneyhub::Error::IdTokenRejected { ref reason }) if reason.contains("c_hash")),
        "a swapped code is refused for its c_hash: {refused:?}"
    );
    let done = client
        .complete(&begun.pending, &begun.secrets, &callback)
        .await
        .expect("the hybrid answer completes");
    assert_eq!(done.connection_id, "node-oidc-connection-user-hybrid");
}
