import { closeSync, copyFileSync, existsSync, fsyncSync, openSync } from 'node:fs'
import { homedir } from 'node:os'
import { dirname, isAbsolute, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

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

/**
 * A file of the build, `out/<rel>`, found from the running module whether it runs from the
 * built bundle (out/main/...) or from source (tests): walk up looking for `<rel>` or `out/<rel>`.
 */
export function builtFile(fromModuleUrl: string, rel: string): string | null {
  let dir = dirname(fileURLToPath(fromModuleUrl))
  for (let i = 0; i < 6; i++) {
    for (const candidate of [join(dir, rel), join(dir, 'out', rel)]) if (existsSync(candidate)) return candidate
    dir = dirname(dir)
  }
  return null
}

/** Copies a file and flushes the copy to disk (where a rename or a link cannot reach: another drive). */
export function copyFileDurably(from: string, to: string): void {
  copyFileSync(from, to)
  const fd = openSync(to, 'r+')
  try {
    fsyncSync(fd)
  } finally {
    closeSync(fd)
  }
}
