//! Declaring the app's commands here makes Tauri generate one `allow-<command>` permission per
//! command, so `capabilities/main.json` can grant exactly those and nothing else.

fn main() {
    let commands = &[
        "keychain_status",
        "keychain_probe_write",
        "keychain_probe_read",
        "keychain_probe_delete",
        "deep_link_activity",
    ];
    tauri_build::try_build(
        tauri_build::Attributes::new()
            .app_manifest(tauri_build::AppManifest::new().commands(commands)),
    )
    .expect("tauri-build failed");
}
