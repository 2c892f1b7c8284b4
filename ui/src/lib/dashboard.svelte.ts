// The connections of the active profile and what the person does to them: refresh, sync, queue
// a sync, remove. Reads come from the core's store (instant, offline); the core's events say
// when to read again (see app.svelte.ts).

import { markStartup } from './firstPaint';
import { ipc, type ConnectionView, type IpcError, type Outcome } from '../ipc';
import { announcer } from './announcer.svelte';
import { clock } from './clock.svelte';
import { dashboardSummary, removalText, type Receipt } from './connections';
import { formatUpcoming } from './format';
import { explain } from './errors';
import { navigate } from './router.svelte';
import { session } from './session.svelte';

export type { Receipt };

/** News about one connection, shown on its card (and its page) until it is old news. */
export type Notice = { tone: 'info' | 'warning' | 'error'; text: string; error?: IpcError };

type Busy = 'sync' | 'queue' | 'authorize' | 'remove';

class Dashboard {
  connections = $state<ConnectionView[]>([]);
  loaded = $state(false);
  error = $state<IpcError | undefined>();
  /** Goes up whenever the connections were reloaded, so open pages can reload their details. */
  version = $state(0);

  /** Transactions saved so far, per connection, while a refresh fetches history. */
  progress = $state<Partial<Record<string, number>>>({});
  busy = $state<Partial<Record<string, Busy>>>({});
  /** Old connection id → new one, when a reauth gave a connection a new identity. */
  renamed = $state<Partial<Record<string, string>>>({});

  refreshing = $state(false);
  offline = $state(false);
  refreshError = $state<IpcError | undefined>();

  receipt = $state<Receipt | null>(null);
  /** Per connection: the outcome of the last thing done to it. */
  notices = $state<Partial<Record<string, Notice>>>({});

  #seq = 0;
  #reloadTimer: ReturnType<typeof setTimeout> | undefined;

  tell(connectionId: string, notice: Notice | undefined) {
    this.notices = { ...this.notices, [connectionId]: notice };
    if (notice) announcer.say(`${notice.text} ${notice.error ? explain(notice.error).title : ''}`.trim());
  }

  /** The moment the notices described is over (a time jump, another user, back online). */
  clearNews() {
    this.notices = {};
    this.receipt = null;
  }

  nameOf(connectionId: string | null | undefined): string | undefined {
    if (!connectionId) return undefined;
    const id = this.renamed[connectionId] ?? connectionId;
    return this.connections.find((c) => c.connection.id === id)?.connection.name;
  }

  /** Forget the last profile's picture (a switch of profile or environment). */
  reset() {
    this.connections = [];
    this.loaded = false;
    this.error = undefined;
    this.progress = {};
    this.offline = false;
    this.refreshError = undefined;
  }

  /** Reads the dashboard. A caller that awaits it sees the newest picture: when a later load
   * started meanwhile (an event's reload), it waits for that one too, so a tour step that
   * loads a persona and then looks for its card never reads the cards from before. */
  async load() {
    const mine = this.#fetch(++this.#seq);
    this.#latest = mine;
    let waited = mine;
    await waited;
    while (this.#latest !== waited) {
      waited = this.#latest;
      await waited;
    }
  }

  #latest: Promise<void> = Promise.resolve();

  async #fetch(seq: number) {
    const outcome = await ipc.dashboard();
    markStartup('dashboard answered');
    if (seq !== this.#seq) return;
    if (outcome.ok) {
      // Say it when the picture changes under the person (a background refresh, a reminder
      // coming due), not on every reload.
      const before = this.loaded ? dashboardSummary(this.connections) : undefined;
      const after = dashboardSummary(outcome.value);
      if (before !== undefined && before !== after) announcer.say(`${after}.`);
      this.connections = outcome.value;
      this.loaded = true;
      this.error = undefined;
      this.version += 1;
    } else {
      this.#noted(outcome.error);
      this.error = outcome.error;
    }
  }

