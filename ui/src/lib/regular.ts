// Regular payments (Moneyhub's detected series) in words: how often, when the next is expected
// and for how much. Pure, so each wording is tested.

import type { RegularPayment } from '../ipc';
import { formatDay, formatMoney } from './format';

const frequencies: Partial<Record<string, string>> = {
  weekly: 'Every week',
  fortnightly: 'Every two weeks',
  monthly: 'Every month',
  quarterly: 'Every quarter',
  yearly: 'Every year',
};

/** "Every month"; a frequency Moneyhub adds later reads as sent. */
export function frequencyLabel(frequency: string): string {
  return frequencies[frequency] ?? frequency.charAt(0).toUpperCase() + frequency.slice(1);
}

/** "Next expected 3 Dec, between 1 and 5 Dec". */
export function nextText(series: Pick<RegularPayment, 'predictedDate' | 'predictedEarliest' | 'predictedLatest'>): string {
  const next = `Next expected ${formatDay(series.predictedDate)}`;
  const earliest = series.predictedEarliest ?? null;
  const latest = series.predictedLatest ?? null;
  if (!earliest || !latest || (earliest === series.predictedDate && latest === series.predictedDate)) return next;
  return `${next}, between ${formatDay(earliest)} and ${formatDay(latest)}`;
}

/** "£10.99", or "£10.99 to £12.99" when Moneyhub predicts a range; money out has its minus. */
export function amountText(
  series: Pick<RegularPayment, 'amountMinor' | 'amountLowerMinor' | 'amountUpperMinor' | 'currency'>,
): string {
  const lower = series.amountLowerMinor ?? null;
  const upper = series.amountUpperMinor ?? null;
  const currency = series.currency;
  if (lower === null || upper === null || lower === upper) return formatMoney(series.amountMinor, currency);
  // Smaller sum first, whichever way the money goes.
  const [from, to] = Math.abs(lower) <= Math.abs(upper) ? [lower, upper] : [upper, lower];
  return `${formatMoney(from, currency)} to ${formatMoney(to, currency)}`;
}

/** Money in first, then payments, each soonest first. */
export function byDirectionThenDate<T extends Pick<RegularPayment, 'kind' | 'predictedDate'>>(series: T[]): T[] {
  const rank = (s: T) => (s.kind === 'income' ? 0 : 1);
  return [...series].sort((a, b) => rank(a) - rank(b) || a.predictedDate.localeCompare(b.predictedDate));
}
