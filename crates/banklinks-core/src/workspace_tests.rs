//! The workspace end to end: Demo with its in-process sandbox, over HTTP, with a real SQLite
//! file; once with the in-memory keychain and once (a platform test) with the OS keychain.

use std::sync::Arc;

use chrono::{Duration, Utc};
use moneyhub_sandbox::clients::DEMO_CLIENT_SECRET;

use crate::demo_harness::{add_connection, admin, demo_workspace, finish_at_the_bank, typed};
use crate::error::{Error, ErrorCode};
use crate::flows::ExportFormat;
use crate::health::{Fix, Severity};
use crate::journal::JournalEvent;
use crate::keychain::{MemoryKeychain, OsKeychain, SecretStore};
use crate::store::{Store, StoredTransaction};
use crate::workspace::{AuthorizationRequest, Breakage, Export, Workspace};

const MOCK_BANK: &str = "1ffe704d39629a929c8e293880fb449a";

/// Adds a connection, checking the authorization waits for its callback meanwhile.
async fn add_connection_watching_pending(workspace: &Workspace, bank: &str) -> String {
    let url = workspace
        .begin(AuthorizationRequest::AddConnection {
            bank_id: bank.into(),
        })
        .await
        .expect("begin");
    let pending = workspace
        .flows()
        .expect("flows")
        .pending_authorizations()
        .expect("pending");
    assert_eq!(pending.len(), 1, "the authorization waits for its callback");
    assert_eq!(pending[0].bank_id.as_deref(), Some(bank));
    finish_at_the_bank(workspace, &url).await
}

