// Reported as Banklinks' UI reports it: two animation frames after the content is in the page.
requestAnimationFrame(() =>
  requestAnimationFrame(() => window.__TAURI_INTERNALS__.invoke('report_first_paint')),
);
