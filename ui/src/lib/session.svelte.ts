// The app's shared state: who and where we are, the connections, authorizations in flight, and
// what just happened. One place subscribes to the core's events and owns the timers, so every
// page shows the same picture and nothing polls twice.

import {
  events,
  ipc,
  type AuthorizationPurpose,
  type AuthorizationRequest,
  type ConnectionView,
  type EnvironmentSettings,
  type FlowEvent,
  type IpcError,
  type Outcome,
  type Overview,
  type PendingView,
} from '../ipc';
import { announcer } from './announcer.svelte';
import { dashboardSummary, nextChange, removalText, type Receipt } from './connections';
import { explain } from './errors';
import { formatDuration, formatUpcoming } from './format';
import { lifetimeMs, remainingMs } from './pending';
import { navigate, useRouter } from './router.svelte';

export type Finished = {
  connectionId: string;
  previousConnectionId: string | null;
  purpose: AuthorizationPurpose;
};

export type { Receipt };

export type Notice = { tone: 'info' | 'warning' | 'error'; text: string; error?: IpcError };

type Busy = 'sync' | 'queue' | 'authorize' | 'remove';

const OVERVIEW_EVERY = 5_000;
const DASHBOARD_EVERY = 30_000;

class Session {
  overview = $state<Overview | undefined>();
  overviewError = $state<IpcError | undefined>();
  /** A call said there is no profile even if the overview has not caught up yet. */
  noProfile = $state(false);

  connections = $state<ConnectionView[]>([]);
  dashboardLoaded = $state(false);
  dashboardError = $state<IpcError | undefined>();
  /** Goes up whenever the connections were reloaded, so open pages can reload their details. */
  version = $state(0);

  pending = $state<PendingView[]>([]);
  timedOut = $state<PendingView[]>([]);
  /** Transactions saved so far, per connection, while a refresh fetches history. */
  progress = $state<Partial<Record<string, number>>>({});
  busy = $state<Partial<Record<string, Busy>>>({});
  /** Old connection id → new one, when a reauth gave a connection a new identity. */
  renamed = $state<Partial<Record<string, string>>>({});

  refreshing = $state(false);
  /** The core keeps when the profile last heard from Moneyhub; this mirrors the overview's. */
  lastRefresh = $state<string | null>(null);
  offline = $state(false);
  refreshError = $state<IpcError | undefined>();

  finished = $state<Finished | null>(null);
  authError = $state<IpcError | null>(null);
  receipt = $state<Receipt | null>(null);
  notice = $state<Notice | null>(null);
  startupNoticeDismissed = $state(false);

  /** "Now" as the active environment sees it, ticking between overview loads. */
  now = $state(Date.now());
  #clockBase = { app: Date.now(), perf: 0 };

  /** Names of banks the person picked, to name a pending new connection. */
  bankNames = $state<Partial<Record<string, string>>>({});
  #settled = new Set<string>();
  /** Pending requests whose countdown reached zero and that the core was asked about once. */
  #askedAboutExpiry = new Set<string>();
  #started = false;
  #switching = false;
  #dashboardSeq = 0;
  #pendingSeq = 0;
  #reloadTimer: ReturnType<typeof setTimeout> | undefined;

  get hasProfile(): boolean {
    return !this.noProfile && !!this.overview?.activeProfile;
  }

  get isDemo(): boolean {
    return this.overview?.environment.kind === 'demo';
  }

  get profileName(): string | undefined {
    const id = this.overview?.activeProfile;
    return this.overview?.profiles.find((p) => p.id === id)?.name;
  }

  nameOf(connectionId: string | null | undefined): string | undefined {
    if (!connectionId) return undefined;
    const id = this.renamed[connectionId] ?? connectionId;
    return this.connections.find((c) => c.connection.id === id)?.connection.name;
  }