async fn the_whole_lifecycle(keychain: Arc<dyn SecretStore>) {
    let dir = tempfile::tempdir().expect("temp dir");
    let workspace = Workspace::open(dir.path().to_path_buf(), keychain.clone())
        .await
        .expect("open");

    // First run: Demo, no profile yet, personas on offer.
    let overview = workspace.overview().await.expect("overview");
    assert_eq!(overview.environment.id, "demo");
    assert!(overview.active_profile.is_none());
    assert!(
        overview
            .personas
            .iter()
            .any(|p| p.name == "needs-attention")
    );
    assert!(matches!(workspace.flows(), Err(Error::NoProfile)));
    assert!(workspace.dashboard().expect("empty dashboard").is_empty());

    // A persona shows problems, each with one fix.
    workspace
        .use_persona("needs-attention")
        .await
        .expect("persona");
    let troubled = workspace.dashboard().expect("dashboard");
    assert!(troubled.len() >= 5, "{}", troubled.len());
    assert!(
        troubled
            .iter()
            .any(|v| v.health.severity == Severity::Action && v.health.recommended != Fix::None)
    );

    // A fresh user: add a connection through the bank pages.
    workspace
        .create_profile("Alex", None)
        .await
        .expect("profile");
    assert!(
        workspace.dashboard().expect("dashboard").is_empty(),
        "profiles never mix"
    );
    // The chooser's list comes first, as in the app: it names the bank being added.
    let bank_name = workspace
        .institutions()
        .await
        .expect("institutions")
        .into_iter()
        .find(|i| i.id == MOCK_BANK)
        .expect("the mock bank")
        .name;
    // Its icon was fetched with the list and is kept on disk, handed out as a data URL.
    let icons = workspace.bank_icons().expect("icons");
    assert!(
        icons
            .get(MOCK_BANK)
            .is_some_and(|icon| icon.starts_with("data:image/svg+xml;base64,")),
        "{:?}",
        icons.keys().collect::<Vec<_>>()
    );
    assert!(
        dir.path()
            .join("icons/demo")
            .join(format!("{MOCK_BANK}.svg"))
            .is_file()
    );
    // A file that is not an icon, or is named like a path, is never handed out.
    std::fs::write(
        dir.path().join("icons/demo/evil.svg"),
        "<html><script></script></html>",
    )
    .expect("write");
    assert!(!workspace.bank_icons().expect("icons").contains_key("evil"));
    let id = add_connection_watching_pending(&workspace, MOCK_BANK).await;
    let flows = workspace.flows().expect("flows");
    assert!(flows.pending_authorizations().expect("pending").is_empty());
    let detail = flows.connection_detail(&id).expect("detail");
    assert!(!detail.view.accounts.is_empty());
    assert!(detail.transaction_count > 0);
    assert!(
        detail
            .journal
            .iter()
            .any(|e| e.event == JournalEvent::Added)
    );
    let page = flows.transactions(&id, "", 10, 0).expect("page");
    assert_eq!(page.transactions.len(), 10);
    assert_eq!(page.total, detail.transaction_count);

    // Sync, then the cooldown answers with its time; "as soon as allowed" queues and runs.
    workspace.set_customer_ip("203.0.113.7").expect("ip");
    workspace.sync_now(&id).await.expect("sync");
    let refused = workspace.sync_now(&id).await.expect_err("cooldown");
    assert_eq!(refused.code(), ErrorCode::SyncNotYet);
    let queued_for = workspace
        .sync_when_allowed(&id)
        .await
        .expect("queue")
        .expect("queued, not run");
    assert!(
        workspace
            .queued_syncs()
            .expect("queue")
            .iter()
            .any(|(queued, at)| *queued == id && *at == queued_for),
        "{queued_for:?}"
    );
    // The queue is in SQLite, so a restart keeps it: another connection to the file sees it.
    let profile = workspace.flows().expect("flows").profile().to_string();
    let on_disk = Store::open(&dir.path().join("banklinks.sqlite"))
        .expect("second connection")
        .queued_syncs(&profile)
        .expect("queue");
    assert_eq!(on_disk, vec![(id.clone(), queued_for)]);
    let view = workspace.connection_detail(&id).expect("detail").view;
    assert_eq!(view.queued_sync, Some(queued_for));
    let first = workspace.tick(Utc::now()).await;
    assert!(first.synced.is_empty(), "not due yet");
    // Moving the Demo clock past the wait runs the queued sync, as the poller's next step would.
    workspace.demo_advance_clock("31m").await.expect("clock");
    assert!(workspace.queued_syncs().expect("queue").is_empty());
    let requested = workspace
        .journal()
        .expect("journal")
        .iter()
        .filter(|e| matches!(e.event, JournalEvent::SyncRequested { .. }))
        .count();
    assert_eq!(requested, 2, "the manual sync and the queued one");
    // Moneyhub's regular transactions came with the data, per account, in its published shape.
    let regular = workspace
        .connection_detail(&id)
        .expect("detail")
        .regular_payments;
    assert!(
        regular
            .iter()
            .any(|r| r.kind == "income" && r.amount_minor > 0),
        "{regular:#?}"
    );
    assert!(
        regular
            .iter()
            .any(|r| r.kind == "payment" && r.amount_minor < 0),
        "{regular:#?}"
    );
    assert!(regular.iter().all(|r| {
        r.currency == "GBP"
            && r.predicted_earliest
                .as_deref()
                .is_some_and(|earliest| earliest <= r.predicted_date.as_str())
            && r.predicted_latest
                .as_deref()
                .is_some_and(|latest| latest >= r.predicted_date.as_str())
    }));
    // Only the sync the user started while present says so: not Moneyhub's first fetch at
    // connection, nor the queued one that ran unattended.
    assert_eq!(
        workspace.demo_sync_customer_ips(&id).await,
        vec![None, Some("203.0.113.7".parse().expect("ip")), None]
    );
    // Moneyhub's own record has them too, kept in the store.
    let runs = workspace.sync_history(&id).await.expect("sync history");
    assert!(
        runs.iter()
            .filter(|r| r.action.as_deref() == Some("client-update"))
            .count()
            >= 2,
        "{runs:?}"
    );
    let later = workspace.tick(Utc::now() + Duration::minutes(6)).await;
    assert!(later.synced.is_empty(), "it ran once: {later:?}");

    // Expired consent: the fix switches, a notice is given once, the fix works.
    workspace
        .demo_break(&id, Breakage::ExpireConsent)
        .await
        .expect("break");
    let expired = workspace
        .dashboard()
        .expect("dashboard")
        .into_iter()
        .find(|v| v.connection.id == id)
        .expect("still there");
    assert!(
        matches!(expired.health.recommended, Fix::Reconsent | Fix::Reauth),
        "{:?}",
        expired.health
    );
    let notices = workspace.take_notices(&flows).expect("notices");
    assert!(notices.iter().any(|n| n.connection_id == id), "{notices:?}");
    assert!(
        workspace.take_notices(&flows).expect("notices").is_empty(),
        "a notice is given once"
    );
    let fix = if expired.health.recommended == Fix::Reconsent {
        AuthorizationRequest::Reconsent {
            connection_id: id.clone(),
        }
    } else {
        AuthorizationRequest::Reauth {
            connection_id: id.clone(),
        }
    };
    let url = workspace.begin(fix).await.expect("begin fix");
    let callback = moneyhub_sandbox::journey::walk(&url, &[])
        .await
        .expect("journey");
    let fixed = workspace.complete(&typed(&callback)).await.expect("fixed");
    let id = fixed.connection_id;
    let healthy = workspace
        .dashboard()
        .expect("dashboard")
        .into_iter()
        .find(|v| v.connection.id == id)
        .expect("there");
    assert_eq!(
        healthy.health.recommended,
        Fix::None,
        "{:?}",
        healthy.health
    );

    // Offline: the demo server stopped; cached data stays, errors say offline.
    let before = workspace.dashboard().expect("dashboard").len();
    workspace.demo_set_online(false).await.expect("stop");
    let offline = workspace.refresh().await.expect_err("offline");
    assert_eq!(offline.code(), ErrorCode::Offline, "{offline}");
    assert_eq!(workspace.dashboard().expect("cached").len(), before);
    let failed = workspace.tick(Utc::now() + Duration::hours(1)).await;
    assert!(failed.error.is_some());
    workspace.demo_set_online(true).await.expect("start");
    workspace.refresh().await.expect("back online");

    // Exports land as files.
    let exported = workspace
        .export(
            Export::Journal,
            ExportFormat::Csv,
            &dir.path().join("exports"),
        )
        .expect("export");
    let text = std::fs::read_to_string(&exported).expect("read export");
    assert!(text.starts_with("seq,at,connection_id,bank,event,actor,details"));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&exported)
            .expect("metadata")
            .permissions()
            .mode();
        assert_eq!(
            mode & 0o777,
            0o600,
            "an export is readable by its owner only"
        );
    }
    assert!(text.contains(",added,"));
    // Only a file this run exported can be shown in its folder.
    let shown = workspace
        .exported_file(&exported.display().to_string())
        .expect("the export");
    assert_eq!(shown, exported);
    for other in [
        dir.path().join("banklinks.sqlite"),
        dir.path().join("exports"),
        dir.path().join("exports/../banklinks.sqlite"),
    ] {
        let refused = workspace
            .exported_file(&other.display().to_string())
            .expect_err("not an export");
        assert_eq!(refused.code(), ErrorCode::NotAllowed, "{}", other.display());
    }

    // An id this profile does not have never reaches Moneyhub's URL: this one would resolve to
    // the real connection's path if it did.
    let forged = workspace
        .remove(&format!("elsewhere/../{id}"))
        .await
        .expect_err("a forged id");
    assert_eq!(forged.code(), ErrorCode::NotFound, "{forged}");
    workspace.refresh().await.expect("refresh");
    assert!(
        workspace
            .dashboard()
            .expect("dashboard")
            .iter()
            .any(|v| v.connection.id == id),
        "the forged id removed a connection"
    );
    let not_a_bank = workspace
        .begin(AuthorizationRequest::AddConnection {
            bank_id: format!("{MOCK_BANK} accounts:write"),
        })
        .await
        .expect_err("scopes in a bank id");
    assert_eq!(not_a_bank.code(), ErrorCode::NotAllowed, "{not_a_bank}");

    // Remove with a receipt.
    let receipt = workspace.remove(&id).await.expect("remove");
    assert!(receipt.accounts > 0 && receipt.transactions > 0);
    assert!(workspace.dashboard().expect("dashboard").is_empty());
    // Every entry names the bank, even once the connection is gone: the trip to add it (no
    // connection yet), its addition (written before it was stored) and its removal.
    let journal = workspace.journal().expect("journal");
    for kind in [
        "authorization_started",
        "added",
        "sync_requested",
        "removed",
    ] {
        let entry = journal
            .iter()
            .find(|e| e.event.kind() == kind)
            .unwrap_or_else(|| panic!("no {kind} entry"));
        assert_eq!(entry.bank.as_deref(), Some(bank_name.as_str()), "{kind}");
    }
    assert!(
        journal.iter().all(|e| e.bank.is_some()),
        "{:?}",
        journal
            .iter()
            .filter(|e| e.bank.is_none())
            .collect::<Vec<_>>()
    );

    // A restart comes back to the same profile, from the store.
    let profile = workspace.flows().expect("flows").profile().to_string();
    drop(flows);
    drop(workspace);
    let reopened = Workspace::open(dir.path().to_path_buf(), keychain)
        .await
        .expect("reopen");
    assert_eq!(
        reopened.overview().await.expect("overview").active_profile,
        Some(profile)
    );

    // No secret in the database files: not the client secret, no token.
    for entry in std::fs::read_dir(dir.path()).expect("dir") {
        let path = entry.expect("entry").path();
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default();
        if name.starts_with("banklinks.sqlite") {
            let bytes = std::fs::read(&path).expect("read db");
            let text = String::from_utf8_lossy(&bytes);
            assert!(
                !text.contains(DEMO_CLIENT_SECRET),
                "client secret in {name}"
            );
            assert!(!text.contains("eyJ"), "a JWT in {name}");
        }
    }
}

