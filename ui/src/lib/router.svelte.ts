// Hash routing: the app is a single page served from disk, so the hash is the one part of the
// URL we own. Unknown hashes fall back to the dashboard instead of a blank screen.

export const routes = ['dashboard', 'settings'] as const;
export type Route = (typeof routes)[number];

export function parseRoute(hash: string): Route {
  const name = hash.replace(/^#\/?/, '').split(/[/?]/)[0] ?? '';
  return (routes as readonly string[]).includes(name) ? (name as Route) : 'dashboard';
}

export function hrefFor(route: Route): string {
  return `#/${route}`;
}

class Router {
  current = $state<Route>(parseRoute(window.location.hash));

  constructor() {
    window.addEventListener('hashchange', () => {
      this.current = parseRoute(window.location.hash);
    });
  }
}

let router: Router | undefined;

export function useRouter(): Router {
  router ??= new Router();
  return router;
}