  async start() {
    if (this.#started) return;
    this.#started = true;
    this.#listen();
    this.#clockBase = { app: Date.now(), perf: performance.now() };
    setInterval(() => this.#tick(), 1_000);
    setInterval(() => void this.#everyFewSeconds(), OVERVIEW_EVERY);
    setInterval(() => {
      if (this.hasProfile) void this.loadDashboard();
    }, DASHBOARD_EVERY);
    await this.reload();
  }

  /** Everything again, after start or a change of profile or environment: the store first (instant,
   * offline), then Moneyhub in the background. */
  async reload() {
    this.connections = [];
    this.dashboardLoaded = false;
    this.dashboardError = undefined;
    this.progress = {};
    this.offline = false;
    this.refreshError = undefined;
    this.noProfile = false;
    await this.loadOverview();
    if (!this.hasProfile) return;
    await this.loadDashboard();
    void this.loadPending();
    void this.refresh();
  }

  async loadOverview() {
    const outcome = await ipc.appOverview();
    if (!outcome.ok) {
      if (outcome.error.code === 'no_profile') this.noProfile = true;
      else this.overviewError = outcome.error;
      return;
    }
    const switchedElsewhere =
      this.overview !== undefined && this.overview.activeProfile !== outcome.value.activeProfile;
    this.overview = outcome.value;
    this.overviewError = undefined;
    if (outcome.value.activeProfile) this.noProfile = false;
    this.setClock(outcome.value.now);
    this.lastRefresh = outcome.value.lastRefresh ?? null;
    // The user changed under us (a Demo reset, the bank server restarting): show theirs.
    if (switchedElsewhere && !this.#switching) {
      this.connections = [];
      this.dashboardLoaded = false;
      if (this.hasProfile) void this.loadDashboard();
    }
  }

  setClock(iso: string) {
    const app = Date.parse(iso);
    if (Number.isNaN(app)) return;
    this.#clockBase = { app, perf: performance.now() };
    this.now = app;
  }

  /** The one timer: it moves relative-time labels, and asks the core again when one of its
   * answers is due to change by itself (a wait running out, a request at the bank expiring). */
  #tick() {
    this.now = this.#clockBase.app + (performance.now() - this.#clockBase.perf);
    const change = nextChange(this.connections);
    if (change !== null && change <= this.now && this.#lastChangeAsked !== change) {
      this.#lastChangeAsked = change;
      this.scheduleReload();
    }
    const ranOut = this.pending.filter(
      (p) => remainingMs(p, this.now) <= 0 && !this.#askedAboutExpiry.has(p.state),
    );
    if (ranOut.length > 0) {
      for (const p of ranOut) this.#askedAboutExpiry.add(p.state);
      void this.loadPending();
    }
  }

  #lastChangeAsked: number | null = null;

  async #everyFewSeconds() {
    await this.loadOverview();
  }

  #noted(error: IpcError) {
    if (error.code === 'no_profile') this.noProfile = true;
    if (error.code === 'offline') this.offline = true;
  }

