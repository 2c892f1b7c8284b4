// Authorizations waiting for the bank to send the person back. The core owns their lifetime and
// says when one runs out (`authorizationExpired`); these only word and count down what it sent.

import type { AuthorizationPurpose, IpcError, PendingView } from '../ipc';
import { toMs, type Instant } from './format';

export function remainingMs(pending: Pick<PendingView, 'expiresAt'>, now: Instant): number {
  return toMs(pending.expiresAt) - toMs(now);
}

export function hasExpired(pending: Pick<PendingView, 'expiresAt'>, now: Instant): boolean {
  return remainingMs(pending, now) <= 0;
}

/** How long the core gives a request at the bank (it says when one runs out). */
export function lifetimeMs(pending: Pick<PendingView, 'startedAt' | 'expiresAt'>): number {
  return toMs(pending.expiresAt) - toMs(pending.startedAt);
}

const verbs: Record<AuthorizationPurpose, string> = {
  addConnection: 'Connecting',
  reauth: 'Reauthenticating',
  reconsent: 'Renewing consent for',
  refresh: 'Refreshing',
};

/** "Connecting Monzo", "Renewing consent for Barclaycard". */
export function pendingTitle(purpose: AuthorizationPurpose, subject: string | undefined): string {
  const verb = verbs[purpose];
  return `${verb} ${subject ?? (purpose === 'addConnection' ? 'a new bank' : 'your connection')}`;
}

/**
 * Whether a failed callback ended the requests still waiting at the bank. A link that matched
 * none of them (forged, replayed, or late) changed nothing, so they keep waiting and still get
 * their "timed out" notice; any other failure was one of them.
 */
export function failureEndsWaiting(error: Pick<IpcError, 'code'>): boolean {
  return error.code !== 'no_such_authorization' && !isDuplicateAnswer(error);
}

/** The same bank answer delivered again (a double click, two tabs): the first one counts, and
 * the second is not the person's problem, so nothing is shown for it. */
export function isDuplicateAnswer(error: Pick<IpcError, 'code'>): boolean {
  return error.code === 'already_handled';
}