/// Collects every log line of the process, at every level, for the secret scan.
#[derive(Clone, Default)]
struct LogBuffer(Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for LogBuffer {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .extend_from_slice(bytes);
        Ok(bytes.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// A keychain that remembers every value put in it, so the log scan can look for each.
#[derive(Debug, Default)]
struct RecordingKeychain {
    inner: MemoryKeychain,
    values: std::sync::Mutex<Vec<String>>,
    accounts: std::sync::Mutex<Vec<String>>,
}

impl SecretStore for RecordingKeychain {
    fn backend(&self) -> Result<String, crate::keychain::KeychainError> {
        self.inner.backend()
    }
    fn put(
        &self,
        account: &str,
        secret: &crate::sensitive::Sensitive<String>,
    ) -> Result<(), crate::keychain::KeychainError> {
        let mut values = self.values.lock().unwrap_or_else(|p| p.into_inner());
        values.push(secret.expose().clone());
        self.accounts
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(account.to_string());
        self.inner.put(account, secret)
    }
    fn get(
        &self,
        account: &str,
    ) -> Result<Option<crate::sensitive::Sensitive<String>>, crate::keychain::KeychainError> {
        self.inner.get(account)
    }
    fn delete(&self, account: &str) -> Result<bool, crate::keychain::KeychainError> {
        self.inner.delete(account)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_whole_lifecycle_with_the_memory_keychain_leaves_no_secret_in_the_logs() {
    let logs = LogBuffer::default();
    let writer = logs.clone();
    // As the app sets up logging (`init` there): global, so the sandbox's and the client's
    // tasks on other threads log here too, with the `log` bridge, so what reqwest and other
    // `log` users write is scanned as well. At TRACE, the most a person can turn on.
    let _ = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .try_init();
    assert!(
        log::log_enabled!(log::Level::Trace),
        "the log bridge is installed"
    );

    let keychain = Arc::new(RecordingKeychain::default());
    the_whole_lifecycle(keychain.clone()).await;

    let text =
        String::from_utf8_lossy(&logs.0.lock().unwrap_or_else(|p| p.into_inner())).into_owned();
    assert!(
        text.lines().count() > 50,
        "the flows logged almost nothing:\n{text}"
    );
    assert!(
        !text.contains(DEMO_CLIENT_SECRET),
        "the client secret was logged"
    );
    let basic = base64::Engine::encode(
        &base64::engine::general_purpose::STANDARD,
        format!(
            "{}:{DEMO_CLIENT_SECRET}",
            moneyhub_sandbox::clients::DEMO_CLIENT_ID
        ),
    );
    assert!(
        !text.contains(&basic),
        "the Basic authorization header was logged"
    );
    assert!(!text.contains("eyJ"), "a token was logged");
    for secret_parameter in [
        "code=",
        "code_verifier=",
        "refresh_token=",
        "client_secret=",
    ] {
        assert!(
            !text.contains(secret_parameter),
            "{secret_parameter} appears in the logs"
        );
    }
    let values = keychain
        .values
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .clone();
    assert!(
        values.len() >= 4,
        "verifiers and nonces were kept: {}",
        values.len()
    );
    for value in values {
        assert!(
            !text.contains(&value),
            "a keychain value (verifier or nonce) was logged"
        );
    }
    // Account names are not secret (keychain tools list them and logs may print them).
    let accounts = keychain
        .accounts
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .clone();
    for account in accounts.iter().filter(|a| a.contains("/pending/")) {
        assert!(
            !text.contains(account.as_str()),
            "keychain account {account} appears in the logs"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs a Secret Service (run inside the desktop session of scripts/test)"]
async fn the_whole_lifecycle_with_the_os_keychain() {
    let service = format!("banklinks-test-{}", std::process::id());
    the_whole_lifecycle(Arc::new(OsKeychain::new(service))).await;
}

/// The UI reads the overview again only when told: switching profile, a Demo time jump from the
/// app, and one from outside (a presenter's `curl` to the admin API), which the poller notices.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_overview_changes_are_events_even_when_the_clock_moves_from_outside() {
    use crate::flows::FlowEvent;
    fn overview_changes(events: &mut tokio::sync::broadcast::Receiver<FlowEvent>) -> usize {
        std::iter::from_fn(|| events.try_recv().ok())
            .filter(|e| *e == FlowEvent::OverviewChanged)
            .count()
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let workspace = Workspace::open(
        dir.path().to_path_buf(),
        Arc::new(MemoryKeychain::default()),
    )
    .await
    .expect("open");
    let mut events = workspace.subscribe();
    workspace
        .create_profile("Sam", None)
        .await
        .expect("profile");
    assert!(
        overview_changes(&mut events) >= 1,
        "a new profile is a change"
    );

    workspace.demo_advance_clock("1d").await.expect("clock");
    assert!(
        overview_changes(&mut events) >= 1,
        "a time jump from the app"
    );

    let quiet = workspace.tick(Utc::now()).await;
    let still = workspace.tick(Utc::now()).await;
    assert!(!quiet.clock_jumped && !still.clock_jumped, "{still:?}");
    assert_eq!(overview_changes(&mut events), 0, "nothing changed");

    admin(
        &workspace,
        reqwest::Method::POST,
        "/clock",
        serde_json::json!({ "advance": "7d" }),
    )
    .await;
    let noticed = workspace.tick(Utc::now()).await;
    assert!(noticed.clock_jumped, "{noticed:?}");
    assert_eq!(overview_changes(&mut events), 1);
}

/// A keychain that is locked for every call.
#[derive(Debug)]
struct LockedKeychain;

impl SecretStore for LockedKeychain {
    fn backend(&self) -> Result<String, crate::keychain::KeychainError> {
        Err(locked())
    }
    fn put(
        &self,
        _: &str,
        _: &crate::sensitive::Sensitive<String>,
    ) -> Result<(), crate::keychain::KeychainError> {
        Err(locked())
    }
    fn get(
        &self,
        _: &str,
    ) -> Result<Option<crate::sensitive::Sensitive<String>>, crate::keychain::KeychainError> {
        Err(locked())
    }
    fn delete(&self, _: &str) -> Result<bool, crate::keychain::KeychainError> {
        Err(locked())
    }
}

fn locked() -> crate::keychain::KeychainError {
    crate::keychain::KeychainError::Locked {
        detail: "locked for the test".into(),
    }
}

/// The Demo world outlives the app: closed right after a connection is added, the next start
/// knows the connection and can sync it. That start needs no keychain (Demo's client secret is
/// built in, so a locked keychain does not stop Demo opening), and the closing wrote the world
/// once: a close with nothing changed leaves the saved file as it was.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_world_is_saved_when_the_app_closes() {
    let dir = tempfile::tempdir().expect("temp dir");
    let keychain: Arc<dyn SecretStore> = Arc::new(MemoryKeychain::default());
    let id = {
        let workspace = Workspace::open(dir.path().to_path_buf(), keychain.clone())
            .await
            .expect("open");
        workspace
            .create_profile("Sam", None)
            .await
            .expect("profile");
        let id = add_connection(&workspace, MOCK_BANK).await;
        workspace.close().await;
        id
    };
    let saved = dir.path().join("demo-sandbox").join("sandbox.json");
    let written = std::fs::metadata(&saved)
        .and_then(|m| m.modified())
        .expect("the world was saved");
    let workspace = Workspace::open(dir.path().to_path_buf(), Arc::new(LockedKeychain))
        .await
        .expect("Demo opens with the keychain locked");
    assert_eq!(
        workspace.dashboard().expect("dashboard").len(),
        1,
        "the card, from the store"
    );
    workspace
        .sync_now(&id)
        .await
        .expect("the connection is still known");
    workspace.close().await;
    let reopened = Workspace::open(dir.path().to_path_buf(), keychain)
        .await
        .expect("reopen");
    reopened.close().await;
    assert!(
        std::fs::metadata(&saved)
            .and_then(|m| m.modified())
            .expect("still saved")
            > written,
        "the sync changed the world, so it was saved again"
    );
    let resaved = std::fs::metadata(&saved)
        .and_then(|m| m.modified())
        .expect("still saved");
    let unchanged = Workspace::open(dir.path().to_path_buf(), Arc::new(LockedKeychain))
        .await
        .expect("reopen");
    unchanged.close().await;
    assert_eq!(
        std::fs::metadata(&saved)
            .and_then(|m| m.modified())
            .expect("still saved"),
        resaved,
        "a run that changed nothing does not write the world again"
    );
}

/// A hostile bank list cannot aim the icon fetcher elsewhere or fill the disk: icons come only
/// from the environment's own servers, and no more than the cap are kept.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn icons_come_only_from_the_environments_servers_and_are_capped() {
    let (dir, workspace) = demo_workspace("Icons").await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let elsewhere = format!(
        "http://localhost:{}/icon.svg",
        listener.local_addr().expect("addr").port()
    );
    workspace
        .fetch_missing_icons(vec![("elsewherebank".into(), elsewhere)])
        .await;
    let contacted =
        tokio::time::timeout(std::time::Duration::from_millis(300), listener.accept()).await;
    assert!(contacted.is_err(), "another server was asked for an icon");

    let identity = crate::demo_harness::identity_url(&workspace).await;
    let own = format!("{identity}/bank-icons/default");
    let folder = dir.path().join("icons/demo");
    std::fs::create_dir_all(&folder).expect("folder");
    for n in 0..2_000 {
        std::fs::write(folder.join(format!("filler{n}.svg")), "<svg></svg>").expect("filler");
    }
    workspace
        .fetch_missing_icons(vec![("capbank".into(), own.clone())])
        .await;
    assert!(!folder.join("capbank.svg").exists(), "the folder is full");
    std::fs::remove_dir_all(&folder).expect("emptied");
    workspace
        .fetch_missing_icons(vec![("anotherbank".into(), own)])
        .await;
    assert!(
        folder.join("anotherbank.svg").is_file(),
        "with room, the environment's own server is asked"
    );

    // The start-up answer carries at most 8 MiB of icons, however many sit at their limit.
    let big = format!("<svg>{}</svg>", "x".repeat(60 * 1024));
    for n in 0..400 {
        std::fs::write(folder.join(format!("bigbank{n}.svg")), &big).expect("big icon");
    }
    let answered: usize = workspace
        .bank_icons()
        .expect("icons")
        .values()
        .map(String::len)
        .sum();
    // base64 is 4/3 of the bytes.
    assert!(
        (1..=8 * 1024 * 1024 * 4 / 3 + 1024).contains(&answered),
        "{answered} bytes of icons in one answer"
    );
}

/// On a shared machine another user reads nothing of the data folder: under the umask most
/// systems give (022), a folder made before this rule (0755, a 0644 store) is tightened when
/// opened, and everything Banklinks writes afterwards (the store and its `-wal`/`-shm`, the
/// Demo world and clock, exports' folder aside) is 0600 in 0700 folders.
#[cfg(unix)]
#[allow(unsafe_code)] // Only to set the umask, which std does not offer.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_data_folder_is_private_to_its_owner() {
    use std::os::unix::fs::PermissionsExt;
    // SAFETY: umask only swaps the process's file-creation mask; it cannot fail.
    unsafe { libc::umask(0o022) };
    let outside = tempfile::tempdir().expect("temp dir");
    let dir = outside.path().join("data");
    std::fs::create_dir_all(&dir).expect("dir");
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    let planted = dir.join("banklinks.sqlite.damaged-1700000000");
    std::fs::write(&planted, b"from an older version").expect("file");
    std::fs::set_permissions(&planted, std::fs::Permissions::from_mode(0o644)).expect("chmod");

    let workspace = Workspace::open(dir.clone(), Arc::new(MemoryKeychain::default()))
        .await
        .expect("open");
    workspace
        .create_profile("Sam", None)
        .await
        .expect("profile");
    add_connection(&workspace, MOCK_BANK).await;
    workspace.close().await;

    let mut open_to_others = Vec::new();
    let mut files = 0;
    let mut folders = vec![dir.clone()];
    while let Some(folder) = folders.pop() {
        let mode = std::fs::metadata(&folder)
            .expect("folder")
            .permissions()
            .mode()
            & 0o777;
        if mode != 0o700 {
            open_to_others.push(format!("{} {mode:o}", folder.display()));
        }
        for entry in std::fs::read_dir(&folder).expect("list") {
            let path = entry.expect("entry").path();
            let meta = std::fs::symlink_metadata(&path).expect("metadata");
            if meta.is_dir() {
                folders.push(path);
                continue;
            }
            files += 1;
            let mode = meta.permissions().mode() & 0o777;
            if mode != 0o600 {
                open_to_others.push(format!("{} {mode:o}", path.display()));
            }
        }
    }
    assert!(
        files >= 3,
        "the store, the world and its clock were written"
    );
    assert!(open_to_others.is_empty(), "{open_to_others:#?}");
}

/// What Moneyhub no longer lists is reconciled against the real sandbox and the real store:
/// pending transactions that posted under new ids go (nothing twice), a closed account and a
/// connection deleted elsewhere are kept as history and marked, with journal entries and the
/// right fix; a deleted user is a clear error, not a silent failure.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn what_moneyhub_no_longer_lists_is_reconciled() {
    let (dir, workspace) = demo_workspace("Sam").await;
    // Salary day at 09:00: the current account has a transaction today, so something is
    // pending whatever day the suite runs (on some days the generated history has none).
    let salary_day = {
        use chrono::Datelike;
        let mut day = workspace.now().date_naive() + Duration::days(1);
        while day.day() != 25 {
            day += Duration::days(1);
        }
        day.and_hms_opt(9, 0, 0).expect("a time").and_utc()
    };
    admin(
        &workspace,
        reqwest::Method::POST,
        "/clock",
        serde_json::json!({ "to": crate::store::iso(salary_day) }),
    )
    .await;
    let kept = add_connection(&workspace, MOCK_BANK).await;
    let other = add_connection(&workspace, MOCK_BANK).await;
    let admin = |method: reqwest::Method, path: String| {
        let workspace = &workspace;
        async move { admin(workspace, method, &path, serde_json::json!({})).await }
    };
    let profile = workspace.flows().expect("flows").profile().to_string();
    let store = Store::open(&dir.path().join("banklinks.sqlite")).expect("second connection");
    let view = |id: &str| {
        workspace
            .dashboard()
            .expect("dashboard")
            .into_iter()
            .find(|v| v.connection.id == id)
            .expect("listed")
    };
    let stored = |account: &str| {
        store
            .transactions(&profile, account, 10_000, 0)
            .expect("rows")
    };

    // Just connected: Moneyhub brings the older history in the background, and the card says so.
    assert!(
        view(&kept).history_arriving,
        "{:?}",
        view(&kept).history_from
    );
    workspace.demo_advance_clock("3m").await.expect("clock");
    let arrived = view(&kept);
    assert!(!arrived.history_arriving, "{:?}", arrived.history_from);

    let accounts: Vec<String> = view(&kept).accounts.iter().map(|a| a.id.clone()).collect();
    let pending_before: Vec<String> = accounts
        .iter()
        .flat_map(|a| stored(a))
        .filter(|t| t.pending)
        .map(|t| t.id)
        .collect();
    let total_before: usize = accounts.iter().map(|a| stored(a).len()).sum();
    assert!(
        !pending_before.is_empty(),
        "recent transactions are pending"
    );
    admin(
        reqwest::Method::POST,
        format!("/connections/{kept}/post-pending"),
    )
    .await;
    // Posted under new ids, they are not news: "Synced: N new" does not count them.
    let arrived = workspace
        .flows()
        .expect("flows")
        .refresh_connection(&kept)
        .await
        .expect("refresh");
    assert_eq!(arrived, 0, "a re-issued pending transaction is not new");
    workspace.refresh().await.expect("refresh");
    let after: Vec<StoredTransaction> = accounts.iter().flat_map(|a| stored(a)).collect();
    assert!(
        after.iter().all(|t| !pending_before.contains(&t.id)),
        "a pending transaction reissued as posted is still stored"
    );
    assert_eq!(after.len(), total_before, "each transaction once");

    admin(
        reqwest::Method::POST,
        format!("/accounts/{}/close", accounts[0]),
    )
    .await;
    admin(
        reqwest::Method::POST,
        format!("/connections/{other}/remove-elsewhere"),
    )
    .await;
    workspace.refresh().await.expect("refresh");
    let closed = view(&kept);
    let gone_account = closed
        .accounts
        .iter()
        .find(|a| a.id == accounts[0])
        .expect("kept as history");
    assert!(gone_account.removed_at_source.is_some());
    assert!(closed.removed_at_source.is_none());
    let gone = view(&other);
    assert!(gone.removed_at_source.is_some());
    assert_eq!(gone.health.recommended, Fix::Remove, "{:?}", gone.health);
    assert!(
        gone.next_automatic_sync.is_none(),
        "Moneyhub will not sync it"
    );
    let journal = workspace.journal().expect("journal");
    assert!(
        journal
            .iter()
            .any(|e| matches!(&e.event, JournalEvent::AccountsGone { names } if !names.is_empty()))
    );
    assert!(
        journal
            .iter()
            .any(|e| e.event == JournalEvent::RemovedAtMoneyhub
                && e.connection_id.as_deref() == Some(other.as_str()))
    );
    workspace
        .remove(&other)
        .await
        .expect("removing what Moneyhub already deleted");
    assert!(
        workspace
            .dashboard()
            .expect("dashboard")
            .iter()
            .all(|v| v.connection.id != other)
    );

    let user = workspace.flows().expect("flows").user_id().to_string();
    admin(reqwest::Method::DELETE, format!("/users/{user}")).await;
    let refused = workspace.refresh().await.expect_err("the user is gone");
    assert_eq!(refused.code(), ErrorCode::UserGone, "{refused}");
    assert!(
        !workspace.dashboard().expect("kept").is_empty(),
        "the saved data stays"
    );
}

/// Consent reminders belong to the consent period they warn about: once renewed, the next
/// period's reminders are given again (keyed by the expiry, not just the connection).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn consent_reminders_come_back_in_every_new_consent_period() {
    let (_dir, workspace) = demo_workspace("Sam").await;
    let id = add_connection(&workspace, MOCK_BANK).await;
    let flows = workspace.flows().expect("flows");
    let consent_notices = |notices: Vec<crate::notices::Notice>| {
        notices
            .into_iter()
            .filter(|n| n.connection_id == id && n.key.starts_with("consent:"))
            .count()
    };
    workspace
        .demo_break(&id, Breakage::ConsentEndingSoon)
        .await
        .expect("ending soon");
    assert_eq!(
        consent_notices(workspace.take_notices(&flows).expect("notices")),
        1
    );
    assert_eq!(
        consent_notices(workspace.take_notices(&flows).expect("notices")),
        0,
        "given once per period"
    );

    let url = workspace
        .begin(AuthorizationRequest::Reconsent {
            connection_id: id.clone(),
        })
        .await
        .expect("reconsent");
    finish_at_the_bank(&workspace, &url).await;
    workspace.demo_advance_clock("87d").await.expect("clock");
    let flows = workspace.flows().expect("flows");
    assert_eq!(
        consent_notices(workspace.take_notices(&flows).expect("notices")),
        1,
        "the renewed consent's end is announced too"
    );
}

/// With "keep what Moneyhub no longer has" off, a connection deleted elsewhere goes here too,
/// and the journal says why.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_keeping_off_what_moneyhub_deleted_is_deleted_here_too() {
    let (_dir, workspace) = demo_workspace("Sam").await;
    let id = add_connection(&workspace, MOCK_BANK).await;
    assert!(
        workspace.overview().await.expect("overview").keep_gone_data,
        "kept by default"
    );
    workspace.set_keep_gone_data(false).expect("setting");
    assert!(!workspace.overview().await.expect("overview").keep_gone_data);
    admin(
        &workspace,
        reqwest::Method::POST,
        &format!("/connections/{id}/remove-elsewhere"),
        serde_json::json!({}),
    )
    .await;
    workspace.refresh().await.expect("refresh");
    assert!(
        workspace
            .dashboard()
            .expect("dashboard")
            .iter()
            .all(|v| v.connection.id != id),
        "deleted here too"
    );
    let journal = workspace.journal().expect("journal");
    assert!(
        journal
            .iter()
            .any(|e| e.event == JournalEvent::RemovedAtMoneyhub)
    );
}

/// A provider's daily cap (Triodos: 4) counts Moneyhub's own syncs too, the first fetch and
/// automatic ones: the card says what is really left, from Moneyhub's record.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_capped_providers_syncs_left_today_count_moneyhubs_own() {
    use crate::health::Action;
    let (_dir, workspace) = demo_workspace("Sam").await;
    let triodos = crate::demo_harness::bank_id(&workspace, "Triodos Bank").await;
    let id = add_connection(&workspace, &triodos).await;
    let view = workspace
        .dashboard()
        .expect("dashboard")
        .into_iter()
        .find(|v| v.connection.id == id)
        .expect("listed");
    let sync = view.health.check(Action::Sync).expect("sync check");
    assert!(sync.allowed, "{sync:?}");
    assert_eq!(
        sync.left_today,
        Some(3),
        "the first fetch used one of the 4"
    );
}

/// "Renew all" over the real sandbox: the consents due are renewed one bank at a time, one
/// failure does not stop the rest, a restart resumes where it stopped, and a connection needing
/// a login is listed apart.
#[tokio::test]
async fn renew_all_walks_the_due_consents_and_resumes_after_a_restart() {
    use crate::workspace::RenewStep;

    let keychain: Arc<dyn SecretStore> = Arc::new(MemoryKeychain::default());
    let (dir, workspace) =
        crate::demo_harness::demo_workspace_with("Robin", keychain.clone()).await;
    let mut ids = Vec::new();
    for _ in 0..4 {
        ids.push(add_connection(&workspace, MOCK_BANK).await);
    }
    // Three consents end within the fortnight, none in the order they were added (the four
    // share one bank name, and their ids are random): the soonest is renewed first.
    let now = workspace.now();
    for (id, days) in [(&ids[0], 5), (&ids[1], 2), (&ids[2], 9)] {
        admin(
            &workspace,
            reqwest::Method::PATCH,
            &format!("/connections/{id}"),
            serde_json::json!({ "expiresAt": crate::store::iso(now + Duration::days(days)) }),
        )
        .await;
    }
    workspace
        .demo_break(&ids[3], Breakage::CredentialsError)
        .await
        .expect("login broken");
    let status = workspace
        .renew_all(RenewStep::Status)
        .await
        .expect("status");
    let soonest_first = vec![ids[1].clone(), ids[0].clone(), ids[2].clone()];
    assert_eq!(status.due, soonest_first);
    assert_eq!(status.needs_reauth, vec![ids[3].clone()]);
    assert!(status.batch.is_none());
    let ids = soonest_first;

    // The first renews at its bank.
    let started = workspace.renew_all(RenewStep::Start).await.expect("start");
    let url = started.open.expect("the first bank's page");
    assert_eq!(
        started.batch.as_ref().and_then(|b| b.current.clone()),
        Some(ids[0].clone())
    );
    assert!(
        workspace.renew_all(RenewStep::Start).await.is_err(),
        "one batch at a time"
    );
    finish_at_the_bank(&workspace, &url).await;
    // The second: the person gives up at the bank.
    let second = workspace
        .renew_all(RenewStep::Continue)
        .await
        .expect("next");
    assert!(second.open.is_some());
    let skipped = workspace
        .renew_all(RenewStep::Skip {
            reason: "You cancelled at the bank".into(),
        })
        .await
        .expect("skip");
    let batch = skipped.batch.expect("batch");
    assert_eq!(batch.renewed, vec![ids[0].clone()]);
    assert_eq!(batch.failed[0].connection_id, ids[1]);
    assert_eq!(batch.queue, vec![ids[2].clone()]);

    // A restart (the app closes as it does on quit, which saves the Demo bank's world): the
    // batch is where it stopped, and goes on.
    workspace.close().await;
    drop(workspace);
    let workspace = Workspace::open(dir.path().to_path_buf(), keychain)
        .await
        .expect("reopen");
    let resumed = workspace
        .renew_all(RenewStep::Status)
        .await
        .expect("status");
    assert_eq!(
        resumed.batch.as_ref().map(|b| b.queue.clone()),
        Some(vec![ids[2].clone()])
    );
    let third = workspace
        .renew_all(RenewStep::Continue)
        .await
        .expect("next");
    finish_at_the_bank(&workspace, &third.open.expect("the third bank's page")).await;
    let done = workspace
        .renew_all(RenewStep::Status)
        .await
        .expect("status");
    let batch = done.batch.expect("batch");
    assert!(batch.is_over());
    assert_eq!(batch.renewed, vec![ids[0].clone(), ids[2].clone()]);
    // Renewed consents are no longer due; the one given up on still is.
    assert_eq!(done.due, vec![ids[1].clone()]);
    let dismissed = workspace
        .renew_all(RenewStep::Dismiss)
        .await
        .expect("dismiss");
    assert!(dismissed.batch.is_none());
}

/// The tray's summary over the real sandbox: a broken connection "needs you", "sync all"
/// starts exactly the syncs allowed, and the first close to the tray is explained once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_tray_counts_who_needs_you_and_syncs_all_that_are_allowed() {
    let (_dir, workspace) = demo_workspace("Sam").await;
    let healthy = add_connection(&workspace, MOCK_BANK).await;
    let broken = add_connection(&workspace, MOCK_BANK).await;
    workspace.refresh().await.expect("refresh");
    let before = workspace.attention().expect("attention");
    assert_eq!(before.summary(), "All connections are fine");

    workspace
        .demo_break(&broken, Breakage::CredentialsError)
        .await
        .expect("break");
    let attention = workspace.attention().expect("attention");
    assert_eq!(attention.summary(), "1 needs you");
    assert_eq!(attention.needs_you.len(), 1);

    let allowed = workspace
        .dashboard()
        .expect("dashboard")
        .iter()
        .filter(|view| {
            view.health
                .check(crate::health::Action::Sync)
                .is_some_and(|check| check.allowed)
        })
        .map(|view| view.connection.id.clone())
        .collect::<Vec<_>>();
    assert!(allowed.contains(&healthy), "{allowed:?}");
    assert_eq!(attention.can_sync, allowed.len());

    let outcome = workspace.sync_all_allowed().await.expect("sync all");
    assert_eq!(outcome.started, allowed, "{outcome:?}");
    assert!(outcome.failed.is_empty(), "{outcome:?}");
    let syncing = workspace
        .dashboard()
        .expect("dashboard")
        .into_iter()
        .find(|view| view.connection.id == healthy)
        .expect("listed");
    assert!(syncing.syncing_since.is_some(), "its sync is under way");
    assert_eq!(
        workspace.attention().expect("attention").can_sync,
        0,
        "a sync under way is not offered again"
    );

    assert!(workspace.close_to_tray(), "on by default");
    assert!(workspace.first_close_to_tray().expect("first"));
    assert!(
        !workspace.first_close_to_tray().expect("second"),
        "explained once"
    );
    workspace.set_close_to_tray(false).expect("setting");
    assert!(!workspace.close_to_tray());
    assert!(!workspace.overview().await.expect("overview").close_to_tray);
}

