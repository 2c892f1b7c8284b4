import { describe, expect, it } from 'vitest';
import { sparkline } from './sparkline';

const point = (day: string, amountMinor: number | null) => ({ day, amountMinor, currency: 'GBP' });

describe('sparkline', () => {
  it('needs two known points', () => {
    expect(sparkline([point('2025-11-01', 100)], 100, 20)).toBeNull();
    expect(sparkline([point('2025-11-01', 100), point('2025-11-02', null)], 100, 20)).toBeNull();
  });

  it('maps the lowest balance to the bottom and the highest to the top', () => {
    const line = sparkline([point('a', 0), point('b', 100), point('c', 50)], 104, 24, 2)!;
    expect(line.points).toBe('2.0,22.0 52.0,2.0 102.0,12.0');
    expect(line.lowest.day).toBe('a');
    expect(line.highest.day).toBe('b');
    expect(line.first.day).toBe('a');
    expect(line.last.day).toBe('c');
  });

  it('draws a flat history in the middle', () => {
    const line = sparkline([point('a', 5), point('b', 5)], 10, 20, 0)!;
    expect(line.points).toBe('0.0,10.0 10.0,10.0');
  });
});
