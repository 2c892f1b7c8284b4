// Light/dark follows the OS unless the person picks one; the choice is a display preference, so
// localStorage is enough (nothing sensitive, nothing the core needs).

export const themeChoices = ['system', 'light', 'dark'] as const;
export type ThemeChoice = (typeof themeChoices)[number];

const STORAGE_KEY = 'banklinks.theme';

export function readThemeChoice(stored: string | null): ThemeChoice {
  return (themeChoices as readonly string[]).includes(stored ?? '')
    ? (stored as ThemeChoice)
    : 'system';
}

class Theme {
  choice = $state<ThemeChoice>(readThemeChoice(localStorage.getItem(STORAGE_KEY)));

  set(choice: ThemeChoice) {
    this.choice = choice;
    localStorage.setItem(STORAGE_KEY, choice);
    apply(choice);
  }
}

function apply(choice: ThemeChoice) {
  // "system" removes the attribute so the prefers-color-scheme media query decides.
  if (choice === 'system') document.documentElement.removeAttribute('data-theme');
  else document.documentElement.setAttribute('data-theme', choice);
}

let theme: Theme | undefined;

export function useTheme(): Theme {
  if (!theme) {
    theme = new Theme();
    apply(theme.choice);
  }
  return theme;
}