/// A Moneyhub or custom environment does not pay for Demo: switching to one stops the Demo bank
/// server; switching back starts it again, on the same port, with its world as it was.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_environment_stops_the_demo_server_and_demo_comes_back_whole() {
    let (_dir, workspace) = demo_workspace("Sam").await;
    let id = add_connection(&workspace, MOCK_BANK).await;
    let demo = workspace.overview().await.expect("overview").environment;
    let discovery = format!(
        "{}/oidc/.well-known/openid-configuration",
        demo.identity_url
    );
    let answers = |url: String| async move {
        reqwest::get(&url)
            .await
            .is_ok_and(|answer| answer.status().is_success())
    };
    assert!(answers(discovery.clone()).await, "Demo's server is up");

    let (_lab, settings) = crate::demo_harness::lab_environment().await;
    workspace
        .save_environment(settings, Some(DEMO_CLIENT_SECRET.into()))
        .await
        .expect("switched to the lab");
    assert!(!answers(discovery.clone()).await, "Demo's server stopped");
    assert!(workspace.overview().await.expect("overview").demo.is_none());

    workspace
        .activate(crate::environment::DEMO)
        .await
        .expect("back to Demo");
    let overview = workspace.overview().await.expect("overview");
    assert!(overview.demo.is_some_and(|demo| demo.online));
    assert_eq!(
        overview.environment.identity_url, demo.identity_url,
        "the same port"
    );
    assert!(answers(discovery).await, "Demo's server is up again");
    workspace
        .sync_now(&id)
        .await
        .expect("the Demo world kept the connection");
}

