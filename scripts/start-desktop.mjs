#!/usr/bin/env node
// `npm start` / `npm run dev`: open the desktop app.
//
// The Electron app needs its own build of better-sqlite3 (Electron's ABI differs from Node's). It
// is kept apart from node_modules, in .cache/electron-native/, and handed to the engine with
// BATCHERY_SQLITE_BINDING, so the Node build that the CLI and the tests use is never replaced.
import { spawnSync, spawn } from 'node:child_process'
import { cpSync, existsSync, mkdirSync, rmSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const require = createRequire(join(root, 'package.json'))
const mode = process.argv[2] === 'dev' ? 'dev' : 'preview'

function fail(message) {
  process.stderr.write(`\n${message}\n`)
  process.exit(1)
}

// 1. The Electron binary: npm install does not fetch it (allowScripts denies electron's download,
//    so installing works offline and on CI); the first start does.
const electronDir = dirname(require.resolve('electron/package.json'))
const electronVersion = require('electron/package.json').version
if (!existsSync(join(electronDir, 'path.txt'))) {
  process.stderr.write(`Downloading Electron ${electronVersion} (first start only)…\n`)
  const r = spawnSync(process.execPath, [join(electronDir, 'install.js')], { stdio: 'inherit', env: { ...process.env, ELECTRON_SKIP_BINARY_DOWNLOAD: '' } })
  if (r.status !== 0) fail('Electron could not be downloaded. The headless CLI works without it: npx batchery --help')
}

// 2. better-sqlite3 built for this Electron.
const nativeDir = join(root, '.cache', 'electron-native', `electron-${electronVersion}-${process.platform}-${process.arch}`)
const binding = join(nativeDir, 'build', 'Release', 'better_sqlite3.node')
if (!existsSync(binding)) {
  process.stderr.write(`Preparing the database module for Electron ${electronVersion} (first start only)…\n`)
  rmSync(nativeDir, { recursive: true, force: true })
  mkdirSync(dirname(nativeDir), { recursive: true })
  cpSync(dirname(require.resolve('better-sqlite3/package.json')), nativeDir, { recursive: true })
  rmSync(join(nativeDir, 'build'), { recursive: true, force: true })
  const prebuild = spawnSync(
    process.execPath,
    [require.resolve('prebuild-install/bin.js'), '--runtime', 'electron', '--target', electronVersion, '--arch', process.arch, '--platform', process.platform],
    { cwd: nativeDir, stdio: 'inherit' }
  )
  if (prebuild.status !== 0 || !existsSync(binding)) {
    // No prebuilt binary: compile against Electron's headers with npm's own node-gyp.
    const gyp = join(dirname(process.execPath), '..', 'lib', 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js')
    const build = spawnSync(process.execPath, [gyp, 'rebuild', '--release', `--target=${electronVersion}`, '--dist-url=https://electronjs.org/headers'], {
      cwd: nativeDir,
      stdio: 'inherit'
    })
    if (build.status !== 0 || !existsSync(binding)) fail('The database module could not be built for Electron. See the messages above.')
  }
}

// 3. Start electron-vite with the Electron build of the module.
const child = spawn(process.execPath, [require.resolve('electron-vite/bin/electron-vite.js'), mode], {
  cwd: root,
  stdio: 'inherit',
  env: { ...process.env, BATCHERY_SQLITE_BINDING: binding }
})
child.on('exit', (code) => process.exit(code ?? 0))
