import { useSyncExternalStore } from 'react'
import { parseRoute, type Route } from './routes'

function subscribe(onChange: () => void): () => void {
  window.addEventListener('hashchange', onChange)
  return () => window.removeEventListener('hashchange', onChange)
}

function snapshot(): string {
  return window.location.hash
}

/** The current screen, following the address bar's hash. */
export function useRoute(): Route {
  const hash = useSyncExternalStore(subscribe, snapshot)
  return parseRoute(hash)
}
