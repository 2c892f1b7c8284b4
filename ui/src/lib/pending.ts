// Authorizations waiting for the bank to send the person back. The core forgets one once it
// expires, so the UI notices the disappearance to say "timed out" instead of silently dropping it.

import type { PendingView_Serialize } from '../ipc';
import { toMs, type Instant } from './format';

export function remainingMs(pending: Pick<PendingView_Serialize, 'expiresAt'>, now: Instant): number {
  return toMs(pending.expiresAt) - toMs(now);
}

export function hasExpired(pending: Pick<PendingView_Serialize, 'expiresAt'>, now: Instant): boolean {
  return remainingMs(pending, now) <= 0;
}

/** Those that were waiting, are gone now, and had run out of time: they timed out rather than
 * finished or were cancelled (those leave with an event or a click the caller already knows). */
export function timedOut(
  before: PendingView_Serialize[],
  after: PendingView_Serialize[],
  now: Instant,
  settled: ReadonlySet<string> = new Set(),
): PendingView_Serialize[] {
  const still = new Set(after.map((p) => p.state));
  return before.filter((p) => !still.has(p.state) && !settled.has(p.state) && hasExpired(p, now));
}

const verbs: Record<string, string> = {
  addConnection: 'Connecting',
  reauth: 'Reauthenticating',
  reconsent: 'Renewing consent for',
  refresh: 'Refreshing',
};

/** "Connecting Monzo", "Renewing consent for Barclaycard". */
export function pendingTitle(purpose: string, subject: string | undefined): string {
  const verb = verbs[purpose] ?? 'Waiting for';
  return `${verb} ${subject ?? (purpose === 'addConnection' ? 'a new bank' : 'your connection')}`;
}
