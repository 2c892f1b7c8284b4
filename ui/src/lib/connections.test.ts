import { describe, expect, it } from 'vitest';
import type { Fix_Serialize, Health_Serialize, Severity, SyncAllowance_Serialize } from '../ipc';
import {
  bankInitial,
  consentText,
  dashboardSummary,
  fixEffect,
  fixLabel,
  kindLabel,
  removalSummary,
  personaTitle,
  removalText,
  sortByUrgency,
  syncAvailabilityText,
  syncButtonLabel,
  syncReady,
} from './connections';

const now = '2025-11-21T13:42:00Z';

describe('syncAvailabilityText', () => {
  it('says a sync is available now, with the daily allowance when capped', () => {
    expect(syncAvailabilityText({ kind: 'now', left_today: null }, now)).toBe('Sync available now');
    expect(syncAvailabilityText({ kind: 'now', left_today: 1 }, now, 4)).toBe(
      'Sync available now · 1 of 4 left today',
    );
    expect(syncAvailabilityText({ kind: 'now', left_today: 2 }, now)).toBe(
      'Sync available now · 2 left today',
    );
  });

  it('counts down the cooldown', () => {
    const sync: SyncAllowance_Serialize = { kind: 'at', at: '2025-11-21T14:05:00Z', reason: 'cooldown' };
    expect(syncAvailabilityText(sync, now)).toBe('Sync available in 23 min');
    expect(syncAvailabilityText(sync, '2025-11-21T14:06:00Z')).toBe('Sync available now');
  });

  it('explains the daily cap', () => {
    const sync: SyncAllowance_Serialize = { kind: 'at', at: '2025-11-22T00:00:00Z', reason: 'dailyCap' };
    expect(syncAvailabilityText(sync, now, 4)).toBe('No syncs left today — available from 00:00');
  });

  it('quotes Moneyhub’s own wait', () => {
    const sync: SyncAllowance_Serialize = { kind: 'at', at: '2025-11-21T14:05:00Z', reason: 'serverAsked' };
    expect(syncAvailabilityText(sync, now)).toBe('Moneyhub asked us to wait until 14:05');
  });

  it('labels the sync button with the time it becomes possible', () => {
    expect(syncButtonLabel({ kind: 'now', left_today: null }, now)).toBe('Sync now');
    expect(syncButtonLabel({ kind: 'at', at: '2025-11-21T14:05:00Z', reason: 'cooldown' }, now)).toBe(
      'Sync at 14:05',
    );
    expect(syncButtonLabel({ kind: 'at', at: '2025-11-22T00:00:00Z', reason: 'dailyCap' }, now)).toBe(
      'Sync tomorrow at 00:00',
    );
  });

  it('treats a wait that has run out as ready', () => {
    const sync: SyncAllowance_Serialize = { kind: 'at', at: '2025-11-21T14:05:00Z', reason: 'cooldown' };
    expect(syncReady(sync, '2025-11-21T14:04:59Z')).toBe(false);
    expect(syncReady(sync, '2025-11-21T14:05:00Z')).toBe(true);
    expect(syncButtonLabel(sync, '2025-11-21T14:06:00Z')).toBe('Sync now');
    expect(syncReady({ kind: 'now', left_today: null }, now)).toBe(true);
  });
});

describe('fixes', () => {
  const cases: [Fix_Serialize, string | null, ReturnType<typeof fixEffect>['type']][] = [
    [{ kind: 'reauth' }, 'Reauthenticate', 'authorize'],
    [{ kind: 'reconsent' }, 'Renew consent', 'authorize'],
    [{ kind: 'refresh' }, 'Refresh', 'authorize'],
    [{ kind: 'sync' }, 'Sync now', 'sync'],
    [{ kind: 'wait', until: '2025-11-21T14:05:00Z' }, 'Wait until 14:05', 'nothing'],
    [{ kind: 'wait', until: null }, 'Wait for the bank', 'nothing'],
    [{ kind: 'contactSupport' }, 'Contact support', 'support'],
    [{ kind: 'none' }, null, 'nothing'],
  ];

  it.each(cases)('%o is labelled %s and does %s', (fix, label, effect) => {
    expect(fixLabel(fix, now)).toBe(label);
    expect(fixEffect(fix).type).toBe(effect);
  });

  it('starts the right authorization', () => {
    expect(fixEffect({ kind: 'reconsent' })).toEqual({ type: 'authorize', kind: 'reconsent' });
  });
});

function health(severity: Severity): { health: Health_Serialize } {
  return {
    health: {
      severity,
      headline: '',
      detail: '',
      recommended: { kind: 'none' },
      actions: [],
      consentDaysLeft: null,
      consentReminder: null,
    },
  };
}

describe('dashboardSummary', () => {
  it('says all are healthy when nothing needs attention', () => {
    expect(dashboardSummary(['ok', 'ok', 'info', 'ok'].map((s) => health(s as Severity)))).toBe(
      'All 4 connections are healthy',
    );
    expect(dashboardSummary([health('ok')])).toBe('Your connection is healthy');
  });

  it('counts those needing attention', () => {
    expect(dashboardSummary([health('action'), health('warning'), health('ok')])).toBe(
      '2 need your attention',
    );
    expect(dashboardSummary([health('action'), health('ok')])).toBe('1 needs your attention');
  });

  it('handles no connections', () => {
    expect(dashboardSummary([])).toBe('No connections yet');
  });
});

describe('ordering and labels', () => {
  it('puts the most urgent first, then by name', () => {
    const view = (name: string, severity: Severity) => ({
      ...health(severity),
      connection: { name } as never,
    });
    const sorted = sortByUrgency([view('B', 'ok'), view('A', 'ok'), view('Z', 'action'), view('C', 'warning')]);
    expect(sorted.map((v) => (v.connection as { name: string }).name)).toEqual(['Z', 'C', 'A', 'B']);
  });

  it('names connection kinds', () => {
    expect(kindLabel('api')).toBe('Open banking');
    expect(kindLabel('legacy')).toBe('Screen-scraping');
    expect(kindLabel('zoopla')).toBe('Valuation');
    expect(kindLabel('test')).toBe('Test bank');
  });

  it('words the consent countdown', () => {
    expect(consentText(12)).toBe('Consent ends in 12 days');
    expect(consentText(1)).toBe('Consent ends tomorrow');
    expect(consentText(0)).toBe('Consent ends today');
    expect(consentText(-3)).toBe('Consent ended 3 days ago');
  });

  it('titles personas', () => {
    expect(personaTitle('needs-attention')).toBe('Needs attention');
    expect(personaTitle('everyday')).toBe('Everyday');
  });

  it('finds a bank’s initial', () => {
    expect(bankInitial('monzo')).toBe('M');
    expect(bankInitial('  (Sandbox) Bank')).toBe('S');
    expect(bankInitial('')).toBe('?');
  });
});

describe('removal', () => {
  it('says exactly what will go', () => {
    expect(removalSummary('Monzo', 2, 1234)).toBe(
      'This revokes Banklinks’ consent at Monzo and deletes 2 accounts and 1,234 transactions from Moneyhub and this device.',
    );
  });

  it('gives a receipt', () => {
    expect(removalText({ name: 'Monzo', accounts: 2, transactions: 340 })).toBe(
      'Removed Monzo: consent revoked, 2 accounts and 340 transactions deleted from Moneyhub and this device.',
    );
    expect(removalText({ name: 'Monzo', accounts: null, transactions: null })).toMatch(/its data deleted/);
  });
});
