// Keeps a console window from opening beside the app on Windows release builds.
#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]

// Every allocation through dhat, only in the heap profile's build (see `bench.rs`).
#[cfg(feature = "heap-profile")]
#[global_allocator]
static HEAP_PROFILE: dhat::Alloc = dhat::Alloc;

fn main() {
    banklinks_app::run();
}
