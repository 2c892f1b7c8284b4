// "Now" as the active environment sees it. The Demo clock can be days ahead of the wall clock,
// so every relative-time label reads this, not Date.now(). The core sets it (with each
// overview); between those it moves with the monotonic clock.

class Clock {
  now = $state(Date.now());
  #base = { app: Date.now(), perf: 0 };

  constructor() {
    this.#base = { app: Date.now(), perf: performance.now() };
  }

  /** The environment said what time it is. */
  set(iso: string) {
    const app = Date.parse(iso);
    if (Number.isNaN(app)) return;
    this.#base = { app, perf: performance.now() };
    this.now = app;
  }

  /** Called by the app's one timer. */
  advance() {
    this.now = this.#base.app + (performance.now() - this.#base.perf);
  }
}

export const clock = new Clock();