/// The tray, the dashboard and notifications count one "needs you": a failed sync with a consent
/// ending in two days is counted by all three (the tray used to say all was fine).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_tray_and_the_dashboard_count_the_same_connections_as_needing_you() {
    let (_dir, workspace) = demo_workspace("Kim").await;
    let id = add_connection(&workspace, MOCK_BANK).await;
    let _fine = add_connection(&workspace, MOCK_BANK).await;
    let now = workspace.now();
    admin(
        &workspace,
        reqwest::Method::PATCH,
        &format!("/connections/{id}"),
        serde_json::json!({ "expiresAt": crate::store::iso(now + Duration::days(2)) }),
    )
    .await;
    workspace
        .demo_break(&id, Breakage::SyncError)
        .await
        .expect("sync error");
    let views = workspace.dashboard().expect("dashboard");
    let card = views.iter().find(|v| v.connection.id == id).expect("card");
    assert_eq!(card.health.headline, "Sync failed");
    assert!(card.health.needs_you);
    assert_eq!(
        views.iter().filter(|v| v.health.needs_you).count(),
        1,
        "only the broken one"
    );
    let attention = workspace.attention().expect("attention");
    assert_eq!(attention.summary(), "1 needs you");
    let notices = crate::notices::due(&views, &Default::default());
    assert!(
        notices
            .iter()
            .any(|n| n.connection_id == id && n.body == "Sync failed"),
        "{notices:?}"
    );
}

