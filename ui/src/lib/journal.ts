// The journal speaks in the core's event names; people read these labels instead.

import type { AuthorizationPurpose, JournalEntry, JournalEvent } from '../ipc';
import { changesText } from './connections';
import { formatDayTime, plural } from './format';

export type JournalKind = JournalEvent['kind'];

/** One label per kind the core writes: a new kind fails to compile until it has one. */
const labels: Record<JournalKind, string> = {
  authorization_started: 'Went to the bank',
  authorization_failed: 'Bank authorisation failed',
  authorization_expired: 'Bank authorisation timed out',
  added: 'Connection added',
  reauth_completed: 'Reauthenticated',
  reauthed: 'Bank gave the connection a new identity',
  reconsented: 'Consent renewed',
  refreshed: 'Refreshed at the bank',
  sync_requested: 'Sync requested',
  sync_finished: 'Sync finished',
  removed_at_moneyhub: 'Removed at Moneyhub',
  accounts_gone: 'Accounts no longer shared',
  sync_throttled: 'Sync not allowed yet',
  sync_queued: 'Sync queued',
  sync_unqueued: 'Queued sync dropped',
  removed: 'Connection removed',
  reminder_due: 'Consent reminder',
  attention_needed: 'Needed your attention',
  changed: 'What changed',
  unknown: 'Something from a newer Banklinks',
};

export const knownJournalEvents = Object.keys(labels) as JournalKind[];

export function journalEventLabel(kind: JournalKind): string {
  return labels[kind];
}

const purposes: Record<AuthorizationPurpose, string> = {
  addConnection: 'to add a connection',
  reauth: 'to reauthenticate',
  reconsent: 'to renew consent',
  refresh: 'to refresh',
};

export function purposeText(purpose: AuthorizationPurpose): string {
  return purposes[purpose];
}

/** The event's details as a sentence, or '' when there is nothing to add. */
export function journalDetailText(entry: Pick<JournalEntry, 'event'> & Partial<Pick<JournalEntry, 'outcome'>>): string {
  const event = entry.event;
  switch (event.kind) {
    case 'authorization_started':
    case 'authorization_expired':
      return event.purpose
        ? event.kind === 'authorization_started'
          ? `Opened the bank’s page ${purposeText(event.purpose)}`
          : `The bank did not send you back in time ${purposeText(event.purpose)}`
        : '';
    case 'authorization_failed':
      return event.error;
    case 'sync_throttled':
      return event.until ? `Allowed again from ${formatDayTime(event.until)}` : '';
    case 'sync_queued':
      return event.at ? `Will run at ${formatDayTime(event.at)}` : '';
    case 'sync_unqueued':
      return event.why ? `Dropped: ${event.why}` : '';
    case 'sync_requested':
      return event.status ? `Moneyhub answered: ${event.status}` : '';
    case 'sync_finished':
      return entry.outcome ?? '';
    case 'accounts_gone':
      return `No longer shared by the bank: ${(event.names ?? []).join(', ')} (kept here as history)`;
    case 'removed_at_moneyhub':
      return 'Moneyhub no longer has it (deleted outside Banklinks); kept here as history';
    case 'removed':
      return `${plural(event.accounts ?? 0, 'account')} and ${plural(event.transactions ?? 0, 'transaction')} deleted`;
    case 'reauthed':
      return event.previousId ? `Previously ${event.previousId}` : '';
    case 'reminder_due':
    case 'attention_needed':
      return event.text;
    case 'changed':
      return changesText(event).join(' ');
    case 'added':
    case 'reauth_completed':
    case 'reconsented':
    case 'refreshed':
    case 'unknown':
      return '';
  }
}

export function actorLabel(actor: JournalEntry['actor']): string {
  return actor === 'user' ? 'You' : 'Automatically';
}

/** Newest first; `seq` breaks ties between entries written in the same second. */
export function newestFirst<T extends Pick<JournalEntry, 'at' | 'seq'>>(entries: T[]): T[] {
  return [...entries].sort(
    (a, b) => Date.parse(b.at) - Date.parse(a.at) || (b.seq ?? 0) - (a.seq ?? 0),
  );
}
