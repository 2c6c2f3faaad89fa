import { homedir } from 'node:os'
import { isAbsolute, join, resolve } from 'node:path'

export function resolveIn(baseDir: string, p: string): string {
  return isAbsolute(p) ? p : resolve(baseDir, p)
}

/**
 * Where Batchery keeps its database, logs and staging: --home, else BATCHERY_HOME, else the same
 * folder the desktop app uses (Electron's userData for the product name "Batchery").
 */
export function defaultHome(env: NodeJS.ProcessEnv = process.env): string {
  if (env.BATCHERY_HOME) return resolve(env.BATCHERY_HOME)
  if (process.platform === 'win32') return join(env.APPDATA ?? join(homedir(), 'AppData', 'Roaming'), 'Batchery')
  if (process.platform === 'darwin') return join(homedir(), 'Library', 'Application Support', 'Batchery')
  return join(env.XDG_CONFIG_HOME ?? join(homedir(), '.config'), 'Batchery')
}