/// A reauth whose callback has not arrived yet (the person is still at the bank, or a refresh
/// ran between their consent and the callback) leaves the connection as it was: not "removed at
/// Moneyhub", no journal line saying so. The callback then moves it to its new id, once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reauth_still_at_the_bank_is_not_taken_for_a_removal() {
    let (_dir, workspace) = demo_workspace("Noor").await;
    let bank = crate::demo_harness::bank_id(&workspace, "Sandbox Bank (new id on reauth)").await;
    let old = add_connection(&workspace, &bank).await;
    let url = workspace
        .begin(AuthorizationRequest::Reauth {
            connection_id: old.clone(),
        })
        .await
        .expect("begin");
    // The person consents at the bank (Moneyhub moves the connection to a new id there); the
    // callback is not delivered yet, and a refresh runs meanwhile.
    let callback = moneyhub_sandbox::journey::walk(&url, &[])
        .await
        .expect("bank journey");
    workspace.refresh().await.expect("refresh");
    let card = workspace
        .dashboard()
        .expect("dashboard")
        .into_iter()
        .find(|v| v.connection.id == old)
        .expect("still listed");
    assert_eq!(card.removed_at_source, None, "{}", card.health.headline);
    assert_ne!(card.health.headline, "Removed at Moneyhub");
    let journal = workspace
        .flows()
        .expect("flows")
        .journal()
        .expect("journal");
    assert!(
        !journal
            .iter()
            .any(|e| matches!(e.event, JournalEvent::RemovedAtMoneyhub)),
        "{journal:?}"
    );

    let moved = workspace
        .complete(&typed(&callback))
        .await
        .expect("complete");
    assert_ne!(moved.connection_id, old, "this bank issues a new id");
    let ids: Vec<String> = workspace
        .dashboard()
        .expect("dashboard")
        .into_iter()
        .map(|v| v.connection.id)
        .collect();
    assert_eq!(
        ids,
        vec![moved.connection_id.clone()],
        "one card, under its new id"
    );
}

