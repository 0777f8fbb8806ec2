// Hash routes, so that the server needs no fallback: #/runs, #/runs/<id>, #/compare?ids=a,b,
// #/models, #/scenarios, #/loop/<scenario>.
import { useEffect, useState } from 'preact/hooks';

export interface Route {
  page: string;
  id?: string;
  params: URLSearchParams;
}

export function parse(hash: string): Route {
  const [path, search = ''] = hash.replace(/^#\/?/, '').split('?', 2);
  const [page = 'runs', id] = path.split('/').filter(Boolean).map(decodeURIComponent);
  return { page, id, params: new URLSearchParams(search) };
}

export function useRoute(): Route {
  const [route, setRoute] = useState(() => parse(location.hash));
  useEffect(() => {
    const changed = () => setRoute(parse(location.hash));
    addEventListener('hashchange', changed);
    return () => removeEventListener('hashchange', changed);
  }, []);
  return route;
}

export function go(hash: string): void {
  location.hash = hash;
}

export const runLink = (id: string) => `#/runs/${encodeURIComponent(id)}`;
export const compareLink = (ids: string[]) => `#/compare?ids=${ids.map(encodeURIComponent).join(',')}`;
export const loopLink = (scenario: string) => `#/loop/${encodeURIComponent(scenario)}`;
