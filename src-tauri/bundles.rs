//! What each platform bundles lives in `tauri.<platform>.conf.json` beside `tauri.conf.json`;
//! the bundler keeps only the kinds it can make where it runs, so a platform without its own
//! kinds would get no installer, and with it no `banklinks:` link scheme.

#[cfg(test)]
mod tests {
    use serde_json::Value;

    fn config(name: &str) -> Value {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(name);
        let text = std::fs::read_to_string(&path).unwrap_or_else(|err| panic!("{name}: {err}"));
        serde_json::from_str(&text).unwrap_or_else(|err| panic!("{name}: {err}"))
    }

    fn targets(config: &Value) -> Vec<&str> {
        config["bundle"]["targets"]
            .as_array()
            .map(|kinds| kinds.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default()
    }

    #[test]
    fn every_platform_bundles_an_installer_that_registers_the_link_scheme() {
        assert!(
            config("tauri.conf.json")["bundle"]["targets"].is_null(),
            "the kinds are each platform's own"
        );
        assert_eq!(targets(&config("tauri.linux.conf.json")), ["deb", "rpm"]);
        assert_eq!(targets(&config("tauri.windows.conf.json")), ["nsis"]);
        assert_eq!(targets(&config("tauri.macos.conf.json")), ["app", "dmg"]);
        let schemes = &config("tauri.conf.json")["plugins"]["deep-link"]["desktop"]["schemes"];
        assert_eq!(schemes, &serde_json::json!(["banklinks"]));
    }

    /// The UI is built for one Safari (`ui/vite.config.ts`); on macOS the webview is the
    /// system's WebKit, so the oldest macOS allowed must ship at least that Safari.
    #[test]
    fn the_oldest_macos_allowed_has_the_webkit_the_ui_is_built_for() {
        let vite = std::fs::read_to_string(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("ui/vite.config.ts"),
        )
        .expect("vite config");
        let safari: u32 = vite
            .split("target: 'safari")
            .nth(1)
            .and_then(|rest| rest.split('\'').next())
            .and_then(|version| version.parse().ok())
            .expect("a safari target in ui/vite.config.ts");
        let macos = config("tauri.macos.conf.json")["bundle"]["macOS"]["minimumSystemVersion"]
            .as_str()
            .expect("minimumSystemVersion")
            .to_string();
        let major: u32 = macos
            .split('.')
            .next()
            .and_then(|m| m.parse().ok())
            .expect("a version");
        // macOS 11 shipped Safari 14, 12 shipped 15, 13 shipped 16, and so on.
        let shipped_safari = major + 3;
        assert!(
            shipped_safari >= safari,
            "macOS {macos} ships Safari {shipped_safari}; the UI needs {safari}"
        );
        let readme = std::fs::read_to_string(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md"),
        )
        .expect("README");
        assert!(
            readme.contains(&format!("macOS {major}+")),
            "the README names the same oldest macOS ({major})"
        );
    }
}