/// A Moneyhub user deleted outside Banklinks: every card says its connection is gone (sync is
/// refused, the tray offers no "sync all"), and what was saved stays.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deleted_user_leaves_no_card_offering_a_sync() {
    let (_dir, workspace) = demo_workspace("Ash").await;
    let first = add_connection(&workspace, MOCK_BANK).await;
    let _second = add_connection(&workspace, MOCK_BANK).await;
    let accounts_before = workspace
        .dashboard()
        .expect("dashboard")
        .iter()
        .map(|v| v.accounts.len())
        .sum::<usize>();
    let user = workspace.flows().expect("flows").user_id().to_string();
    admin(
        &workspace,
        reqwest::Method::DELETE,
        &format!("/users/{user}"),
        serde_json::json!({}),
    )
    .await;
    let refused = workspace.refresh().await.expect_err("the user is gone");
    assert_eq!(refused.code(), ErrorCode::UserGone);

    let views = workspace.dashboard().expect("dashboard");
    assert_eq!(views.len(), 2);
    for view in &views {
        assert_eq!(view.health.headline, "Removed at Moneyhub");
        assert!(view.health.needs_you);
        let sync = view
            .health
            .check(crate::health::Action::Sync)
            .expect("listed");
        assert!(!sync.allowed);
        assert_eq!(view.next_automatic_sync, None);
    }
    assert_eq!(
        views.iter().map(|v| v.accounts.len()).sum::<usize>(),
        accounts_before,
        "what was saved stays"
    );
    let attention = workspace.attention().expect("attention");
    assert_eq!(attention.summary(), "2 need you");
    assert_eq!(attention.sync_label(), "Nothing can sync right now");
    // Removing one now only clears this device, and the receipt says so.
    let receipt = workspace.remove(&first).await.expect("remove");
    assert!(
        receipt.text.contains("Moneyhub no longer had it"),
        "{}",
        receipt.text
    );
}

/// A manual sync the server failed after Moneyhub had started it (a 502 from a gateway) counts
/// against Moneyhub's window: the card waits, as Moneyhub does, instead of offering a sync that
/// would only be refused with a 429.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sync_answered_with_a_502_still_counts_against_the_window() {
    let (_dir, workspace) = demo_workspace("Lee").await;
    let id = add_connection(&workspace, MOCK_BANK).await;
    let api = workspace
        .overview()
        .await
        .expect("overview")
        .environment
        .api_url;
    let api_path = url::Url::parse(&api)
        .expect("the API's address")
        .path()
        .trim_end_matches('/')
        .to_string();
    admin(
        &workspace,
        reqwest::Method::PUT,
        "/faults",
        serde_json::json!([{
            "pathPrefix": format!("{api_path}/sync/"),
            "status": 502,
            "afterHandling": true,
            "times": 1
        }]),
    )
    .await;
    let failed = workspace.sync_now(&id).await.expect_err("a 502");
    assert_ne!(failed.code(), ErrorCode::Internal, "{failed}");

    let flows = workspace.flows().expect("flows");
    let sync = flows.sync_check(&id).expect("check");
    assert!(!sync.allowed, "{sync:?}");
    assert!(sync.available_at.is_some(), "{sync:?}");
    // Moneyhub agrees: asked anyway, it refuses.
    let asked_anyway = flows.client().sync(flows.user_id(), &id, None).await;
    assert!(
        matches!(asked_anyway, Err(moneyhub::Error::RateLimited { .. })),
        "{asked_anyway:?}"
    );
}

