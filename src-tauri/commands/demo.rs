//! The presenter's Demo panel.

use banklinks_core::workspace::{Breakage, FaultPreset};
use tauri::State;

use crate::error::IpcError;
use crate::state::AppState;

/// `by`: "1h", "1d", "7d", "90d"… Returns the Demo clock's new time.
#[tauri::command]
#[specta::specta]
pub async fn demo_advance_clock(
    state: State<'_, AppState>,
    by: String,
) -> Result<String, IpcError> {
    Ok(state.ready().await?.demo_advance_clock(&by).await?)
}

#[tauri::command]
#[specta::specta]
pub async fn demo_break_connection(
    state: State<'_, AppState>,
    connection_id: String,
    how: Breakage,
) -> Result<(), IpcError> {
    Ok(state.ready().await?.demo_break(&connection_id, how).await?)
}

#[tauri::command]
#[specta::specta]
pub async fn demo_set_faults(
    state: State<'_, AppState>,
    preset: FaultPreset,
) -> Result<(), IpcError> {
    Ok(state.ready().await?.demo_faults(preset).await?)
}

#[tauri::command]
#[specta::specta]
pub async fn demo_reset(state: State<'_, AppState>) -> Result<(), IpcError> {
    Ok(state.ready().await?.demo_reset().await?)
}

#[tauri::command]
#[specta::specta]
pub async fn demo_set_online(state: State<'_, AppState>, online: bool) -> Result<(), IpcError> {
    Ok(state.ready().await?.demo_set_online(online).await?)
}
