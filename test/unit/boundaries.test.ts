// Who may import whom, checked by a test rather than by memory: the engine never imports
// electron (it runs in the CLI, the server and tests), the shared contract uses no Node or DOM
// module, workers never open SQLite.
import { readdirSync, readFileSync } from 'node:fs'
import { join, relative } from 'node:path'
import { describe, expect, it } from 'vitest'
import { ROOT } from '../helpers/cli'

function sources(dir: string): string[] {
  return readdirSync(join(ROOT, dir), { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile() && /\.(ts|tsx|mts)$/.test(e.name))
    .map((e) => join(e.parentPath, e.name))
}

function imports(file: string): string[] {
  const text = readFileSync(file, 'utf8')
  const found: string[] = []
  // static imports and exports, and dynamic import() of a string literal
  for (const m of text.matchAll(/^\s*(?:import|export)\s(?!type\s)[^'"]*?from\s+['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/gm)) {
    found.push((m[1] ?? m[2]) as string)
  }
  return found
}

const RULES: { dir: string; forbidden: RegExp; why: string }[] = [
  { dir: 'src/main/engine', forbidden: /^electron$|\/electron\//, why: 'the engine runs without Electron' },
  { dir: 'src/main/cli', forbidden: /^electron$|\/electron\//, why: 'the CLI runs without Electron' },
  { dir: 'src/shared', forbidden: /^node:|^electron$|^react|^better-sqlite3$|^piscina$/, why: 'the contract runs in every process, the page included' },
  { dir: 'src/workers', forbidden: /^better-sqlite3$|^electron$|\/main\//, why: 'workers never touch SQLite or the engine' },
  { dir: 'src/renderer', forbidden: /^node:|^electron$|\/main\/|\/workers\//, why: 'the page knows only the contract' }
]

describe('module boundaries', () => {
  for (const rule of RULES) {
    it(`${rule.dir}: ${rule.why}`, () => {
      const offending: string[] = []
      for (const file of sources(rule.dir)) {
        for (const spec of imports(file)) if (rule.forbidden.test(spec)) offending.push(`${relative(ROOT, file)} imports ${spec}`)
      }
      expect(offending).toEqual([])
    })
  }

  it('the checker sees imports at all', () => {
    expect(imports(join(ROOT, 'src', 'main', 'electron', 'index.ts'))).toContain('electron')
  })
})
