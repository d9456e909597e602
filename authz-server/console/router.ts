/** The page is routed from the URL alone (path + query): no state library, back/forward just work. */
import { useEffect, useState } from 'preact/hooks';

export const BASE = '/ui';
const listeners = new Set<() => void>();

export function navigate(to: string, replace = false): void {
  if (replace) history.replaceState(null, '', to);
  else history.pushState(null, '', to);
  for (const l of listeners) l();
}

export function useLocation(): URL {
  const [, setTick] = useState(0);
  useEffect(() => {
    const update = () => setTick((t) => t + 1);
    listeners.add(update);
    addEventListener('popstate', update);
    return () => {
      listeners.delete(update);
      removeEventListener('popstate', update);
    };
  }, []);
  return new URL(location.href);
}

/** A same-page link: plain `<a href>` for the keyboard and middle-click, routed without a reload. */
export function onLinkClick(e: MouseEvent): void {
  const a = e.currentTarget as HTMLAnchorElement;
  if (e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
  e.preventDefault();
  navigate(a.getAttribute('href') ?? BASE + '/');
}

/** Where sign-in may send the user back to: only a console path of this origin. */
export function safeNext(next: string | null): string {
  return next && next.startsWith(`${BASE}/`) && !next.startsWith('//') && !next.startsWith(`${BASE}/sign-in`) ? next : `${BASE}/roles`;
}
