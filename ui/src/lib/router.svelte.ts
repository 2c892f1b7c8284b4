// Hash routing: the app is a single page served from disk, so the hash is the one part of the
// URL we own. Unknown hashes fall back to the dashboard instead of a blank screen.

export const simpleRoutes = ['dashboard', 'add', 'journal', 'settings', 'demo'] as const;
export type SimpleRoute = (typeof simpleRoutes)[number];

export type Route = { name: SimpleRoute } | { name: 'connection'; id: string };

const fallback: Route = { name: 'dashboard' };

export function parseRoute(hash: string): Route {
  const path = hash.replace(/^#\/?/, '').split('?')[0] ?? '';
  const slash = path.indexOf('/');
  const name = slash === -1 ? path : path.slice(0, slash);
  const rest = slash === -1 ? '' : path.slice(slash + 1);
  if (name === 'connection') {
    // Moneyhub ids contain ':' and may one day contain '/', so the whole rest is the id.
    if (!rest) return fallback;
    try {
      const id = decodeURIComponent(rest);
      return id ? { name: 'connection', id } : fallback;
    } catch {
      return fallback;
    }
  }
  return (simpleRoutes as readonly string[]).includes(name) ? { name: name as SimpleRoute } : fallback;
}

export function hrefFor(route: Route | SimpleRoute): string {
  const target = typeof route === 'string' ? { name: route } : route;
  return target.name === 'connection'
    ? `#/connection/${encodeURIComponent(target.id)}`
    : `#/${target.name}`;
}

export function connectionHref(id: string): string {
  return hrefFor({ name: 'connection', id });
}

export function navigate(route: Route | SimpleRoute): void {
  window.location.hash = hrefFor(route);
}

class Router {
  current = $state<Route>(parseRoute(window.location.hash));

  constructor() {
    window.addEventListener('hashchange', () => {
      this.current = parseRoute(window.location.hash);
    });
  }

  /** A string that changes whenever the page does, for effects that follow navigation. */
  get key(): string {
    return hrefFor(this.current);
  }
}

let router: Router | undefined;

export function useRouter(): Router {
  router ??= new Router();
  return router;
}
