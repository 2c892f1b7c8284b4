import { describe, expect, it } from 'vitest';
import { focusedConnection, scenes } from './scenes';

const card = (id: string, name: string, connectedOn: string) => ({ connection: { id, name, connectedOn } });

describe('the tour', () => {
  it('walks the lifecycle in nine scenes, each worded for the audience', () => {
    expect(scenes.map((s) => s.id)).toEqual([
      'add',
      'history',
      'sync',
      'consent',
      'new-id',
      'security-question',
      'offline',
      'remove',
      'journal',
    ]);
    for (const scene of scenes) {
      expect(scene.caption.length).toBeGreaterThan(40);
      expect(scene.action.length).toBeGreaterThan(10);
      // Words for people: no codes or ids in a caption.
      expect(scene.caption).not.toMatch(/[a-z]+_[a-z]+|[0-9a-f]{8}/);
    }
  });

  it('finds the card a scene is about', () => {
    const cards = [
      card('a', 'Monzo', '2026-11-01T09:00:00Z'),
      card('b', 'Danske Bank', '2026-11-03T09:00:00Z'),
      card('c', 'Monzo', '2026-11-02T09:00:00Z'),
    ];
    expect(focusedConnection({ kind: 'newest' }, cards)).toBe('b');
    expect(focusedConnection({ kind: 'bank', name: 'Monzo' }, cards)).toBe('a');
    expect(focusedConnection({ kind: 'bank', name: 'Halifax' }, cards)).toBeUndefined();
    expect(focusedConnection({ kind: 'none' }, cards)).toBeUndefined();
    expect(focusedConnection({ kind: 'newest' }, [])).toBeUndefined();
  });
});
