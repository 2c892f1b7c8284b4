// Where the UI listens. The core's events are the one source of change: each is routed to the
// store it concerns (session, dashboard, authorizations). The one timer moves relative-time
// labels and asks the core again only when one of its answers is due to change by itself (a
// wait running out, a request at the bank expiring). Nothing polls.

import { events, type FlowEvent, type Outcome } from '../ipc';
import { announcer } from './announcer.svelte';
import { authorizations } from './authorizations.svelte';
import { clock } from './clock.svelte';
import { nextChange } from './connections';
import { dashboard } from './dashboard.svelte';
import { icons } from './icons.svelte';
import { afterFirstPaint, markStartup } from './firstPaint';
import { navigate } from './router.svelte';
import { failureEndsWaiting } from './pending';
import { renewals } from './renewals.svelte';
import { session } from './session.svelte';

class App {
  #started = false;
  #switching = false;
  #lastChangeAsked: number | null = null;
  /** The profile whose connections are on screen. */
  #shownProfile: string | null = null;
  /** Counts reloads, so work one of them defers (until the first paint) is dropped by a later one. */
  #reloads = 0;

  async start() {
    if (this.#started) return;
    this.#started = true;
    this.#listen();
    setInterval(() => this.#tick(), 1_000);
    await this.reload();
  }

  /** Everything again, after start or a change of profile or environment: the store first
   * (instant, offline), then Moneyhub in the background. */
  async reload() {
    dashboard.reset();
    session.noProfile = false;
    await session.loadOverview();
    markStartup('overview read');
    this.#shownProfile = session.overview?.activeProfile ?? null;
    // Icons are read beside the cards, never before them: the first paint waits for the store
    // alone.
    const iconsRead = icons.load();
    if (!session.hasProfile) return;
    await dashboard.load();
    void authorizations.load();
    // Moneyhub (the refresh, and the bank list for missing icons) only once the cards are
    // painted: on two cores they would otherwise compete with the paint.
    const reload = ++this.#reloads;
    void afterFirstPaint().then(async () => {
      // A later reload (another profile, say) has its own.
      if (reload !== this.#reloads) return;
      await iconsRead;
      void icons.fillIn(dashboard.connections.map((c) => c.connection.id));
      void dashboard.refresh();
    });
  }

  /** Runs a change of who or where, then shows the new world. */
  async switchTo<T>(run: () => Promise<Outcome<T>>, done: string): Promise<Outcome<T>> {
    this.#switching = true;
    try {
      const outcome = await run();
      if (outcome.ok) {
        authorizations.reset();
        dashboard.clearNews();
        await this.reload();
        announcer.say(done);
      }
      return outcome;
    } finally {
      this.#switching = false;
    }
  }

  /** The overview changed in the core (a Demo time jump, the bank server going off or on line,
   * a reset): read it, and show the new user's connections if the user changed under us. */
  async overviewChanged() {
    await session.loadOverview();
    // A switch the person made reloads everything itself when it is done.
    if (this.#switching) return;
    // What the banners said was about the moment before (a time jump moves days on; the bank
    // server coming back ends "can't reach"): it is over.
    dashboard.clearNews();
    authorizations.clearOutcome();
    if ((session.overview?.activeProfile ?? null) !== this.#shownProfile) {
      authorizations.reset();
      await this.reload();
      return;
    }
    if (session.hasProfile) {
      await dashboard.load();
      void authorizations.load();
      // Back online, say so at once rather than at the next background refresh.
      if (dashboard.offline) void dashboard.refresh();
    }
  }

  #tick() {
    clock.advance();
    const change = nextChange(dashboard.connections);
    if (change !== null && change <= clock.now && this.#lastChangeAsked !== change) {
      this.#lastChangeAsked = change;
      dashboard.scheduleReload();
    }
    authorizations.checkCountdowns(clock.now);
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
        const { connectionId, previousConnectionId, purpose, changes, outcome } = event.payload;
        authorizations.succeeded({ connectionId, previousConnectionId: previousConnectionId ?? null, purpose, changes, outcome });
        if (purpose === 'reconsent') void renewals.tripFinished();
      }),
    );
    subscribe(() =>
      events.authorizationFailed.listen((event) => {
        authorizations.failed(event.payload.error);
        // The core has settled the batch (only when the failed trip was its own); a forged or
        // replayed link ends no trip.
        if (failureEndsWaiting(event.payload.error)) void renewals.tripEnded();
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
      case 'overviewChanged':
        void this.overviewChanged();
        break;
      case 'historyProgress': {
        const before = dashboard.progress[event.connectionId];
        // Two fetches of one connection can overlap: the count shown never goes down.
        dashboard.progress = {
          ...dashboard.progress,
          [event.connectionId]: Math.max(before ?? 0, event.transactions),
        };
        // Its accounts are saved before the first page: show them on its card now.
        if (before === undefined) dashboard.scheduleReload();
        break;
      }
      case 'connectionsRefreshed':
        dashboard.refreshed();
        if (authorizations.error?.code === 'offline') authorizations.error = null;
        dashboard.scheduleReload();
        break;
      case 'connected':
        if (event.previousConnectionId && event.previousConnectionId !== event.connectionId) {
          dashboard.renamed = { ...dashboard.renamed, [event.previousConnectionId]: event.connectionId };
        }
        dashboard.scheduleReload();
        void authorizations.load();
        break;
      case 'syncRequested':
      case 'syncQueueChanged':
        dashboard.scheduleReload();
        break;
      case 'syncFinished':
        dashboard.syncFinished(event.connectionId, event.text, event.failed);
        dashboard.scheduleReload();
        break;
      case 'authorizationExpired': {
        authorizations.expired(event.state);
        void renewals.tripEnded();
        break;
      }
      case 'connectionRemoved':
        // The last trip to the bank is old news once a connection is gone.
        authorizations.clearOutcome();
        dashboard.scheduleReload();
        break;
    }
  }
}

export const app = new App();

