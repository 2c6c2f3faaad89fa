// The preload exposes the engine's contract to the page and nothing else. Until the desktop UI
// lands it exposes only the capabilities the page can check.
import { contextBridge } from 'electron'

contextBridge.exposeInMainWorld('api', {
  capabilities: Object.freeze({ desktop: true, runs: false })
})
