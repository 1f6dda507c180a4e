import { useEffect, useState } from 'preact/hooks';
import type { Store } from './chain/sync.ts';

/** Re-renders on every sync of the store. */
export function useStore(store: Store): Store {
  const [, setVersion] = useState(store.version);
  useEffect(() => store.subscribe(() => setVersion(store.version)), [store]);
  return store;
}

/** The location hash as a route: `#/task/0x…` → ['task', '0x…']. */
export function useRoute(): string[] {
  const read = () => window.location.hash.replace(/^#\/?/, '').split('/').filter(Boolean).slice(0, 4);
  const [route, setRoute] = useState(read);
  useEffect(() => {
    const on = () => setRoute(read());
    window.addEventListener('hashchange', on);
    return () => window.removeEventListener('hashchange', on);
  }, []);
  return route;
}
