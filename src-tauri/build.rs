//! Declaring the app's commands here makes Tauri generate one `allow-<command>` permission per
//! command, so `capabilities/main.json` can grant exactly those and nothing else.

fn main() {
    let commands = &[
        "keychain_status",
        "keychain_probe_write",
        "keychain_probe_read",
        "keychain_probe_delete",
        "deep_link_activity",
        "report_first_paint",
        "app_overview",
        "use_persona",
        "create_profile",
        "select_profile",
        "activate_environment",
        "save_environment",
        "remove_environment",
        "set_notifications",
        "set_close_to_tray",
        "start_at_login",
        "set_start_at_login",
        "set_keep_gone_data",
        "set_customer_ip",
        "dashboard",
        "refresh",
        "institutions",
        "bank_icons",
        "begin_authorization",
        "pending_authorizations",
        "cancel_authorization",
        "sync_now",
        "sync_when_allowed",
        "connection_detail",
        "connection_sync_history",
        "transactions",
        "journal",
        "export_data",
        "renew_all",
        "show_export",
        "remove_connection",
        "demo_advance_clock",
        "demo_break_connection",
        "demo_set_faults",
        "demo_reset",
        "demo_set_online",
    ];
    tauri_build::try_build(
        tauri_build::Attributes::new()
            .app_manifest(tauri_build::AppManifest::new().commands(commands)),
    )
    .expect("tauri-build failed");
}
