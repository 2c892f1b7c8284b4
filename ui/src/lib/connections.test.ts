import { describe, expect, it } from 'vitest';
import type { ActionCheck, Fix, Health, Severity } from '../ipc';
import {
  bankInitial,
  changesText,
  dashboardSummary,
  fixEffect,
  fixLabel,
  historyProgressText,
  historySoFarText,
  kindLabels,
  nextChange,
  queueable,
  personaTitle,
  removalText,
  renewProgressText,
  sortByUrgency,
  syncAvailabilityText,
  syncButtonLabel,
} from './connections';

const now = '2025-11-21T13:42:00Z';

const check = (over: Partial<ActionCheck> = {}): ActionCheck => ({
  action: 'sync',
  allowed: true,
  availableAt: null,
  reason: null,
  leftToday: null,
  ...over,
});

describe('syncAvailabilityText', () => {
  it('says a sync is available now, with the daily allowance when capped', () => {
    expect(syncAvailabilityText(check(), now)).toBe('Sync available now');
    expect(syncAvailabilityText(check({ leftToday: 1 }), now, 4)).toBe(
      'Sync available now · 1 of 4 left today',
    );
    expect(syncAvailabilityText(check({ leftToday: 2 }), now)).toBe('Sync available now · 2 left today');
  });

  it('counts down the cooldown, and never says "now" while the core says wait', () => {
    const wait = check({
      allowed: false,
      availableAt: '2025-11-21T14:05:00Z',
      reason: { code: 'cooldown', minutes: 30 },
    });
    expect(syncAvailabilityText(wait, now)).toBe(
      'Sync available in 23 min (Banklinks keeps manual syncs 30 minutes apart, as Moneyhub’s connection guide asks)',
    );
    expect(syncAvailabilityText(wait, '2025-11-21T14:06:00Z')).toBe('Sync available in a moment');
    expect(queueable(wait)).toBe(true);
  });

  it('says why when a sync is refused for good, and offers no queue', () => {
    const ended = check({ allowed: false, reason: { code: 'consentEnded' } });
    expect(syncAvailabilityText(ended, now)).toMatch(/consent has ended/);
    expect(syncAvailabilityText(ended, now)).not.toMatch(/available now/);
    expect(queueable(ended)).toBe(false);
    expect(syncButtonLabel(ended, now)).toBe('Sync now');
  });

  it('explains the daily cap', () => {
    const capped = check({
      allowed: false,
      availableAt: '2025-11-22T00:00:00Z',
      reason: { code: 'dailyCap', cap: 4 },
    });
    expect(syncAvailabilityText(capped, now, 4)).toBe(
      'No syncs left today (4 a day at this bank) — available from 00:00',
    );
  });

  it('quotes Moneyhub’s own wait', () => {
    const asked = check({ allowed: false, availableAt: '2025-11-21T14:05:00Z', reason: { code: 'serverAsked' } });
    expect(syncAvailabilityText(asked, now)).toBe('Moneyhub asked us to wait until 14:05');
  });

  it('labels the sync button with the time it becomes possible', () => {
    expect(syncButtonLabel(check(), now)).toBe('Sync now');
    expect(
      syncButtonLabel(
        check({ allowed: false, availableAt: '2025-11-21T14:05:00Z', reason: { code: 'cooldown', minutes: 30 } }),
        now,
      ),
    ).toBe('Sync at 14:05');
    expect(
      syncButtonLabel(
        check({ allowed: false, availableAt: '2025-11-22T00:00:00Z', reason: { code: 'dailyCap', cap: 4 } }),
        now,
      ),
    ).toBe('Sync tomorrow at 00:00');
  });

  it('finds the soonest moment a check changes by itself', () => {
    const views = [
      { health: { actions: [check({ allowed: false, availableAt: '2025-11-21T14:05:00Z', reason: { code: 'serverAsked' } })] } },
      { health: { actions: [check()] } },
    ] as unknown as Parameters<typeof nextChange>[0];
    expect(nextChange(views)).toBe(Date.parse('2025-11-21T14:05:00Z'));
    // A consent's words turn at the person's midnight or at its end: read again then too.
    const turning = [...views, { health: { wordsChangeAt: '2025-11-21T14:00:00Z', actions: [] } }] as unknown as Parameters<
      typeof nextChange
    >[0];
    expect(nextChange(turning)).toBe(Date.parse('2025-11-21T14:00:00Z'));
    expect(nextChange([])).toBeNull();
  });
});

