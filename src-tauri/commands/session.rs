//! Environments, profiles and app settings.

use banklinks_core::environment::EnvironmentSettings;
use banklinks_core::workspace::Overview;
use tauri::State;

use crate::error::IpcError;
use crate::state::AppState;

#[tauri::command]
#[specta::specta]
pub async fn app_overview(state: State<'_, AppState>) -> Result<Overview, IpcError> {
    Ok(state.ready().await?.overview().await?)
}

#[tauri::command]
#[specta::specta]
pub async fn use_persona(state: State<'_, AppState>, persona: String) -> Result<String, IpcError> {
    Ok(state.ready().await?.use_persona(&persona).await?)
}

#[tauri::command]
#[specta::specta]
pub async fn create_profile(
    state: State<'_, AppState>,
    name: String,
    existing_user_id: Option<String>,
) -> Result<String, IpcError> {
    Ok(state
        .ready()
        .await?
        .create_profile(&name, existing_user_id.as_deref())
        .await?)
}

#[tauri::command]
#[specta::specta]
pub async fn select_profile(state: State<'_, AppState>, profile: String) -> Result<(), IpcError> {
    Ok(state.ready().await?.select_profile(&profile).await?)
}

#[tauri::command]
#[specta::specta]
pub async fn activate_environment(
    state: State<'_, AppState>,
    environment: String,
) -> Result<(), IpcError> {
    Ok(state.ready().await?.activate(&environment).await?)
}

/// `secret` is the client secret or private key as typed or read from a file in the UI; it goes
/// straight to the keychain and is never sent back.
#[tauri::command]
#[specta::specta]
pub async fn save_environment(
    state: State<'_, AppState>,
    settings: EnvironmentSettings,
    secret: Option<String>,
) -> Result<(), IpcError> {
    Ok(state
        .ready()
        .await?
        .save_environment(settings, secret)
        .await?)
}

#[tauri::command]
#[specta::specta]
pub async fn remove_environment(
    state: State<'_, AppState>,
    environment: String,
) -> Result<(), IpcError> {
    Ok(state
        .ready()
        .await?
        .remove_environment(&environment)
        .await?)
}

#[tauri::command]
#[specta::specta]
pub async fn set_notifications(state: State<'_, AppState>, on: bool) -> Result<(), IpcError> {
    Ok(state.ready().await?.set_notifications(on)?)
}

/// Keep connections and accounts Moneyhub no longer has, as history (or delete them).
#[tauri::command]
#[specta::specta]
pub async fn set_keep_gone_data(state: State<'_, AppState>, keep: bool) -> Result<(), IpcError> {
    Ok(state.ready().await?.set_keep_gone_data(keep)?)
}

#[tauri::command]
#[specta::specta]
pub async fn set_customer_ip(state: State<'_, AppState>, ip: String) -> Result<(), IpcError> {
    Ok(state.ready().await?.set_customer_ip(&ip)?)
}

/// Closing the window keeps Banklinks running in the tray (or quits it).
#[tauri::command]
#[specta::specta]
pub async fn set_close_to_tray(state: State<'_, AppState>, on: bool) -> Result<(), IpcError> {
    Ok(state.ready().await?.set_close_to_tray(on)?)
}

/// Whether the desktop starts Banklinks (waiting in the tray) when the person logs in. The
/// desktop's own record is the truth, so this is read from it, not from the store.
#[tauri::command]
#[specta::specta]
pub async fn start_at_login(app: tauri::AppHandle) -> Result<bool, IpcError> {
    use tauri_plugin_autostart::ManagerExt;
    app.autolaunch()
        .is_enabled()
        .map_err(|err| IpcError::internal(format!("could not read Start at login: {err}")))
}

#[tauri::command]
#[specta::specta]
pub async fn set_start_at_login(app: tauri::AppHandle, on: bool) -> Result<bool, IpcError> {
    use tauri_plugin_autostart::ManagerExt;
    let manager = app.autolaunch();
    let changed = if on {
        manager.enable()
    } else {
        manager.disable()
    };
    changed.map_err(|err| IpcError::internal(format!("could not change Start at login: {err}")))?;
    manager
        .is_enabled()
        .map_err(|err| IpcError::internal(format!("could not read Start at login: {err}")))
}
