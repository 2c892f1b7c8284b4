import { describe, expect, it } from 'vitest';
import { hrefFor, parseRoute } from './router.svelte';

describe('parseRoute', () => {
  it('reads simple routes from the hash', () => {
    expect(parseRoute('#/settings')).toEqual({ name: 'settings' });
    expect(parseRoute('#settings')).toEqual({ name: 'settings' });
    expect(parseRoute('#/dashboard')).toEqual({ name: 'dashboard' });
    expect(parseRoute('#/add')).toEqual({ name: 'add' });
    expect(parseRoute('#/journal')).toEqual({ name: 'journal' });
    expect(parseRoute('#/demo')).toEqual({ name: 'demo' });
    expect(parseRoute('#/settings/diagnostics')).toEqual({ name: 'settings' });
    expect(parseRoute('#/journal?x=1')).toEqual({ name: 'journal' });
  });

  it('reads a connection id, including ids with colons', () => {
    const id = '1ffe704d39629a929c8e293880fb449a:5f0c6b2e-7f4a-4a53-9f5e-2a7b1c3d4e5f';
    expect(parseRoute(`#/connection/${encodeURIComponent(id)}`)).toEqual({ name: 'connection', id });
    expect(parseRoute(`#/connection/${id}`)).toEqual({ name: 'connection', id });
    expect(parseRoute('#/connection/a%2Fb')).toEqual({ name: 'connection', id: 'a/b' });
  });

  it('falls back to the dashboard for anything else', () => {
    expect(parseRoute('')).toEqual({ name: 'dashboard' });
    expect(parseRoute('#/nope')).toEqual({ name: 'dashboard' });
    expect(parseRoute('#/__proto__')).toEqual({ name: 'dashboard' });
    expect(parseRoute('#/connection')).toEqual({ name: 'dashboard' });
    expect(parseRoute('#/connection/')).toEqual({ name: 'dashboard' });
    expect(parseRoute('#/connection/%E0%A4%A')).toEqual({ name: 'dashboard' });
  });

  it('round-trips hrefs', () => {
    expect(parseRoute(hrefFor('settings'))).toEqual({ name: 'settings' });
    const id = 'abc:def/ghi?x#y';
    expect(hrefFor({ name: 'connection', id })).toBe('#/connection/abc%3Adef%2Fghi%3Fx%23y');
    expect(parseRoute(hrefFor({ name: 'connection', id }))).toEqual({ name: 'connection', id });
  });
});