/// A sync run Moneyhub cannot tell about (a 403 or 5xx from its record) stops no refresh: the
/// run is asked about again later, and the refresh brings everything else.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreadable_sync_run_blocks_no_refresh() {
    let (_dir, workspace) = demo_workspace("Uma").await;
    let bank = crate::demo_harness::bank_id(&workspace, "Sandbox Bank (slow syncs)").await;
    let id = add_connection(&workspace, &bank).await;
    workspace.sync_now(&id).await.expect("sync");
    let identity = crate::demo_harness::identity_url(&workspace).await;
    let identity_path = url::Url::parse(&identity)
        .expect("the identity service's address")
        .path()
        .trim_end_matches('/')
        .to_string();
    let user = workspace.flows().expect("flows").user_id().to_string();
    // Only the run's record fails; the connection list, also under /users, answers.
    admin(
        &workspace,
        reqwest::Method::PUT,
        "/faults",
        serde_json::json!([{
            "pathPrefix": format!("{identity_path}/users/{user}/syncs/"),
            "status": 403
        }]),
    )
    .await;
    workspace.refresh().await.expect("the refresh goes on");
    workspace.refresh().await.expect("and again");
    let card = workspace
        .dashboard()
        .expect("dashboard")
        .into_iter()
        .find(|v| v.connection.id == id)
        .expect("listed");
    assert!(card.syncing_since.is_some(), "still watched, not given up");
}

/// A connection of a type the client does not model (Moneyhub lists more than it documents for
/// banks, e.g. `id:experian`) still has its accounts fetched; its card offers only the fixes
/// every connection has.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connection_of_an_unmodelled_type_still_brings_its_accounts() {
    let (_dir, workspace) = demo_workspace("Ola").await;
    let bank = crate::demo_harness::bank_id(&workspace, "Experian (credit report)").await;
    let id = add_connection(&workspace, &bank).await;
    let card = workspace
        .dashboard()
        .expect("dashboard")
        .into_iter()
        .find(|v| v.connection.id == id)
        .expect("listed");
    assert_eq!(card.kind, crate::health::ConnectionKind::Other);
    assert!(!card.accounts.is_empty(), "its accounts are fetched");
}

/// A closed account's frozen balance is dated by its own balance, not by the connection's last
/// update (which moves on with the other accounts), and says why it no longer moves.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_closed_accounts_balance_keeps_its_own_date() {
    let (_dir, workspace) = demo_workspace("Ira").await;
    let bank =
        crate::demo_harness::bank_id(&workspace, "Sandbox Bank (mortgage and current account)")
            .await;
    let id = add_connection(&workspace, &bank).await;
    workspace
        .demo_break(&id, Breakage::AccountClosed)
        .await
        .expect("close one");
    workspace.demo_advance_clock("2d").await.expect("clock");
    workspace.refresh().await.expect("refresh");
    let view = workspace
        .flows()
        .expect("flows")
        .connection_view(&id)
        .expect("view");
    let updated = view.connection.last_updated.expect("updated since");
    assert_eq!(view.freshness.len(), view.accounts.len());
    let mut closed = 0;
    for (account, fresh) in view.accounts.iter().zip(&view.freshness) {
        assert_eq!(fresh.account_id, account.id);
        let as_of = fresh.as_of.expect("a date");
        if let Some(gone) = account.removed_at_source {
            closed += 1;
            assert!(as_of < updated, "{as_of} is not before {updated}");
            assert_eq!(
                fresh.frozen,
                Some(format!(
                    "account closed or no longer shared since {}",
                    crate::calendar::Moment::from(workspace.now()).day(gone)
                ))
            );
        } else {
            assert_eq!(as_of, updated);
            assert_eq!(fresh.frozen, None);
        }
    }
    assert_eq!(closed, 1);
}

/// Renew all is settled by the core: a trip to another bank that fails leaves the batch's
/// current renewal alone (the UI used to mark it failed), and the batch's own refusal at the
/// bank lists it as failed so the batch goes on.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn renew_all_is_settled_only_by_its_own_trips() {
    use crate::workspace::RenewStep;

    let (_dir, workspace) = demo_workspace("Bo").await;
    let mut due = Vec::new();
    for _ in 0..2 {
        due.push(add_connection(&workspace, MOCK_BANK).await);
    }
    let other = add_connection(&workspace, MOCK_BANK).await;
    let now = workspace.now();
    for (id, days) in [(&due[0], 2), (&due[1], 5)] {
        admin(
            &workspace,
            reqwest::Method::PATCH,
            &format!("/connections/{id}"),
            serde_json::json!({ "expiresAt": crate::store::iso(now + Duration::days(days)) }),
        )
        .await;
    }
    workspace.refresh().await.expect("refresh");
    let started = workspace.renew_all(RenewStep::Start).await.expect("start");
    let renewal_url = started.open.expect("the first bank's page");
    assert_eq!(
        started.batch.as_ref().and_then(|b| b.current.clone()),
        Some(due[0].clone())
    );

    // Meanwhile a reauth of another connection is refused at its bank.
    let reauth = workspace
        .begin(AuthorizationRequest::Reauth {
            connection_id: other.clone(),
        })
        .await
        .expect("begin");
    let refused = moneyhub_sandbox::journey::walk(&reauth, &[("action", "deny")])
        .await
        .expect("bank journey");
    assert!(refused.contains("error="), "{refused}");
    assert!(workspace.complete(&typed(&refused)).await.is_err());
    let status = workspace
        .renew_all(RenewStep::Status)
        .await
        .expect("status");
    let batch = status.batch.expect("batch");
    assert_eq!(batch.current, Some(due[0].clone()), "untouched: {batch:?}");
    assert!(batch.failed.is_empty(), "{batch:?}");

    // The batch's own trip is refused: it is listed, and the next one can start.
    let refused = moneyhub_sandbox::journey::walk(&renewal_url, &[("action", "deny")])
        .await
        .expect("bank journey");
    assert!(workspace.complete(&typed(&refused)).await.is_err());
    let status = workspace
        .renew_all(RenewStep::Status)
        .await
        .expect("status");
    let batch = status.batch.expect("batch");
    assert_eq!(batch.current, None);
    assert_eq!(batch.failed.len(), 1, "{batch:?}");
    assert_eq!(batch.failed[0].connection_id, due[0]);
    let next = workspace
        .renew_all(RenewStep::Continue)
        .await
        .expect("next");
    assert!(next.open.is_some());
    assert_eq!(next.batch.and_then(|b| b.current), Some(due[1].clone()));
}

/// How a trip to the bank ended is worded from the connection's state after it: a reauth of a
/// bank that still fails says so instead of "Reauthenticated; it is working again".
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_trip_says_it_worked_only_when_it_did() {
    let (_dir, workspace) = demo_workspace("Eve").await;
    let bank = crate::demo_harness::bank_id(&workspace, "Sandbox Bank (undocumented error)").await;
    let id = add_connection(&workspace, &bank).await;
    workspace.demo_advance_clock("8h").await.expect("clock");
    let before = workspace
        .flows()
        .expect("flows")
        .connection_view(&id)
        .expect("view");
    assert!(before.health.needs_you, "{:?}", before.health);
    let done = crate::demo_harness::reauth_at_the_bank(&workspace, &id).await;
    let after = workspace
        .flows()
        .expect("flows")
        .connection_view(&done.connection_id)
        .expect("view");
    // The scripted bank fails again on the sync after the reauth.
    assert!(after.health.needs_you, "{:?}", after.health);
    assert_eq!(
        done.outcome,
        format!(
            "Reauthenticated, but Moneyhub still reports: {}.",
            after.health.headline
        )
    );

    let healthy = add_connection(&workspace, MOCK_BANK).await;
    let done = crate::demo_harness::reauth_at_the_bank(&workspace, &healthy).await;
    assert_eq!(done.outcome, "Reauthenticated.");
}
