import { describe, expect, it } from 'vitest';
import { actorLabel, journalDetailText, journalEventLabel, knownJournalEvents, newestFirst } from './journal';

describe('journalEventLabel', () => {
  it('gives every kind the core writes a human label', () => {
    for (const kind of knownJournalEvents) {
      expect(journalEventLabel(kind)).not.toMatch(/_/);
      expect(journalEventLabel(kind).length).toBeGreaterThan(3);
    }
    expect(knownJournalEvents).toContain('sync_unqueued');
    expect(journalEventLabel('reconsented')).toBe('Consent renewed');
    expect(journalEventLabel('sync_throttled')).toBe('Sync not allowed yet');
  });
});

describe('journalDetailText', () => {
  it('explains the details of each event', () => {
    expect(journalDetailText({ event: { kind: 'removed', accounts: 2, transactions: 340 } })).toBe(
      '2 accounts and 340 transactions deleted',
    );
    expect(journalDetailText({ event: { kind: 'sync_throttled', until: '2025-11-21T14:05:00Z' } })).toBe(
      'Allowed again from 21 Nov 14:05',
    );
    expect(journalDetailText({ event: { kind: 'authorization_started', purpose: 'reconsent' } })).toBe(
      'Opened the bank’s page to renew consent',
    );
    expect(journalDetailText({ event: { kind: 'reminder_due', key: 'k', text: 'Consent ends in 7 days' } })).toBe(
      'Consent ends in 7 days',
    );
  });

  it('shows nothing when there is nothing to add', () => {
    expect(journalDetailText({ event: { kind: 'added' } })).toBe('');
    expect(journalDetailText({ event: { kind: 'unknown' } })).toBe('');
    expect(journalDetailText({ event: { kind: 'sync_queued', at: null } })).toBe('');
  });

  it('names the actor', () => {
    expect(actorLabel('user')).toBe('You');
    expect(actorLabel('automatic')).toBe('Automatically');
  });

  it('sorts newest first', () => {
    const sorted = newestFirst([
      { at: '2025-11-20T10:00:00Z', seq: 1 },
      { at: '2025-11-21T10:00:00Z', seq: 2 },
      { at: '2025-11-21T10:00:00Z', seq: 3 },
    ]);
    expect(sorted.map((e) => e.seq)).toEqual([3, 2, 1]);
  });
});
