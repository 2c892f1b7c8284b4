//! Benchmark: Banklinks beside a bare Tauri 2 window (`benches/bare-window`: one static page,
//! the same Tauri version and release profile), both release builds, in one run and the same
//! headless desktop session (`scripts/bench-app`). Each is launched directly, without WebDriver,
//! and measured the same way:
//! - window: from the launch to its X11 window being mapped;
//! - first paint: the app's own figure, from its process start to its page's first paint of real
//!   content (Banklinks: the dashboard's cards, or the first-run screen), reported by the page;
//! - memory: PSS of the process and every process it started (WebKit's web and network
//!   processes), 3 s after the launch, and where the app process's own share goes.
//!
//! Banklinks runs twice per round: on the first-run screen, and in Demo with 50 connections in
//! its store. The bare window's binary comes from `BANKLINKS_BENCH_BARE` (`scripts/bench-app`
//! builds it). With `BANKLINKS_BENCH_HEAP_APP` (the app built with `--features heap-profile`),
//! one more launch with 50 connections writes a dhat profile, and the live Rust heap at 3 s is
//! printed by the app's own code that allocated it.
//!
//! Linux only (X11, `/proc`, WebKitGTK's processes); elsewhere it says so and stops.

#[cfg(target_os = "linux")]
#[path = "startup/linux.rs"]
mod linux;

#[cfg(target_os = "linux")]
fn main() {
    linux::main();
}

#[cfg(not(target_os = "linux"))]
fn main() {
    eprintln!("the start-up benchmark runs on Linux only");
}