  /** Bursts of events become one reload. */
  scheduleReload() {
    clearTimeout(this.#reloadTimer);
    this.#reloadTimer = setTimeout(() => void this.load(), 150);
  }

  #noted(error: IpcError) {
    session.noted(error);
    if (error.code === 'offline') this.offline = true;
  }

  async refresh(manual = false) {
    if (this.refreshing || !session.hasProfile) return;
    this.refreshing = true;
    this.refreshError = undefined;
    const outcome = await ipc.refresh();
    this.refreshing = false;
    this.progress = {};
    if (outcome.ok) {
      this.refreshed();
    } else if (outcome.error.code === 'offline') {
      if (!this.offline || manual) {
        announcer.say('Can’t reach Moneyhub. Showing what was saved on this device.');
      }
      this.offline = true;
    } else {
      this.#noted(outcome.error);
      this.refreshError = outcome.error;
      if (manual) announcer.say(`Refresh failed: ${outcome.error.message}`);
    }
    await this.load();
    if (outcome.ok && manual) announcer.say(`Refreshed. ${dashboardSummary(this.connections)}.`);
  }

  /** Moneyhub answered (this refresh or the core's own). */
  refreshed() {
    const wasOffline = this.offline;
    this.offline = false;
    // "Can't reach Moneyhub" on a card is not true any more.
    const reachable = Object.entries(this.notices).filter(([, n]) => n?.error?.code !== 'offline');
    if (reachable.length !== Object.keys(this.notices).length) this.notices = Object.fromEntries(reachable);
    this.refreshError = undefined;
    this.progress = {};
    void session.loadOverview();
    if (wasOffline) announcer.say('Moneyhub is reachable again.');
  }

  async syncNow(view: ConnectionView) {
    const { id, name } = view.connection;
    this.tell(id, undefined);
    this.busy = { ...this.busy, [id]: 'sync' };
    const outcome = await ipc.syncNow(id);
    this.busy = { ...this.busy, [id]: undefined };
    if (outcome.ok) {
      // The card says it is syncing until Moneyhub finishes; then the result is its notice.
      announcer.say(`Sync started for ${name}. The card shows the result when Moneyhub is done.`);
    } else {
      this.#noted(outcome.error);
      // The limits can change between loading the page and clicking; the reload shows the
      // real time it is allowed.
      this.tell(
        id,
        outcome.error.code === 'sync_not_yet'
          ? { tone: 'warning', text: outcome.error.message }
          : { tone: 'error', text: 'Could not sync.', error: outcome.error },
      );
    }
    await this.load();
  }

  async syncWhenAllowed(view: ConnectionView) {
    const { id, name } = view.connection;
    this.tell(id, undefined);
    this.busy = { ...this.busy, [id]: 'queue' };
    const outcome = await ipc.syncWhenAllowed(id);
    this.busy = { ...this.busy, [id]: undefined };
    if (outcome.ok) {
      announcer.say(
        outcome.value
          ? `${name} will sync at ${formatUpcoming(outcome.value, clock.now)}.`
          : `Sync requested for ${name}.`,
      );
    } else {
      this.#noted(outcome.error);
      this.tell(id, { tone: 'error', text: 'Could not queue a sync.', error: outcome.error });
    }
    await this.load();
  }

  /** A sync Moneyhub ran in the background finished: its card says how it went. */
  syncFinished(connectionId: string, text: string, failed: boolean) {
    this.tell(connectionId, { tone: failed ? 'warning' : 'info', text: `${text}.` });
  }

  async removeConnection(view: ConnectionView): Promise<Outcome<unknown>> {
    const { id } = view.connection;
    this.busy = { ...this.busy, [id]: 'remove' };
    const outcome = await ipc.removeConnection(id);
    this.busy = { ...this.busy, [id]: undefined };
    if (outcome.ok) {
      this.tell(id, undefined);
      this.receipt = outcome.value;
      announcer.say(removalText(this.receipt));
      navigate('dashboard');
      await this.load();
    } else {
      this.#noted(outcome.error);
    }
    return outcome;
  }
}

export const dashboard = new Dashboard();