describe('fixes', () => {
  const cases: [Fix, string | null, ReturnType<typeof fixEffect>['type']][] = [
    [{ kind: 'reauth' }, 'Reauthenticate', 'authorize'],
    [{ kind: 'reconsent' }, 'Renew consent', 'authorize'],
    [{ kind: 'refresh' }, 'Refresh', 'authorize'],
    [{ kind: 'sync' }, 'Sync now', 'sync'],
    [{ kind: 'wait', until: '2025-11-21T14:05:00Z' }, 'Wait until 14:05', 'nothing'],
    [{ kind: 'wait', until: null }, 'Wait for the bank', 'nothing'],
    [{ kind: 'contactSupport' }, 'Contact support', 'support'],
    [{ kind: 'none' }, null, 'nothing'],
  ];

  it('takes the core’s label, and words a wait’s time in the person’s zone', () => {
    const mfa = { recommended: { kind: 'refresh' } as Fix, fixLabel: 'Answer your bank’s security question' };
    expect(fixLabel(mfa, now)).toBe('Answer your bank’s security question');
    const wait = { recommended: { kind: 'wait', until: '2025-11-21T14:05:00Z' } as Fix, fixLabel: 'Wait' };
    expect(fixLabel(wait, now)).toBe('Wait until 14:05');
    expect(fixLabel({ recommended: { kind: 'none' }, fixLabel: null }, now)).toBeNull();
  });

  it.each(cases)('%o is labelled %s and does %s', (fix, _label, effect) => {
    expect(fixEffect(fix).type).toBe(effect);
  });

  it('starts the right authorization', () => {
    expect(fixEffect({ kind: 'reconsent' })).toEqual({ type: 'authorize', kind: 'reconsent' });
  });
});

function health(severity: Severity): { health: Health } {
  return {
    health: {
      severity,
      headline: '',
      detail: '',
      recommended: { kind: 'none' },
      actions: [],
      fixLabel: null,
      consent: null,
      consentEnded: false,
      needsYou: severity === 'action' || severity === 'warning',
      failingSince: null,
      wordsChangeAt: null,
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
    expect(kindLabels.openBanking).toBe('Open banking');
    expect(kindLabels.screenScraping).toBe('Screen-scraping');
    expect(kindLabels.valuation).toBe('Valuation');
    expect(kindLabels.test).toBe('Test bank');
    expect(kindLabels.other).toBe('Other');
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
  it('gives the core’s receipt as it is', () => {
    const text = 'Removed Monzo: consent revoked, 2 accounts and 340 transactions deleted from Moneyhub and this device.';
    expect(removalText({ text })).toBe(text);
  });
});

describe('historySoFarText', () => {
  it('says how far the history goes so far, in days then months', () => {
    expect(historySoFarText(null, now)).toBe('No history yet');
    expect(historySoFarText('2025-11-01T12:00:00Z', now)).toBe('20 days of history so far');
    expect(historySoFarText('2025-08-21T12:00:00Z', now)).toBe('3 months of history so far');
  });
});

describe('history progress', () => {
  it('reads in transactions with the right plural, and without a count before the first page', () => {
    expect(historyProgressText(0)).toBe('Fetching history…');
    expect(historyProgressText(1)).toBe('Fetching history… 1 transaction so far');
    expect(historyProgressText(1234)).toBe('Fetching history… 1,234 transactions so far');
  });
});

describe('renewProgressText', () => {
  const batch = { queue: ['c', 'd'], current: 'b', renewed: ['a'], failed: [], stopping: false };
  it('counts the renewed out of all', () => {
    expect(renewProgressText(batch)).toBe('1 of 4 renewed');
  });
  it('says what failed and what a cancel left', () => {
    const stopped = {
      ...batch,
      current: null,
      failed: [{ connectionId: 'b', reason: 'refused' }],
      stopping: true,
    };
    expect(renewProgressText(stopped)).toBe('1 of 4 renewed, 1 not, 2 left for later');
  });
});

describe('changesText', () => {
  it('says each change in a sentence, the new identity in plain words', () => {
    expect(
      changesText({
        accountsAdded: ['Credit card'],
        accountsGone: ['Saver'],
        previousId: '1ffe:abc',
        consentUntil: '2027-03-01T12:00:00Z',
      }),
    ).toEqual([
      'Now shared: Credit card.',
      'No longer shared, kept here as history: Saver.',
      'The bank gave the connection a new identity; its history was kept.',
      'Consent now runs until 1 Mar 2027.',
    ]);
    expect(changesText({})).toEqual([]);
  });
});
