// The connections of the active profile and what the person does to them: refresh, sync, queue
// a sync, remove. Reads come from the core's store (instant, offline); the core's events say
// when to read again (see app.svelte.ts).

import { ipc, type ConnectionView, type IpcError, type Outcome } from '../ipc';
import { announcer } from './announcer.svelte';
import { clock } from './clock.svelte';
import { dashboardSummary, removalText, type Receipt } from './connections';
import { formatUpcoming } from './format';
import { syncResultText } from './journal';
import { navigate } from './router.svelte';
import { session } from './session.svelte';

export type { Receipt };

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
  notice = $state<Notice | null>(null);

  #seq = 0;
  #reloadTimer: ReturnType<typeof setTimeout> | undefined;

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

  async load() {
    const seq = ++this.#seq;
    const outcome = await ipc.dashboard();
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
    this.refreshError = undefined;
    this.progress = {};
    void session.loadOverview();
    if (wasOffline) announcer.say('Moneyhub is reachable again.');
  }

  async syncNow(view: ConnectionView) {
    const { id, name } = view.connection;
    this.notice = null;
    this.busy = { ...this.busy, [id]: 'sync' };
    const outcome = await ipc.syncNow(id);
    this.busy = { ...this.busy, [id]: undefined };
    if (outcome.ok) {
      this.notice = {
        tone: 'info',
        text: `Sync started for ${name}. Moneyhub is fetching from the bank; the card shows the result when it is done.`,
      };
      announcer.say(this.notice.text);
    } else {
      this.#noted(outcome.error);
      // The limits can change between loading the page and clicking; the reload shows the
      // real time it is allowed.
      this.notice =
        outcome.error.code === 'sync_not_yet'
          ? { tone: 'warning', text: `${name}: ${outcome.error.message}` }
          : { tone: 'error', text: `Could not sync ${name}.`, error: outcome.error };
      announcer.say(`${this.notice.text} ${this.notice.error?.message ?? ''}`);
    }
    await this.load();
  }

  async syncWhenAllowed(view: ConnectionView) {
    const { id, name } = view.connection;
    this.notice = null;
    this.busy = { ...this.busy, [id]: 'queue' };
    const outcome = await ipc.syncWhenAllowed(id);
    this.busy = { ...this.busy, [id]: undefined };
    if (outcome.ok) {
      if (outcome.value) {
        announcer.say(`${name} will sync at ${formatUpcoming(outcome.value, clock.now)}.`);
      } else {
        this.notice = { tone: 'info', text: `Sync requested for ${name}.` };
        announcer.say(this.notice.text);
      }
    } else {
      this.#noted(outcome.error);
      this.notice = { tone: 'error', text: `Could not queue a sync for ${name}.`, error: outcome.error };
      announcer.say(`${this.notice.text} ${outcome.error.message}`);
    }
    await this.load();
  }

  /** A sync Moneyhub ran in the background finished: say how it went. */
  syncFinished(connectionId: string, fetchStatus: string | null, newTransactions: number) {
    const name = this.nameOf(connectionId) ?? 'A connection';
    const failed = fetchStatus !== 'success' && fetchStatus !== 'partial';
    this.notice = {
      tone: failed ? 'warning' : 'info',
      text: `${name}: ${syncResultText(fetchStatus, newTransactions)}.`,
    };
    announcer.say(this.notice.text);
  }

  async removeConnection(view: ConnectionView): Promise<Outcome<unknown>> {
    const { id, name } = view.connection;
    this.busy = { ...this.busy, [id]: 'remove' };
    const outcome = await ipc.removeConnection(id);
    this.busy = { ...this.busy, [id]: undefined };
    if (outcome.ok) {
      this.notice = null;
      this.receipt = { name, ...outcome.value };
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
