import { describe, expect, it } from 'vitest';
import {
  accountTypeLabel,
  formatAt,
  formatClock,
  formatCountdown,
  formatDayTime,
  formatDuration,
  formatExact,
  formatMoney,
  formatRelative,
  formatUpcoming,
  plural,
} from './format';

describe('formatMoney', () => {
  it('formats pounds from pence', () => {
    expect(formatMoney(123456, 'GBP')).toBe('£1,234.56');
    expect(formatMoney(5, 'GBP')).toBe('£0.05');
    expect(formatMoney(0, 'GBP')).toBe('£0.00');
  });

  it('keeps the sign of negative amounts', () => {
    expect(formatMoney(-1234, 'GBP')).toBe('-£12.34');
    expect(formatMoney(-7, 'EUR')).toBe('-€0.07');
  });

  it('formats euros', () => {
    expect(formatMoney(99999, 'EUR')).toBe('€999.99');
  });

  it('is exact for amounts a float would round', () => {
    expect(formatMoney(900719925474099, 'GBP')).toBe('£9,007,199,254,740.99');
    expect(formatMoney(1005, 'GBP')).toBe('£10.05');
  });

  it('uses the currency’s own minor unit', () => {
    expect(formatMoney(1500, 'JPY')).toBe('JP¥1,500');
  });

  it('says when the amount is unknown and survives bad currency codes', () => {
    expect(formatMoney(null, 'GBP')).toBe('Unknown');
    expect(formatMoney(1234, 'not a currency')).toBe('12.34 not a currency');
  });
});

describe('formatRelative', () => {
  const now = Date.parse('2025-11-21T14:05:00Z');
  const ago = (ms: number) => new Date(now - ms).toISOString();

  it('says just now for the last moments', () => {
    expect(formatRelative(ago(10_000), now)).toBe('just now');
    expect(formatRelative(ago(-10_000), now)).toBe('just now');
  });

  it('counts minutes, hours and days', () => {
    expect(formatRelative(ago(23 * 60_000), now)).toBe('23 min ago');
    expect(formatRelative(ago(60_000), now)).toBe('1 min ago');
    expect(formatRelative(ago(5 * 3_600_000), now)).toBe('5 hours ago');
    expect(formatRelative(ago(3_600_000), now)).toBe('1 hour ago');
    expect(formatRelative(ago(3 * 86_400_000), now)).toBe('3 days ago');
    expect(formatRelative(ago(86_400_000), now)).toBe('1 day ago');
    expect(formatRelative(ago(90 * 86_400_000), now)).toBe('3 months ago');
    expect(formatRelative(ago(800 * 86_400_000), now)).toBe('2 years ago');
  });

  it('speaks of the future too', () => {
    expect(formatRelative(ago(-2 * 3_600_000), now)).toBe('in 2 hours');
  });

  it('uses the injected now, not the wall clock', () => {
    expect(formatRelative('2025-11-18T14:05:00Z', '2025-11-21T14:05:00Z')).toBe('3 days ago');
    expect(formatRelative('2025-11-18T14:05:00Z', '2025-11-18T14:28:00Z')).toBe('23 min ago');
  });

  it('does not crash on garbage', () => {
    expect(formatRelative('not a date', now)).toBe('at an unknown time');
  });
});

describe('formatDuration', () => {
  it('rounds up so a wait is never understated', () => {
    expect(formatDuration(22.2 * 60_000)).toBe('23 min');
    expect(formatDuration(30_000)).toBe('less than a minute');
    expect(formatDuration(60 * 60_000)).toBe('1 hour');
    expect(formatDuration(125 * 60_000)).toBe('2 hours 5 min');
    expect(formatDuration(3 * 86_400_000)).toBe('3 days');
  });
});

describe('times of day', () => {
  it('shows UK time whatever the machine zone', () => {
    expect(formatClock('2025-07-01T13:05:00Z')).toBe('14:05');
    expect(formatClock('2025-11-21T14:05:00Z')).toBe('14:05');
    expect(formatClock('2025-11-21T23:59:00Z')).toBe('23:59');
    expect(formatDayTime('2025-11-21T14:05:00Z')).toBe('21 Nov 14:05');
  });

  it('names the day only when it is not today', () => {
    const now = '2025-11-21T10:00:00Z';
    expect(formatUpcoming('2025-11-21T14:05:00Z', now)).toBe('14:05');
    expect(formatUpcoming('2025-11-22T09:00:00Z', now)).toBe('tomorrow 09:00');
    expect(formatUpcoming('2025-11-24T09:00:00Z', now)).toBe('24 Nov 09:00');
  });

  it('phrases a moment after a verb', () => {
    const now = '2025-11-21T10:00:00Z';
    expect(formatAt('2025-11-21T14:05:00Z', now)).toBe('at 14:05');
    expect(formatAt('2025-11-22T09:00:00Z', now)).toBe('tomorrow at 09:00');
    expect(formatAt('2025-11-24T09:00:00Z', now)).toBe('on 24 Nov at 09:00');
  });

  it('gives the exact time for titles', () => {
    expect(formatExact('2025-11-21T14:05:32Z')).toMatch(/21 November 2025.*14:05:32/);
  });

  it('counts down in minutes and seconds', () => {
    expect(formatCountdown(9 * 60_000 + 41_000)).toBe('9:41');
    expect(formatCountdown(500)).toBe('0:01');
    expect(formatCountdown(-5)).toBe('0:00');
  });
});

describe('words', () => {
  it('pluralises with grouping', () => {
    expect(plural(1, 'account')).toBe('1 account');
    expect(plural(1240, 'transaction')).toBe('1,240 transactions');
  });

  it('names account types', () => {
    expect(accountTypeLabel('cash:current')).toBe('Current account');
    expect(accountTypeLabel('card')).toBe('Credit card');
    expect(accountTypeLabel('properties:somethingNew')).toBe('Property');
    expect(accountTypeLabel('crypto_wallet')).toBe('Crypto wallet');
  });
});
