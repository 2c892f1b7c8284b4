//! A bare Tauri 2 window for `scripts/bench-app` to compare Banklinks with. Its page reports its
//! first paint the way Banklinks' UI does, and it writes the figure the same way.

use std::io::Write;
use std::sync::OnceLock;
use std::time::Instant;

static STARTED: OnceLock<Instant> = OnceLock::new();

#[tauri::command]
fn report_first_paint() {
    let (Some(path), Some(started)) = (std::env::var_os("BANKLINKS_BENCH_REPORT"), STARTED.get())
    else {
        return;
    };
    let millis = started.elapsed().as_secs_f64() * 1000.0;
    if let Ok(mut file) = std::fs::OpenOptions::new().create(true).append(true).open(path) {
        let _ = writeln!(file, "first_paint_ms={millis:.1} cards=0");
    }
}

fn main() {
    STARTED.get_or_init(Instant::now);
    tauri::Builder::default()
        .invoke_handler(tauri::generate_handler![report_first_paint])
        .run(tauri::generate_context!())
        .expect("the bare window");
}
