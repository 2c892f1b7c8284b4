import { describe, expect, it } from 'vitest';
import { actorLabel, journalDetailText, journalEventLabel, knownJournalEvents, newestFirst } from './journal';

describe('journalEventLabel', () => {
  it('gives every known event a human label', () => {
    for (const event of [
      'authorization_started',
      'authorization_failed',
      'added',
      'reauth_completed',
      'reauthed',
      'reconsented',
      'refreshed',
      'sync_requested',
      'sync_throttled',
      'sync_queued',
      'removed',
      'reminder_due',
      'attention_needed',
    ]) {
      expect(knownJournalEvents).toContain(event);
      expect(journalEventLabel(event)).not.toMatch(/_/);
    }
    expect(journalEventLabel('reconsented')).toBe('Consent renewed');
    expect(journalEventLabel('sync_throttled')).toBe('Sync not allowed yet');
  });

  it('turns unknown events into words', () => {
    expect(journalEventLabel('brand_new_thing')).toBe('Brand new thing');
  });
});

describe('journalDetailText', () => {
  it('explains the details of each event', () => {
    expect(journalDetailText({ event: 'removed', details: { accounts: 2, transactions: 340 } })).toBe(
      '2 accounts and 340 transactions deleted',
    );
    expect(journalDetailText({ event: 'sync_throttled', details: { until: '2025-11-21T14:05:00Z' } })).toBe(
      'Allowed again from 21 Nov 14:05',
    );
    expect(journalDetailText({ event: 'authorization_started', details: { purpose: 'reconsent' } })).toBe(
      'Opened the bank’s page to renew consent',
    );
    expect(journalDetailText({ event: 'reminder_due', details: { key: 'k', text: 'Consent ends in 7 days' } })).toBe(
      'Consent ends in 7 days',
    );
  });

  it('shows nothing for empty details and JSON for unknown ones', () => {
    expect(journalDetailText({ event: 'added', details: {} })).toBe('');
    expect(journalDetailText({ event: 'mystery', details: { a: 1 } })).toBe('{"a":1}');
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
