import { ipc } from '../ipc';

let reported = false;
const marks: [string, number][] = [['script started', performance.now()]];
let markPainted: () => void = () => {};
const painted = new Promise<void>((resolve) => {
  markPainted = resolve;
});

/**
 * Resolves once the first content is painted, or after `atMostMs` for a start that never
 * paints any: work that would compete with the first paint for the cores (a refresh from
 * Moneyhub, the bank list) waits for it.
 */
export function afterFirstPaint(atMostMs = 3_000): Promise<void> {
  return Promise.race([painted, new Promise<void>((resolve) => setTimeout(resolve, atMostMs))]);
}

/** Notes how far the first start-up has got (ms since the page began loading), for the report. */
export function markStartup(step: string): void {
  if (!reported) marks.push([step, performance.now()]);
}

/**
 * Tells the app that its first real content is on screen (for `scripts/bench-app`): after the
 * DOM update, two animation frames, so the browser has painted it, not just laid it out. The
 * marks say where the page's share of the time went.
 */
export function reportFirstPaint(cards: number): void {
  if (reported) return;
  markStartup('content in the page');
  reported = true;
  requestAnimationFrame(() =>
    requestAnimationFrame(() => {
      marks.push(['painted', performance.now()]);
      markPainted();
      void ipc.reportFirstPaint(cards, marks);
    }),
  );
}
