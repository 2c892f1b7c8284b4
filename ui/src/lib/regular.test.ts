import { describe, expect, it } from 'vitest';
import { amountText, byDirectionThenDate, frequencyLabel, nextText } from './regular';

describe('regular payments', () => {
  it('says how often in words, keeping a frequency it does not know', () => {
    expect(frequencyLabel('monthly')).toBe('Every month');
    expect(frequencyLabel('fortnightly')).toBe('Every two weeks');
    expect(frequencyLabel('biannually')).toBe('Biannually');
  });

  it('gives the next date with its window', () => {
    const next = { predictedDate: '2026-12-03', predictedEarliest: '2026-12-01', predictedLatest: '2026-12-05' };
    expect(nextText(next)).toBe('Next expected 3 Dec, between 1 Dec and 5 Dec');
    expect(nextText({ ...next, predictedEarliest: null })).toBe('Next expected 3 Dec');
  });

  it('gives one amount, or the predicted range smaller first', () => {
    const rent = { amountMinor: -95000, amountLowerMinor: -95000, amountUpperMinor: -95000, currency: 'GBP' };
    expect(amountText(rent)).toBe('-£950.00');
    expect(amountText({ ...rent, amountLowerMinor: -1299, amountUpperMinor: -1099, amountMinor: -1099 })).toBe(
      '-£10.99 to -£12.99',
    );
    expect(amountText({ ...rent, amountLowerMinor: null })).toBe('-£950.00');
  });

  it('lists money in first, then payments, soonest first', () => {
    const sorted = byDirectionThenDate([
      { kind: 'payment', predictedDate: '2026-12-05' },
      { kind: 'payment', predictedDate: '2026-12-01' },
      { kind: 'income', predictedDate: '2026-12-28' },
    ]);
    expect(sorted.map((s) => s.predictedDate)).toEqual(['2026-12-28', '2026-12-01', '2026-12-05']);
  });
});
