import { describe, expect, it } from 'vitest';
import { hrefFor, parseRoute } from './router.svelte';

describe('parseRoute', () => {
  it('reads known routes from the hash', () => {
    expect(parseRoute('#/settings')).toBe('settings');
    expect(parseRoute('#settings')).toBe('settings');
    expect(parseRoute('#/dashboard')).toBe('dashboard');
    expect(parseRoute('#/settings/diagnostics')).toBe('settings');
  });

  it('falls back to the dashboard for anything else', () => {
    expect(parseRoute('')).toBe('dashboard');
    expect(parseRoute('#/nope')).toBe('dashboard');
    expect(parseRoute('#/__proto__')).toBe('dashboard');
  });

  it('round-trips hrefs', () => {
    expect(parseRoute(hrefFor('settings'))).toBe('settings');
  });
});
