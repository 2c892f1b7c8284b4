//! Ids from the webview are hostile until checked: from one profile, nothing reaches another
//! profile's connections, authorizations or Moneyhub user, whatever the id says.

use crate::demo_harness::{add_connection, demo_workspace, demo_workspace_with};
use crate::error::Error;
use crate::workspace::{AuthorizationRequest, Breakage, Workspace};

const MOCK_BANK: &str = "1ffe704d39629a929c8e293880fb449a";

fn active_user(overview: &crate::workspace::Overview) -> (String, String) {
    let profile = overview.active_profile.clone().expect("profile");
    let user = overview
        .profiles
        .iter()
        .find(|p| p.id == profile)
        .map(|p| p.user_id.clone())
        .expect("user");
    (profile, user)
}

async fn connection_ids(workspace: &Workspace) -> Vec<String> {
    workspace.refresh().await.expect("refresh");
    workspace
        .dashboard()
        .expect("dashboard")
        .into_iter()
        .map(|v| v.connection.id)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_profile_cannot_reach_another_profiles_connections_or_authorizations() {
    let (_dir, workspace) = demo_workspace("Victim").await;
    let victim_connection = add_connection(&workspace, MOCK_BANK).await;
    let (victim_profile, victim_user) = active_user(&workspace.overview().await.expect("o"));
    workspace
        .begin(AuthorizationRequest::AddConnection {
            bank_id: MOCK_BANK.into(),
        })
        .await
        .expect("begin");
    let victim_pending = workspace
        .pending_authorizations()
        .expect("pending")
        .remove(0)
        .state;

    workspace
        .create_profile("Attacker", None)
        .await
        .expect("profile");
    add_connection(&workspace, MOCK_BANK).await;
    let traversal = format!("../../{victim_user}/connection/{victim_connection}");
    for id in [victim_connection.as_str(), traversal.as_str()] {
        assert!(workspace.remove(id).await.is_err(), "remove {id}");
        assert!(workspace.sync_now(id).await.is_err(), "sync {id}");
        assert!(workspace.sync_when_allowed(id).await.is_err(), "queue {id}");
        assert!(workspace.sync_history(id).await.is_err(), "history {id}");
        assert!(workspace.connection_detail(id).is_err(), "detail {id}");
        assert!(
            workspace
                .transactions(id, "", 10, 0)
                .is_ok_and(|page| page.total == 0 && page.transactions.is_empty()),
            "the store answers within the profile only: {id}"
        );
        assert!(
            workspace
                .demo_break(id, Breakage::RemovedAtMoneyhub)
                .await
                .is_err(),
            "break {id}"
        );
        for request in [
            AuthorizationRequest::Reauth {
                connection_id: id.into(),
            },
            AuthorizationRequest::Reconsent {
                connection_id: id.into(),
            },
            AuthorizationRequest::Refresh {
                connection_id: id.into(),
            },
        ] {
            assert!(
                workspace.begin(request.clone()).await.is_err(),
                "{request:?}"
            );
        }
    }
    assert!(
        !workspace.cancel(&victim_pending).expect("answer"),
        "another profile's authorization is not ours to cancel"
    );
    // A bank id is pasted into the scope string; a user id into a URL path.
    for bank_id in [
        format!("{MOCK_BANK} user:delete"),
        "../x".into(),
        String::new(),
    ] {
        assert!(
            workspace
                .begin(AuthorizationRequest::AddConnection { bank_id })
                .await
                .is_err()
        );
    }
    for user_id in ["../users", "a/b", "x?y"] {
        assert!(
            matches!(
                workspace.create_profile("Sneaky", Some(user_id)).await,
                Err(Error::NotAllowed(_))
            ),
            "{user_id}"
        );
    }

    // The victim's connection and authorization are as they were.
    workspace
        .select_profile(&victim_profile)
        .await
        .expect("back");
    assert_eq!(connection_ids(&workspace).await, vec![victim_connection]);
    assert!(
        workspace
            .pending_authorizations()
            .expect("pending")
            .iter()
            .any(|p| p.state == victim_pending)
    );
}

/// A custom environment's secret goes only where it was given for, and never in clear to
/// another computer.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_custom_environment_never_sends_its_secret_in_clear_or_to_new_servers_unasked() {
    use crate::environment::EnvironmentSettings;
    use crate::error::ErrorCode;
    use moneyhub_sandbox::clients::DEMO_CLIENT_SECRET;

    let (_dir, workspace) = demo_workspace("Owner").await;
    let (_lab, settings) = crate::demo_harness::lab_environment().await;

    // Plain http to another computer: refused before anything is sent.
    let in_clear = EnvironmentSettings {
        identity_url: "http://identity.example.com".into(),
        api_url: "http://api.example.com/v3".into(),
        ..settings.clone()
    };
    let refused = workspace
        .save_environment(in_clear, Some(DEMO_CLIENT_SECRET.into()))
        .await
        .expect_err("plain http elsewhere");
    assert_eq!(refused.code(), ErrorCode::ConfigurationInvalid, "{refused}");

    workspace
        .save_environment(settings.clone(), Some(DEMO_CLIENT_SECRET.into()))
        .await
        .expect("saved with its secret");

    // Re-saved for other servers without a secret: the stored one is not sent there.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let elsewhere = format!(
        "http://localhost:{}",
        listener.local_addr().expect("addr").port()
    );
    let moved = EnvironmentSettings {
        identity_url: elsewhere.clone(),
        api_url: format!("{elsewhere}/v3"),
        ..settings.clone()
    };
    let refused = workspace
        .save_environment(moved, None)
        .await
        .expect_err("a new server needs the secret again");
    assert_eq!(refused.code(), ErrorCode::ConfigurationInvalid, "{refused}");
    let contacted =
        tokio::time::timeout(std::time::Duration::from_millis(300), listener.accept()).await;
    assert!(contacted.is_err(), "the new server was never contacted");

    // The same servers again, without retyping the secret, still work.
    workspace
        .save_environment(settings, None)
        .await
        .expect("unchanged servers keep their secret");
}

