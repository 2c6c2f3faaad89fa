// Picks how the page reaches the engine: the Electron preload when present, else HTTP + WebSocket
// to the `batchery serve` that served the page.
import type { Transport } from '../../../shared/api'
import { HttpTransport, type ConnectionState } from './http-transport'
import { serverToken } from './token'
import { desktopApi } from './window-api'

let transport: Transport | null = null
let http: HttpTransport | null = null

export function getTransport(): Transport {
  if (transport) return transport
  const desktop = desktopApi()
  if (desktop) {
    transport = {
      call: (method, params) => desktop.call(method, params),
      subscribe: (event, listener) => desktop.subscribe(event, listener)
    }
  } else {
    http = new HttpTransport(serverToken())
    transport = http
  }
  return transport
}

/** The event connection's state; the desktop transport is always connected. */
export function onConnectionState(listener: (state: ConnectionState) => void): () => void {
  getTransport()
  if (http) return http.onConnectionState(listener)
  listener('open')
  return () => {}
}

export function isDesktop(): boolean {
  return desktopApi() !== null
}
