// The packaging configuration cannot be exercised here (electron-builder downloads Electron), so
// it is checked instead: against electron-builder's own schema, and for our essentials (targets
// per OS, identity, what goes in, the native module unpacked, icons big enough, no secrets).
import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { join } from 'node:path'
import picomatch from 'picomatch'
import { describe, expect, it } from 'vitest'
import { ROOT } from '../helpers/cli'

const require = createRequire(import.meta.url)
// js-yaml comes with electron-builder; no types are installed, so its one function is typed here.
const yaml = require('js-yaml') as { load(text: string): unknown }
const { validateConfiguration } = require('app-builder-lib/out/util/config/config') as {
  validateConfiguration(config: unknown, debugLogger: { isEnabled: boolean; add(key: string, value: unknown): void }): Promise<void>
}

type Target = string | { target: string; arch?: string[] }
interface PlatformConfig {
  target?: Target | Target[]
  icon?: string
}
interface BuilderConfig {
  appId?: string
  productName?: string
  files?: string[]
  asar?: boolean
  asarUnpack?: string[]
  extraResources?: { from: string; to: string }[]
  npmRebuild?: boolean
  publish?: unknown
  electronFuses?: Record<string, boolean>
  win?: PlatformConfig
  mac?: PlatformConfig
  linux?: PlatformConfig
}

const FILE = join(ROOT, 'electron-builder.yml')
const text = readFileSync(FILE, 'utf8')
const config = yaml.load(text) as BuilderConfig
const packageJson = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { main: string; dependencies: Record<string, string> }

function targets(platform: PlatformConfig | undefined): string[] {
  const t = platform?.target
  const list = t === undefined ? [] : Array.isArray(t) ? t : [t]
  return list.map((x) => (typeof x === 'string' ? x : x.target))
}

/**
 * electron-builder's file patterns: positive ones include, "!" ones exclude, in order. The
 * production dependencies' node_modules are included by electron-builder itself, so only the
 * exclusions apply to them.
 */
function packaged(path: string): boolean {
  let included = path.startsWith('node_modules/')
  for (const pattern of config.files ?? []) {
    if (pattern.startsWith('!')) {
      if (picomatch(pattern.slice(1), { dot: true })(path)) included = false
    } else if (picomatch(pattern, { dot: true })(path)) {
      included = true
    }
  }
  return included
}

function pngSize(file: string): { width: number; height: number } {
  const buf = readFileSync(file)
  expect(buf.subarray(0, 8).toString('hex'), `${file} is a PNG`).toBe('89504e470d0a1a0a')
  return { width: buf.readUInt32BE(16), height: buf.readUInt32BE(20) }
}

describe('electron-builder.yml', () => {
  it("passes electron-builder's own schema", async () => {
    await expect(validateConfiguration(config, { isEnabled: false, add: () => {} })).resolves.toBeUndefined()
  })

  it('names the app', () => {
    expect(config.appId).toBe('app.batchery.desktop')
    expect(config.productName).toBe('Batchery')
  })

  it('builds nsis for Windows, dmg for macOS, AppImage and deb for Linux', () => {
    expect(targets(config.win)).toEqual(['nsis'])
    expect(targets(config.mac)).toEqual(['dmg'])
    expect(targets(config.linux).sort()).toEqual(['AppImage', 'deb'])
  })

  it('packages the built bundles and package.json, not the sources or tests', () => {
    expect(config.files).toContain('out/**')
    expect(config.files).toContain('package.json')
    for (const path of ['out/main/index.js', 'out/main/engine-host.js', 'out/main/partition-worker.js', 'out/main/spawn-helper.js', 'out/preload/index.cjs', 'out/renderer/index.html', 'package.json', packageJson.main]) {
      expect(packaged(path), path).toBe(true)
    }
    for (const path of ['src/main/electron/index.ts', 'test/unit/electron-ipc.test.ts', 'bench-data/orders.csv', 'out/main/index.js.map', '.cache/electron-native/x.node']) {
      expect(packaged(path), path).toBe(false)
    }
  })

  it('keeps the better-sqlite3 addon in the package and unpacked from the asar', () => {
    expect(packageJson.dependencies).toHaveProperty('better-sqlite3')
    const addon = 'node_modules/better-sqlite3/build/Release/better_sqlite3.node'
    expect(packaged(addon)).toBe(true)
    expect(packaged('node_modules/better-sqlite3/lib/database.js')).toBe(true)
    expect(packaged('node_modules/better-sqlite3/deps/sqlite3/sqlite3.c')).toBe(false)
    expect(packaged('node_modules/better-sqlite3/build/Release/obj.target/better_sqlite3/src/better_sqlite3.o')).toBe(false)
    expect(config.asar).toBe(true)
    expect((config.asarUnpack ?? []).some((p) => picomatch(p, { dot: true })(addon))).toBe(true)
  })

  it('rebuilds native modules for Electron when packaging', () => {
    expect(config.npmRebuild).toBe(true)
  })

  it('ships the icons the main process loads from the resources folder, large enough for every platform', () => {
    const extra = Object.fromEntries((config.extraResources ?? []).map((r) => [r.to, r.from]))
    // index.ts loads these two names from process.resourcesPath in the packaged app.
    expect(extra).toEqual({ 'icon.png': 'resources/icon.png', 'tray.png': 'resources/tray.png' })
    const main = readFileSync(join(ROOT, 'src/main/electron/index.ts'), 'utf8')
    expect(main).toContain("'tray.png'")
    expect(main).toContain("'icon.png'")
    for (const platform of [config.win, config.mac, config.linux]) expect(platform?.icon).toBe('resources/icon.png')
    const icon = pngSize(join(ROOT, 'resources/icon.png'))
    // electron-builder refuses smaller: 256 px for Windows .ico, 512 px for macOS .icns.
    expect(icon.width).toBe(icon.height)
    expect(icon.width).toBeGreaterThanOrEqual(512)
    expect(pngSize(join(ROOT, 'resources/tray.png'))).toEqual({ width: 32, height: 32 })
  })

  it('turns off the fuses that would let the packaged app run as Node or be inspected', () => {
    expect(config.electronFuses).toMatchObject({
      runAsNode: false,
      enableNodeOptionsEnvironmentVariable: false,
      enableNodeCliInspectArguments: false,
      grantFileProtocolExtraPrivileges: false,
      onlyLoadAppFromAsar: true
    })
  })

  it('publishes nowhere and holds no secrets', () => {
    expect(config.publish ?? null).toBeNull()
    const keys: string[] = []
    const walk = (v: unknown): void => {
      if (Array.isArray(v)) v.forEach(walk)
      else if (typeof v === 'object' && v !== null) {
        for (const [k, child] of Object.entries(v)) {
          keys.push(k)
          walk(child)
        }
      }
    }
    walk(config)
    expect(keys.filter((k) => /token|password|secret|apikey|cscLink|cscKeyPassword|certificate|appleId|teamId/i.test(k))).toEqual([])
    expect(text).not.toMatch(/gh[pousr]_[A-Za-z0-9]{20,}|GH_TOKEN|GITHUB_TOKEN|AWS_SECRET|-----BEGIN/)
  })
})
