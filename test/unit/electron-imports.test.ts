// Only the composition root imports electron at run time: every other module of the shell takes
// Electron's objects as arguments (type-only imports), which is what lets them run in these tests
// under plain Node. The preload imports nothing but electron.
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { ROOT } from '../helpers/cli'

function runtimeImports(file: string): string[] {
  const text = readFileSync(file, 'utf8')
  return [...text.matchAll(/^\s*(?:import|export)\s(?!type\s)[^'"]*?from\s+['"]([^'"]+)['"]|^\s*import\s+['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/gm)].map(
    (m) => (m[1] ?? m[2] ?? m[3]) as string
  )
}

describe('electron imports', () => {
  const dir = join(ROOT, 'src', 'main', 'electron')
  const files = readdirSync(dir).filter((f) => f.endsWith('.ts'))

  it('the shell has its modules', () => {
    expect(files).toEqual(
      expect.arrayContaining(['index.ts', 'security.ts', 'ipc.ts', 'engine-process.ts', 'engine-supervisor.ts', 'window-state.ts', 'menu-template.ts', 'run-tracker.ts', 'desktop-methods.ts', 'folder-grants.ts'])
    )
  })

  it('only index.ts imports electron at run time', () => {
    const importers = files.filter((f) => runtimeImports(join(dir, f)).includes('electron'))
    expect(importers).toEqual(['index.ts'])
  })

  it('the supervisor imports neither electron nor the engine', () => {
    const imports = runtimeImports(join(dir, 'engine-supervisor.ts'))
    expect(imports.filter((s) => s === 'electron' || s.includes('/engine/'))).toEqual([])
  })
})
