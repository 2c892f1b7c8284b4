// Trips to the bank: the authorizations waiting for their callback, the ones that ran out, and
// how the last one ended. The core owns their lifetime and says when one finished, failed or
// expired (see app.svelte.ts); this keeps what the person should be told.

import {
  ipc,
  type AuthorizationPurpose,
  type AuthorizationRequest,
  type Changes,
  type IpcError,
  type Outcome,
  type PendingView,
} from '../ipc';
import { announcer } from './announcer.svelte';
import { dashboard } from './dashboard.svelte';
import { explain } from './errors';
import { formatDuration } from './format';
import { failureEndsWaiting, isDuplicateAnswer, lifetimeMs, remainingMs } from './pending';
import { navigate, useRouter } from './router.svelte';
import { session } from './session.svelte';

export type Finished = {
  connectionId: string;
  previousConnectionId: string | null;
  purpose: AuthorizationPurpose;
  /** What it changed on a connection already here. */
  changes?: Changes | null;
  /** How it ended, in the core's words. */
  outcome: string;
};

class Authorizations {
  pending = $state<PendingView[]>([]);
  timedOut = $state<PendingView[]>([]);
  finished = $state<Finished | null>(null);
  error = $state<IpcError | null>(null);
  /** Names of banks the person picked, to name a pending new connection. */
  bankNames = $state<Partial<Record<string, string>>>({});

  #settled = new Set<string>();
  /** Pending requests whose countdown reached zero and that the core was asked about once. */
  #askedAboutExpiry = new Set<string>();
  #seq = 0;

  /** Forget everything (a switch of profile or environment). */
  reset() {
    this.pending = [];
    this.timedOut = [];
    this.clearOutcome();
  }

  /** The last trip's outcome stops being news. */
  clearOutcome() {
    this.finished = null;
    this.error = null;
  }

  async load() {
    const seq = ++this.#seq;
    const outcome = await ipc.pendingAuthorizations();
    if (seq !== this.#seq || !outcome.ok) return;
    this.pending = outcome.value;
  }

  /** From the app's timer: a countdown that reached zero asks the core once. */
  checkCountdowns(now: number) {
    const ranOut = this.pending.filter(
      (p) => remainingMs(p, now) <= 0 && !this.#askedAboutExpiry.has(p.state),
    );
    if (ranOut.length === 0) return;
    for (const p of ranOut) this.#askedAboutExpiry.add(p.state);
    void this.load();
  }

  async begin(request: AuthorizationRequest, subject: string): Promise<Outcome<null>> {
    this.clearOutcome();
    dashboard.receipt = null;
    const connectionId = request.kind === 'addConnection' ? undefined : request.connectionId;
    if (connectionId) dashboard.tell(connectionId, undefined);
    if (connectionId) dashboard.busy = { ...dashboard.busy, [connectionId]: 'authorize' };
    if (request.kind === 'addConnection') {
      this.bankNames = { ...this.bankNames, [request.bankId]: subject };
    }
    const outcome = await ipc.beginAuthorization(request);
    if (connectionId) dashboard.busy = { ...dashboard.busy, [connectionId]: undefined };
    if (outcome.ok) {
      announcer.say(
        `Opened ${subject} in your browser. Finish there; Banklinks continues when your bank sends you back.`,
      );
      await this.load();
    } else {
      session.noted(outcome.error);
      if (outcome.error.code === 'offline') dashboard.offline = true;
      this.error = outcome.error;
      announcer.say(`${explain(outcome.error).title}. ${outcome.error.message}`);
    }
    return outcome;
  }

  async cancel(state: string) {
    this.#settled.add(state);
    const outcome = await ipc.cancelAuthorization(state);
    if (outcome.ok) announcer.say('Cancelled. Nothing was changed.');
    else this.error = outcome.error;
    await this.load();
  }

  /** Only the notice goes: the core already dropped the request when it expired it. */
  dismissTimedOut(state: string) {
    this.#settled.add(state);
    this.timedOut = this.timedOut.filter((p) => p.state !== state);
  }

  /** The core said a request at the bank ran out. */
  expired(state: string) {
    const expired = this.pending.find((p) => p.state === state);
    this.pending = this.pending.filter((p) => p.state !== state);
    if (!expired || this.#settled.has(state)) return;
    this.timedOut = [...this.timedOut.filter((p) => p.state !== state), expired];
    announcer.say(
      `Your bank did not send you back within ${formatDuration(lifetimeMs(expired))}, so that request timed out.`,
    );
  }

  failed(error: IpcError) {
    if (isDuplicateAnswer(error)) return;
    this.finished = null;
    this.error = error;
    if (failureEndsWaiting(error)) for (const p of this.pending) this.#settled.add(p.state);
    announcer.say(`${explain(error).title}. ${error.message}`);
    void this.load();
  }

  succeeded(finished: Finished) {
    const { connectionId, previousConnectionId, purpose } = finished;
    const key = previousConnectionId ?? connectionId;
    const match =
      this.pending.find((p) => p.connectionId === key || p.connectionId === connectionId) ??
      this.pending.find((p) => p.purpose === purpose);
    if (match) this.#settled.add(match.state);
    const renamed = previousConnectionId !== null && previousConnectionId !== connectionId;
    if (renamed) dashboard.renamed = { ...dashboard.renamed, [previousConnectionId]: connectionId };
    this.finished = finished;
    this.error = null;
    announcer.say(
      renamed
        ? 'Your bank sent you back. The connection has a new identity; its history was kept.'
        : 'Your bank sent you back and the connection is done.',
    );
    void this.load();
    void dashboard.load();
    // If the page on screen is the connection that was just renamed, follow it to its new id.
    const router = useRouter();
    if (renamed && router.current.name === 'connection' && router.current.id === previousConnectionId) {
      navigate({ name: 'connection', id: connectionId });
    }
  }
}

export const authorizations = new Authorizations();
