//! The typed IPC surface: every command and event the UI may use, and the TypeScript bindings
//! generated from them into `ui/src/ipc/bindings.gen.ts` (committed; a test fails when they
//! drift, `BANKLINKS_UPDATE_BINDINGS=1 cargo test -p banklinks bindings` rewrites them).

use specta_typescript::Typescript;
use tauri_specta::{collect_commands, collect_events};

use crate::commands;
use crate::events::{
    AuthorizationFailed, AuthorizationFinished, DeepLinkReceived, DeepLinkRejected, FlowActivity,
    OpenConnectionRequested,
};

pub const BINDINGS_PATH: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/ui/src/ipc/bindings.gen.ts");

/// Wry only: commands that open the browser or find the Downloads folder take the app handle.
pub fn builder() -> tauri_specta::Builder<tauri::Wry> {
    tauri_specta::Builder::<tauri::Wry>::new()
        .commands(collect_commands![
            commands::keychain_status,
            commands::keychain_probe_write,
            commands::keychain_probe_read,
            commands::keychain_probe_delete,
            commands::deep_link_activity,
            commands::report_first_paint,
            commands::session::app_overview,
            commands::session::use_persona,
            commands::session::create_profile,
            commands::session::select_profile,
            commands::session::activate_environment,
            commands::session::save_environment,
            commands::session::remove_environment,
            commands::session::set_notifications,
            commands::session::set_close_to_tray,
            commands::session::start_at_login,
            commands::session::set_start_at_login,
            commands::session::set_keep_gone_data,
            commands::session::set_customer_ip,
            commands::connections::dashboard,
            commands::connections::refresh,
            commands::connections::institutions,
            commands::connections::begin_authorization,
            commands::connections::pending_authorizations,
            commands::connections::cancel_authorization,
            commands::connections::sync_now,
            commands::connections::sync_when_allowed,
            commands::connections::connection_detail,
            commands::connections::connection_sync_history,
            commands::connections::transactions,
            commands::connections::journal,
            commands::connections::export_data,
            commands::connections::bank_icons,
            commands::connections::renew_all,
            commands::connections::show_export,
            commands::connections::remove_connection,
            commands::demo::demo_advance_clock,
            commands::demo::demo_break_connection,
            commands::demo::demo_set_faults,
            commands::demo::demo_reset,
            commands::demo::demo_set_online,
        ])
        .events(collect_events![
            DeepLinkReceived,
            DeepLinkRejected,
            FlowActivity,
            AuthorizationFinished,
            AuthorizationFailed,
            OpenConnectionRequested
        ])
}

pub fn export_bindings(path: &std::path::Path) -> Result<(), Box<dyn std::error::Error>> {
    builder().export(
        Typescript::default()
            .header("// Generated from src-tauri/ipc.rs by tauri-specta. Do not edit.\n"),
        path,
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bindings_are_current() {
        let committed_path = std::path::Path::new(BINDINGS_PATH);
        if std::env::var_os("BANKLINKS_UPDATE_BINDINGS").is_some() {
            export_bindings(committed_path).expect("write bindings");
            return;
        }
        let dir = tempfile::tempdir().expect("temp dir");
        let fresh_path = dir.path().join("bindings.gen.ts");
        export_bindings(&fresh_path).expect("generate bindings");
        let fresh = std::fs::read_to_string(&fresh_path).expect("read fresh bindings");
        let committed = std::fs::read_to_string(committed_path).unwrap_or_default();
        assert!(
            fresh == committed,
            "ui/src/ipc/bindings.gen.ts is out of date: run \
             `BANKLINKS_UPDATE_BINDINGS=1 cargo test -p banklinks bindings` and commit the result"
        );
    }

    /// The command list lives in four places (the specta builder above, `build.rs` for the
    /// permissions, `capabilities/main.json` for the grants, `ui/src/ipc/index.ts` for the UI's
    /// door); the builder is the one the compiler checks, and this test fails when any other
    /// list names a different set.
    #[test]
    fn every_command_is_in_every_list() {
        use std::collections::BTreeSet;
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let read = |path: &str| {
            std::fs::read_to_string(root.join(path)).unwrap_or_else(|err| panic!("{path}: {err}"))
        };
        let dir = tempfile::tempdir().expect("temp dir");
        let fresh_path = dir.path().join("bindings.gen.ts");
        export_bindings(&fresh_path).expect("generate bindings");
        let bindings = std::fs::read_to_string(&fresh_path).expect("read bindings");
        let from_builder: BTreeSet<String> = bindings
            .split("__TAURI_INVOKE")
            .skip(1)
            .filter(|rest| rest.starts_with(['(', '<']))
            .filter_map(|rest| rest.split('"').nth(1).map(str::to_string))
            .collect();
        assert!(from_builder.len() > 10, "{from_builder:?}");

        let build = read("src-tauri/build.rs");
        let list = build
            .split("let commands = &[")
            .nth(1)
            .and_then(|rest| rest.split("];").next())
            .expect("the command list in build.rs");
        let in_build: BTreeSet<String> = list
            .split('"')
            .skip(1)
            .step_by(2)
            .map(str::to_string)
            .collect();

        let capabilities: serde_json::Value =
            serde_json::from_str(&read("capabilities/main.json")).expect("capabilities JSON");
        let granted: BTreeSet<String> = capabilities["permissions"]
            .as_array()
            .expect("permissions")
            .iter()
            .filter_map(|p| {
                p.as_str()?
                    .strip_prefix("allow-")
                    .map(|n| n.replace('-', "_"))
            })
            .collect();

        let door = read("ui/src/ipc/index.ts");
        let in_door: BTreeSet<String> = door
            .split("generated.")
            .skip(1)
            .map(|rest| {
                let name: String = rest
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric())
                    .collect();
                name.chars().fold(String::new(), |mut snake, c| {
                    if c.is_ascii_uppercase() {
                        snake.push('_');
                        snake.push(c.to_ascii_lowercase());
                    } else {
                        snake.push(c);
                    }
                    snake
                })
            })
            .collect();

        assert_eq!(in_build, from_builder, "src-tauri/build.rs");
        assert_eq!(granted, from_builder, "capabilities/main.json");
        assert_eq!(in_door, from_builder, "ui/src/ipc/index.ts");
    }
}
