// The journal speaks in the core's event names; people read these labels instead.

import type { JournalEntry_Serialize } from '../ipc';
import { formatDayTime, plural } from './format';

const labels: Record<string, string> = {
  authorization_started: 'Went to the bank',
  authorization_failed: 'Bank authorisation failed',
  added: 'Connection added',
  reauth_completed: 'Reauthenticated',
  reauthed: 'Bank gave the connection a new identity',
  reconsented: 'Consent renewed',
  refreshed: 'Refreshed at the bank',
  sync_requested: 'Sync requested',
  sync_throttled: 'Sync not allowed yet',
  sync_queued: 'Sync queued',
  removed: 'Connection removed',
  reminder_due: 'Consent reminder',
  attention_needed: 'Needed your attention',
};

export const knownJournalEvents = Object.keys(labels);

export function journalEventLabel(event: string): string {
  const known = labels[event];
  if (known) return known;
  // Events only ever get added; an unknown one still reads as words rather than snake_case.
  const words = event.replace(/[_-]+/g, ' ').trim();
  return words ? words.charAt(0).toUpperCase() + words.slice(1) : 'Event';
}

const purposes: Record<string, string> = {
  addConnection: 'to add a connection',
  reauth: 'to reauthenticate',
  reconsent: 'to renew consent',
  refresh: 'to refresh',
};

export function purposeText(purpose: string): string {
  return purposes[purpose] ?? purpose;
}

function field(details: unknown, name: string): unknown {
  return typeof details === 'object' && details !== null
    ? (details as Record<string, unknown>)[name]
    : undefined;
}

function text(value: unknown): string | undefined {
  return typeof value === 'string' && value.trim() ? value : undefined;
}

function count(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isFinite(value) ? value : undefined;
}

/** The event's details as a sentence, or '' when there is nothing to add. */
export function journalDetailText(entry: Pick<JournalEntry_Serialize, 'event' | 'details'>): string {
  const { details } = entry;
  switch (entry.event) {
    case 'authorization_started': {
      const purpose = text(field(details, 'purpose'));
      return purpose ? `Opened the bank’s page ${purposeText(purpose)}` : '';
    }
    case 'authorization_failed':
      return text(field(details, 'error')) ?? '';
    case 'sync_throttled': {
      const until = text(field(details, 'until'));
      return until ? `Allowed again from ${formatDayTime(until)}` : '';
    }
    case 'sync_queued': {
      const at = text(field(details, 'at'));
      return at ? `Will run at ${formatDayTime(at)}` : '';
    }
    case 'sync_requested': {
      const status = text(field(details, 'status'));
      return status ? `Moneyhub answered: ${status}` : '';
    }
    case 'removed': {
      const accounts = count(field(details, 'accounts'));
      const transactions = count(field(details, 'transactions'));
      if (accounts === undefined && transactions === undefined) return '';
      return `${plural(accounts ?? 0, 'account')} and ${plural(transactions ?? 0, 'transaction')} deleted`;
    }
    case 'reauthed': {
      const previous = text(field(details, 'previousId'));
      return previous ? `Previously ${previous}` : '';
    }
    case 'reminder_due':
    case 'attention_needed':
      return text(field(details, 'text')) ?? '';
    default:
      break;
  }
  if (details === null || details === undefined) return '';
  if (typeof details === 'object' && Object.keys(details as object).length === 0) return '';
  return typeof details === 'string' ? details : JSON.stringify(details);
}

export function actorLabel(actor: JournalEntry_Serialize['actor']): string {
  return actor === 'user' ? 'You' : 'Automatically';
}

/** Newest first; `seq` breaks ties between entries written in the same second. */
export function newestFirst<T extends Pick<JournalEntry_Serialize, 'at' | 'seq'>>(entries: T[]): T[] {
  return [...entries].sort(
    (a, b) => Date.parse(b.at) - Date.parse(a.at) || (b.seq ?? 0) - (a.seq ?? 0),
  );
}
