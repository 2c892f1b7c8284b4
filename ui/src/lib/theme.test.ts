import { describe, expect, it } from 'vitest';
import { readThemeChoice } from './theme.svelte';

describe('readThemeChoice', () => {
  it('keeps a valid stored choice', () => {
    expect(readThemeChoice('dark')).toBe('dark');
    expect(readThemeChoice('light')).toBe('light');
  });

  it('follows the system when nothing or garbage is stored', () => {
    expect(readThemeChoice(null)).toBe('system');
    expect(readThemeChoice('purple')).toBe('system');
  });
});
