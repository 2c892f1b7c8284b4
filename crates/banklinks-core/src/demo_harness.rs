//! For the core's own scenario tests: a Demo workspace in a temporary folder (the in-process
//! sandbox over HTTP, a real SQLite file, the in-memory keychain), a connection added through
//! the bank's pages as a person would, and the sandbox's admin API.

use std::sync::Arc;

use serde_json::Value;

use crate::deep_link::{AuthCallback, DeepLink};
use crate::keychain::{MemoryKeychain, SecretStore};
use crate::workspace::{AuthorizationRequest, Workspace};

/// A custom environment "Lab" on its own sandbox (started here; keep it alive), as the demo
/// client: switching to it stops Demo's server, so it cannot point there.
pub async fn lab_environment() -> (
    moneyhub_sandbox::RunningSandbox,
    crate::environment::EnvironmentSettings,
) {
    use crate::environment::{AuthKind, EnvironmentKind, EnvironmentSettings};
    use moneyhub_sandbox::clients::{DEMO_CLIENT_ID, DEMO_REDIRECT_URI};

    let lab = moneyhub_sandbox::RunningSandbox::start(moneyhub_sandbox::SandboxConfig::default())
        .await
        .expect("the lab's server");
    let settings = EnvironmentSettings {
        id: "custom-lab".into(),
        kind: EnvironmentKind::Custom,
        name: "Lab".into(),
        identity_url: lab.identity_url(),
        api_url: lab.api_url(),
        client_id: DEMO_CLIENT_ID.into(),
        auth: AuthKind::ClientSecretBasic,
        signed_request_objects: false,
        redirect_uri: DEMO_REDIRECT_URI.into(),
        hybrid_response: false,
    };
    (lab, settings)
}

/// A Demo workspace with a fresh profile; keep the folder alive as long as the workspace.
pub async fn demo_workspace(profile: &str) -> (tempfile::TempDir, Workspace) {
    demo_workspace_with(profile, Arc::new(MemoryKeychain::default())).await
}

/// The same on a keychain the test keeps a handle on.
pub async fn demo_workspace_with(
    profile: &str,
    keychain: Arc<dyn SecretStore>,
) -> (tempfile::TempDir, Workspace) {
    let dir = tempfile::tempdir().expect("temp dir");
    let workspace = Workspace::open(dir.path().to_path_buf(), keychain)
        .await
        .expect("open");
    workspace
        .create_profile(profile, None)
        .await
        .expect("profile");
    (dir, workspace)
}

/// The callback as the shell hands it over: parsed once, by the deep-link parser.
pub fn typed(link: &str) -> AuthCallback {
    match link.parse::<DeepLink>().expect("a valid callback") {
        DeepLink::AuthCallback(callback) => callback,
        other => panic!("not a callback: {other:?}"),
    }
}

/// Adds a connection to `bank_id` through the bank's pages; answers its id.
pub async fn add_connection(workspace: &Workspace, bank_id: &str) -> String {
    let url = workspace
        .begin(AuthorizationRequest::AddConnection {
            bank_id: bank_id.into(),
        })
        .await
        .expect("begin");
    finish_at_the_bank(workspace, &url).await
}

/// The person reauthenticates `connection_id` at its bank; how the trip ended.
pub async fn reauth_at_the_bank(
    workspace: &Workspace,
    connection_id: &str,
) -> crate::flows::Connected {
    let url = workspace
        .begin(AuthorizationRequest::Reauth {
            connection_id: connection_id.into(),
        })
        .await
        .expect("begin");
    walk_and_complete(workspace, &url).await
}

/// The person walks the bank's pages from `url` and the callback completes the authorization;
/// answers the connection id.
pub async fn finish_at_the_bank(workspace: &Workspace, url: &str) -> String {
    walk_and_complete(workspace, url).await.connection_id
}

async fn walk_and_complete(workspace: &Workspace, url: &str) -> crate::flows::Connected {
    let callback = moneyhub_sandbox::journey::walk(url, &[])
        .await
        .expect("bank journey");
    assert!(callback.starts_with("banklinks://"), "{callback}");
    workspace
        .complete(&typed(&callback))
        .await
        .expect("complete")
}

/// The id of the Demo bank called `name`.
pub async fn bank_id(workspace: &Workspace, name: &str) -> String {
    workspace
        .institutions()
        .await
        .expect("institutions")
        .into_iter()
        .find(|i| i.name == name)
        .unwrap_or_else(|| panic!("no bank {name}"))
        .id
}

/// Where the Demo sandbox serves its identity endpoints (and its admin API beneath them).
pub async fn identity_url(workspace: &Workspace) -> String {
    workspace
        .overview()
        .await
        .expect("overview")
        .environment
        .identity_url
}

/// One call to the Demo sandbox's admin API, which must succeed.
pub async fn admin(workspace: &Workspace, method: reqwest::Method, path: &str, body: Value) {
    let identity = identity_url(workspace).await;
    let answer = reqwest::Client::new()
        .request(method, format!("{identity}/__sandbox{path}"))
        .bearer_auth(workspace.demo_admin_token().await)
        .json(&body)
        .send()
        .await
        .expect("admin");
    assert!(answer.status().is_success(), "{path}: {}", answer.status());
}
