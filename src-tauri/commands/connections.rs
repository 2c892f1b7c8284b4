//! The connection journeys: the dashboard, adding and fixing connections at the bank, syncing,
//! details, the journal and exports, removal.

use banklinks_core::flows::{
    ConnectionDetail, ConnectionView, ExportFormat, PendingView, TransactionPage,
};
use banklinks_core::store::{JournalEntry, RemovalReceipt};
use banklinks_core::workspace::{
    AuthorizationRequest, Export, InstitutionView, RenewAllView, RenewStep,
};
use tauri::{AppHandle, Manager, State};

use crate::error::IpcError;
use crate::state::AppState;

#[tauri::command]
#[specta::specta]
pub async fn dashboard(state: State<'_, AppState>) -> Result<Vec<ConnectionView>, IpcError> {
    Ok(state.ready().await?.dashboard()?)
}

#[tauri::command]
#[specta::specta]
pub async fn refresh(state: State<'_, AppState>) -> Result<(), IpcError> {
    Ok(state.ready().await?.refresh().await?)
}

#[tauri::command]
#[specta::specta]
pub async fn institutions(state: State<'_, AppState>) -> Result<Vec<InstitutionView>, IpcError> {
    Ok(state.ready().await?.institutions().await?)
}

/// Starts an authorization and opens the bank's page in the system browser.
#[tauri::command]
#[specta::specta]
pub async fn begin_authorization(
    app: AppHandle,
    state: State<'_, AppState>,
    request: AuthorizationRequest,
) -> Result<(), IpcError> {
    let url = state.ready().await?.begin(request).await?;
    crate::opener::open_in_browser(&app, &url).map_err(IpcError::internal)
}

#[tauri::command]
#[specta::specta]
pub async fn pending_authorizations(
    state: State<'_, AppState>,
) -> Result<Vec<PendingView>, IpcError> {
    Ok(state.ready().await?.pending_authorizations()?)
}

#[tauri::command]
#[specta::specta]
pub async fn cancel_authorization(
    state: State<'_, AppState>,
    state_id: String,
) -> Result<bool, IpcError> {
    Ok(state.ready().await?.cancel(&state_id)?)
}

#[tauri::command]
#[specta::specta]
pub async fn sync_now(state: State<'_, AppState>, connection_id: String) -> Result<(), IpcError> {
    Ok(state.ready().await?.sync_now(&connection_id).await?)
}

/// Runs the sync now if allowed, else queues it; returns when it will run if queued.
#[tauri::command]
#[specta::specta]
pub async fn sync_when_allowed(
    state: State<'_, AppState>,
    connection_id: String,
) -> Result<Option<String>, IpcError> {
    Ok(state
        .ready()
        .await?
        .sync_when_allowed(&connection_id)
        .await?
        .map(banklinks_core::store::iso))
}

#[tauri::command]
#[specta::specta]
pub async fn connection_detail(
    state: State<'_, AppState>,
    connection_id: String,
) -> Result<ConnectionDetail, IpcError> {
    Ok(state.ready().await?.connection_detail(&connection_id)?)
}

/// Moneyhub's own record of the connection's syncs, newest first.
#[tauri::command]
#[specta::specta]
pub async fn connection_sync_history(
    state: State<'_, AppState>,
    connection_id: String,
) -> Result<Vec<banklinks_core::store::SyncRun>, IpcError> {
    Ok(state.ready().await?.sync_history(&connection_id).await?)
}

#[tauri::command]
#[specta::specta]
pub async fn transactions(
    state: State<'_, AppState>,
    connection_id: String,
    search: String,
    limit: u32,
    offset: u32,
) -> Result<TransactionPage, IpcError> {
    Ok(state
        .ready()
        .await?
        .transactions(&connection_id, &search, limit, offset)?)
}

#[tauri::command]
#[specta::specta]
pub async fn journal(state: State<'_, AppState>) -> Result<Vec<JournalEntry>, IpcError> {
    Ok(state.ready().await?.journal()?)
}

/// Writes an export to the Downloads folder (the data folder when there is none); returns its
/// path.
#[tauri::command]
#[specta::specta]
pub async fn export_data(
    app: AppHandle,
    state: State<'_, AppState>,
    what: Export,
    format: ExportFormat,
) -> Result<String, IpcError> {
    let workspace = state.ready().await?;
    let dir = app
        .path()
        .download_dir()
        .unwrap_or_else(|_| workspace.data_dir().join("exports"));
    Ok(workspace.export(what, format, &dir)?.display().to_string())
}

/// The bank icons kept on this device, by bank id, as `data:` URLs (the CSP allows those).
#[tauri::command]
#[specta::specta]
pub async fn bank_icons(
    state: State<'_, AppState>,
) -> Result<std::collections::BTreeMap<String, String>, IpcError> {
    Ok(state.ready().await?.bank_icons()?)
}

/// One step of "renew all"; a step that sends the next connection to its bank opens the page.
#[tauri::command]
#[specta::specta]
pub async fn renew_all(
    app: AppHandle,
    state: State<'_, AppState>,
    step: RenewStep,
) -> Result<RenewAllView, IpcError> {
    let view = state.ready().await?.renew_all(step).await?;
    if let Some(url) = &view.open {
        crate::opener::open_in_browser(&app, url).map_err(IpcError::internal)?;
    }
    Ok(view)
}

/// Opens the file manager at an export this run wrote (no other path: the core checks).
#[tauri::command]
#[specta::specta]
pub async fn show_export(
    app: AppHandle,
    state: State<'_, AppState>,
    path: String,
) -> Result<(), IpcError> {
    let file = state.ready().await?.exported_file(&path)?;
    crate::opener::show_in_folder(&app, &file).map_err(IpcError::internal)
}

#[tauri::command]
#[specta::specta]
pub async fn remove_connection(
    state: State<'_, AppState>,
    connection_id: String,
) -> Result<RemovalReceipt, IpcError> {
    Ok(state.ready().await?.remove(&connection_id).await?)
}