/// The store says where to connect, and a store can be changed behind the app's back (a copied
/// data folder, a restored backup, another `BANKLINKS_DATA_DIR`): the secret, kept for the
/// servers it was given for, never follows it to others; nor when the saved settings cannot be
/// read (the old check failed open there).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_changed_store_does_not_send_the_secret_to_other_servers() {
    use crate::environment::EnvironmentSettings;
    use crate::error::ErrorCode;
    use moneyhub_sandbox::clients::DEMO_CLIENT_SECRET;

    let (dir, workspace) = demo_workspace("Owner").await;
    let (_lab, settings) = crate::demo_harness::lab_environment().await;
    workspace
        .save_environment(settings.clone(), Some(DEMO_CLIENT_SECRET.into()))
        .await
        .expect("saved with its secret");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let elsewhere = format!(
        "http://localhost:{}",
        listener.local_addr().expect("addr").port()
    );
    let moved = EnvironmentSettings {
        identity_url: elsewhere.clone(),
        api_url: format!("{elsewhere}/v3"),
        ..settings.clone()
    };
    {
        let planted = crate::store::Store::open(&dir.path().join("banklinks.sqlite"))
            .expect("the same store, opened from outside");
        planted
            .set_environment_settings(&settings.id, &serde_json::to_string(&moved).expect("json"))
            .expect("changed");
    }
    let refused = workspace
        .activate(&settings.id)
        .await
        .expect_err("no secret for these servers");
    assert_eq!(refused.code(), ErrorCode::ConfigurationInvalid, "{refused}");

    // Settings that cannot be read, then saved anew for other servers without the secret.
    {
        let planted = crate::store::Store::open(&dir.path().join("banklinks.sqlite"))
            .expect("the same store");
        planted
            .set_environment_settings(&settings.id, "{ not json")
            .expect("damaged");
    }
    let refused = workspace
        .save_environment(moved, None)
        .await
        .expect_err("new servers need the secret again");
    assert_eq!(refused.code(), ErrorCode::ConfigurationInvalid, "{refused}");
    let contacted =
        tokio::time::timeout(std::time::Duration::from_millis(300), listener.accept()).await;
    assert!(contacted.is_err(), "the other server was never contacted");
}

/// An authorization nobody finished leaves nothing in the keychain once it expires, even when
/// its profile is not the one open.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expired_authorizations_leave_no_verifier_or_nonce_in_the_keychain() {
    use crate::keychain::{MemoryKeychain, SecretStore};
    use std::sync::Arc;

    let keychain = Arc::new(MemoryKeychain::default());
    let (_dir, workspace) = demo_workspace_with("First", keychain.clone()).await;
    workspace
        .begin(AuthorizationRequest::AddConnection {
            bank_id: MOCK_BANK.into(),
        })
        .await
        .expect("begin");
    let state = workspace
        .pending_authorizations()
        .expect("pending")
        .remove(0)
        .state;
    let accounts: Vec<String> = ["verifier", "nonce"]
        .iter()
        .map(|what| crate::flows::pending_secret_account("demo", &state, what))
        .collect();
    for account in &accounts {
        assert!(keychain.get(account).expect("read").is_some(), "{account}");
    }

    // Another profile is open when the authorization runs out.
    workspace
        .create_profile("Second", None)
        .await
        .expect("profile");
    workspace.demo_advance_clock("1h").await.expect("clock");
    workspace.tick(chrono::Utc::now()).await;
    for account in &accounts {
        assert!(
            keychain.get(account).expect("read").is_none(),
            "{account} is left"
        );
    }
}
