/**
 * What a page shows from the API: fetched on mount and whenever `deps` change, fetched again by `load()`
 * after the page changed something; a failure is the page's error line (`setError` for other failures).
 */
import { useEffect, useState } from 'preact/hooks';

export function useLoaded<T>(fetch: () => Promise<T>, deps: readonly unknown[] = []) {
  const [data, setData] = useState<T | null>(null);
  const [error, setError] = useState<string | undefined>();
  const load = () => fetch().then((d) => (setData(d), setError(undefined)), (e: Error) => setError(e.message));
  useEffect(() => void load(), deps);
  return { data, error, setError, load };
}