  async loadDashboard() {
    const seq = ++this.#dashboardSeq;
    const outcome = await ipc.dashboard();
    if (seq !== this.#dashboardSeq) return;
    if (outcome.ok) {
      // Say it when the picture changes under the person (a background poll, a reminder coming
      // due), not on every reload.
      const before = this.dashboardLoaded ? dashboardSummary(this.connections) : undefined;
      const after = dashboardSummary(outcome.value);
      if (before !== undefined && before !== after) announcer.say(`${after}.`);
      this.connections = outcome.value;
      this.dashboardLoaded = true;
      this.dashboardError = undefined;
      this.version += 1;
    } else {
      this.#noted(outcome.error);
      this.dashboardError = outcome.error;
    }
  }

  /** Bursts of events become one reload. */
  scheduleReload() {
    clearTimeout(this.#reloadTimer);
    this.#reloadTimer = setTimeout(() => void this.loadDashboard(), 150);
  }

  async loadPending() {
    const seq = ++this.#pendingSeq;
    const outcome = await ipc.pendingAuthorizations();
    if (seq !== this.#pendingSeq || !outcome.ok) return;
    this.pending = outcome.value;
  }

  /** The core said a request at the bank ran out. */
  #onExpired(state: string) {
    const expired = this.pending.find((p) => p.state === state);
    this.pending = this.pending.filter((p) => p.state !== state);
    if (!expired || this.#settled.has(state)) return;
    this.timedOut = [...this.timedOut.filter((p) => p.state !== state), expired];
    announcer.say(
      `Your bank did not send you back within ${formatDuration(lifetimeMs(expired))}, so that request timed out.`,
    );
  }

  async refresh(manual = false) {
    if (this.refreshing || !this.hasProfile) return;
    this.refreshing = true;
    this.refreshError = undefined;
    const outcome = await ipc.refresh();
    this.refreshing = false;
    this.progress = {};
    if (outcome.ok) {
      this.#refreshed();
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
    await this.loadDashboard();
    if (outcome.ok && manual) announcer.say(`Refreshed. ${dashboardSummary(this.connections)}.`);
  }

  #refreshed() {
    const wasOffline = this.offline;
    this.offline = false;
    this.refreshError = undefined;
    void this.loadOverview();
    if (wasOffline) announcer.say('Moneyhub is reachable again.');
  }

  #listen() {
    const subscribe = (start: () => Promise<unknown>) => {
      // Outside Tauri (a plain browser) there is nothing to listen to.
      try {
        void start().catch(() => undefined);
      } catch {
        /* not running in Tauri */
      }
    };
    subscribe(() => events.flowActivity.listen((event) => this.#onFlow(event.payload.event)));
    subscribe(() =>
      events.authorizationFinished.listen((event) => {
        const { connectionId, previousConnectionId, purpose } = event.payload;
        this.#onFinished(connectionId, previousConnectionId ?? null, purpose);
      }),
    );
    subscribe(() =>
      events.authorizationFailed.listen((event) => {
        this.finished = null;
        this.authError = event.payload.error;
        for (const p of this.pending) this.#settled.add(p.state);
        announcer.say(`${explain(event.payload.error).title}. ${event.payload.error.message}`);
        void this.loadPending();
      }),
    );
    subscribe(() =>
      events.openConnectionRequested.listen((event) => {
        navigate({ name: 'connection', id: event.payload.connectionId });
      }),
    );
  }

  #onFlow(event: FlowEvent) {
    switch (event.kind) {
      case 'historyProgress':
        this.progress = { ...this.progress, [event.connectionId]: event.transactions };
        break;
      case 'connectionsRefreshed':
        this.progress = {};
        this.#refreshed();
        this.scheduleReload();
        break;
      case 'connected':
        if (event.previousConnectionId && event.previousConnectionId !== event.connectionId) {
          this.renamed = { ...this.renamed, [event.previousConnectionId]: event.connectionId };
        }
        this.scheduleReload();
        void this.loadPending();
        break;
      case 'syncRequested':
      case 'syncQueueChanged':
        this.scheduleReload();
        break;
      case 'authorizationExpired':
        this.#onExpired(event.state);
        break;
      case 'connectionRemoved':
        this.scheduleReload();
        break;
    }
  }

  #onFinished(
    connectionId: string,
    previousConnectionId: string | null,
    purpose: AuthorizationPurpose,
  ) {
    const key = previousConnectionId ?? connectionId;
    const match =
      this.pending.find((p) => p.connectionId === key || p.connectionId === connectionId) ??
      this.pending.find((p) => p.purpose === purpose);
    if (match) this.#settled.add(match.state);
    if (previousConnectionId && previousConnectionId !== connectionId) {
      this.renamed = { ...this.renamed, [previousConnectionId]: connectionId };
    }
    this.finished = { connectionId, previousConnectionId, purpose };
    this.authError = null;
    announcer.say(
      previousConnectionId && previousConnectionId !== connectionId
        ? 'Your bank sent you back. The connection has a new identity; its history was kept.'
        : 'Your bank sent you back and the connection is done.',
    );
    void this.loadPending();
    void this.loadDashboard();
    // If the page on screen is the connection that was just renamed, follow it to its new id.
    const router = useRouter();
    if (
      previousConnectionId &&
      router.current.name === 'connection' &&
      router.current.id === previousConnectionId
    ) {
      navigate({ name: 'connection', id: connectionId });
    }
  }

  clearFlowNotices() {
    this.finished = null;
    this.authError = null;
    this.receipt = null;
    this.notice = null;
  }

  async beginAuthorization(request: AuthorizationRequest, subject: string): Promise<Outcome<null>> {
    this.clearFlowNotices();
    const connectionId = request.kind === 'addConnection' ? undefined : request.connectionId;
    if (connectionId) this.busy = { ...this.busy, [connectionId]: 'authorize' };
    if (request.kind === 'addConnection') {
      this.bankNames = { ...this.bankNames, [request.bankId]: subject };
    }
    const outcome = await ipc.beginAuthorization(request);
    if (connectionId) this.busy = { ...this.busy, [connectionId]: undefined };
    if (outcome.ok) {
      announcer.say(
        `Opened ${subject} in your browser. Finish there; Banklinks continues when your bank sends you back.`,
      );
      await this.loadPending();
    } else {
      this.#noted(outcome.error);
      this.authError = outcome.error;
      announcer.say(`${explain(outcome.error).title}. ${outcome.error.message}`);
    }
    return outcome;
  }

  async cancelAuthorization(state: string) {
    this.#settled.add(state);
    const outcome = await ipc.cancelAuthorization(state);
    if (outcome.ok) announcer.say('Cancelled. Nothing was changed.');
    else this.notice = { tone: 'error', text: 'Could not cancel.', error: outcome.error };
    await this.loadPending();
  }

  /** Only the notice goes: the core already dropped the request when it expired it. */
  dismissTimedOut(state: string) {
    this.#settled.add(state);
    this.timedOut = this.timedOut.filter((p) => p.state !== state);
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
        text: `Sync requested for ${name}. New data usually arrives within a few minutes.`,
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
    await this.loadDashboard();
  }

  async syncWhenAllowed(view: ConnectionView) {
    const { id, name } = view.connection;
    this.notice = null;
    this.busy = { ...this.busy, [id]: 'queue' };
    const outcome = await ipc.syncWhenAllowed(id);
    this.busy = { ...this.busy, [id]: undefined };
    if (outcome.ok) {
      if (outcome.value) {
        announcer.say(`${name} will sync at ${formatUpcoming(outcome.value, this.now)}.`);
      } else {
        this.notice = { tone: 'info', text: `Sync requested for ${name}.` };
        announcer.say(this.notice.text);
      }
    } else {
      this.#noted(outcome.error);
      this.notice = { tone: 'error', text: `Could not queue a sync for ${name}.`, error: outcome.error };
      announcer.say(`${this.notice.text} ${outcome.error.message}`);
    }
    await this.loadDashboard();
  }

  async removeConnection(view: ConnectionView): Promise<Outcome<unknown>> {
    const { id, name } = view.connection;
    this.busy = { ...this.busy, [id]: 'remove' };
    const outcome = await ipc.removeConnection(id);
    this.busy = { ...this.busy, [id]: undefined };
    if (outcome.ok) {
      this.clearFlowNotices();
      this.receipt = { name, ...outcome.value };
      announcer.say(removalText(this.receipt));
      navigate('dashboard');
      await this.loadDashboard();
    } else {
      this.#noted(outcome.error);
    }
    return outcome;
  }

  /** Runs a change of who or where, then shows the new world. */
  async #switch<T>(run: () => Promise<Outcome<T>>, done: string): Promise<Outcome<T>> {
    this.#switching = true;
    try {
      const outcome = await run();
      if (outcome.ok) {
        this.clearFlowNotices();
        this.pending = [];
        this.timedOut = [];
        await this.reload();
        announcer.say(done);
      }
      return outcome;
    } finally {
      this.#switching = false;
    }
  }

  usePersona(name: string) {
    return this.#switch(() => ipc.usePersona(name), `Loaded the ${name} demo.`);
  }

  createProfile(name: string, existingUserId: string | null) {
    return this.#switch(() => ipc.createProfile(name, existingUserId), `Created ${name}.`);
  }

  selectProfile(id: string) {
    return this.#switch(() => ipc.selectProfile(id), 'Switched user.');
  }

  activateEnvironment(id: string) {
    return this.#switch(() => ipc.activateEnvironment(id), 'Switched environment.');
  }

  saveEnvironment(settings: EnvironmentSettings, secret: string | null) {
    return this.#switch(
      () => ipc.saveEnvironment(settings, secret),
      `Saved and switched to ${settings.name}.`,
    );
  }

  removeEnvironment(id: string) {
    return this.#switch(() => ipc.removeEnvironment(id), 'Environment removed.');
  }

  /** After a Demo control: the clock moved or the world changed under us. */
  async afterDemoChange(clock?: string) {
    if (clock) this.setClock(clock);
    await this.loadOverview();
    if (this.hasProfile) {
      await this.loadDashboard();
      void this.loadPending();
    }
  }
}

export const session = new Session();
