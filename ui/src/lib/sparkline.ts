// A balance history as an SVG polyline: drawn with attributes only, because the CSP forbids inline
// styles and there is no charting library.

import type { BalancePoint } from '../ipc';

export type Sparkline = {
  points: string;
  first: BalancePoint;
  last: BalancePoint;
  lowest: BalancePoint;
  highest: BalancePoint;
};

export function sparkline(history: BalancePoint[], width: number, height: number, pad = 2): Sparkline | null {
  const known = history.filter((p): p is BalancePoint & { amountMinor: number } => p.amountMinor !== null);
  if (known.length < 2) return null;
  const values = known.map((p) => p.amountMinor);
  const min = Math.min(...values);
  const max = Math.max(...values);
  const range = max - min || 1;
  const step = (width - pad * 2) / (known.length - 1);
  const points = known
    .map((p, i) => {
      const x = pad + i * step;
      // A flat history sits in the middle rather than on the floor.
      const y = max === min ? height / 2 : pad + (1 - (p.amountMinor - min) / range) * (height - pad * 2);
      return `${x.toFixed(1)},${y.toFixed(1)}`;
    })
    .join(' ');
  const by = (pick: (a: number, b: number) => boolean) =>
    known.reduce((best, p) => (pick(p.amountMinor, best.amountMinor) ? p : best));
  return {
    points,
    first: known[0]!,
    last: known[known.length - 1]!,
    lowest: by((a, b) => a < b),
    highest: by((a, b) => a > b),
  };
}
