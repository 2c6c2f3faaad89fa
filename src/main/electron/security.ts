// All window security in one module: the page's webPreferences, the app:// protocol that serves
// the built renderer (with path traversal refused and a strict CSP on every response), navigation
// and new-window blocking, external links, permissions and the request filter.
//
// Electron is only imported for its types: index.ts hands in the real modules, tests hand in
// fakes, so every rule here runs under plain Node.
import { realpath as realpathCallback } from 'node:fs'
import { readFile } from 'node:fs/promises'
import { extname, isAbsolute, join, relative, sep } from 'node:path'
import type { Protocol, Session, WebContents, WebPreferences } from 'electron'
import type { Logger } from '../engine/log'

/** The production UI is served from app://batchery/, never from file://. */
export const APP_SCHEME = 'app'
export const APP_HOST = 'batchery'
export const APP_ORIGIN = `${APP_SCHEME}://${APP_HOST}`
export const APP_ENTRY_URL = `${APP_ORIGIN}/index.html`

/** Sent as a header on every app:// response (a <meta> tag cannot carry frame-ancestors). */
export const CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "frame-ancestors 'none'"
].join('; ')

// ---------------------------------------------------------------------------------------------
// Origins

/**
 * The origin of a URL as our checks compare it, or null when it has none we would ever trust.
 * Node's URL gives every non-special scheme (app:) the opaque origin "null", which would make
 * app://batchery and app://batchery.evil equal, so app: origins are built from scheme and host.
 */
export function originOf(url: string): string | null {
  let u: URL
  try {
    u = new URL(url)
  } catch {
    return null
  }
  // Credentials in a URL are a classic way to dress one host up as another.
  if (u.username !== '' || u.password !== '') return null
  if (u.protocol === 'http:' || u.protocol === 'https:') return u.origin
  if (u.protocol === `${APP_SCHEME}:`) return u.host === '' ? null : `${u.protocol}//${u.host}`
  return null
}

const LOOPBACK_HOSTS = new Set(['localhost', '127.0.0.1', '[::1]'])

export interface RendererEntry {
  /** What the window loads. */
  url: string
  /** The only origins allowed to call the engine and to be navigated to. */
  origins: string[]
}

/**
 * Where the page comes from: electron-vite's dev server in development (only on this machine),
 * else app://batchery. A packaged app ignores ELECTRON_RENDERER_URL, so an environment variable
 * can never point a released app at someone else's page.
 */
export function rendererEntry(opts: { packaged: boolean; devServerUrl: string | undefined }): RendererEntry {
  if (!opts.packaged && opts.devServerUrl) {
    const origin = originOf(opts.devServerUrl)
    if (origin !== null && origin.startsWith('http://') && LOOPBACK_HOSTS.has(new URL(origin).hostname)) {
      return { url: opts.devServerUrl, origins: [origin] }
    }
  }
  return { url: APP_ENTRY_URL, origins: [APP_ORIGIN] }
}

/**
 * The request filter: the page may load from its own origin only (plus the dev server's hot
 * reload socket in development, and inline data: and blob: URLs); nothing from the network.
 */
export function isAllowedRequest(url: string, origins: readonly string[], opts: { dev?: boolean } = {}): boolean {
  let u: URL
  try {
    u = new URL(url)
  } catch {
    return false
  }
  if (u.protocol === 'data:' || u.protocol === 'blob:') return true
  if (opts.dev && u.protocol === 'devtools:') return true
  const origin = originOf(url)
  if (origin !== null && origins.includes(origin)) return true
  if ((u.protocol === 'ws:' || u.protocol === 'wss:') && u.username === '' && u.password === '') {
    const asHttp = `${u.protocol === 'ws:' ? 'http:' : 'https:'}//${u.host}`
    return origins.includes(asHttp)
  }
  return false
}

// ---------------------------------------------------------------------------------------------
// External links

/** A link is handed to the OS only if it is this long at most (longer ones are suspicious). */
const MAX_EXTERNAL_URL_LENGTH = 2048

/**
 * The URL to hand to shell.openExternal, or null. Only https: links leave the app: file:, smb:,
 * UNC paths, javascript: and custom schemes (ms-msdt:, vscode:...) can run or open things.
 */
export function safeExternalUrl(url: unknown): string | null {
  if (typeof url !== 'string' || url.length === 0 || url.length > MAX_EXTERNAL_URL_LENGTH) return null
  // Whitespace and control characters (which URL parsing would strip), backslashes (UNC paths,
  // "https:\\host"), and encoded NUL or control bytes that some handlers cut strings at.
  if (/[\u0000-\u0020\u007f-\u009f\\]/.test(url)) return null
  if (/%(?:25)*(?:[01][0-9a-f]|7f)/i.test(url)) return null
  let u: URL
  try {
    u = new URL(url)
  } catch {
    return null
  }
  if (u.protocol !== 'https:') return null
  if (u.username !== '' || u.password !== '' || u.hostname === '') return null
  return u.href
}

// ---------------------------------------------------------------------------------------------
// The app:// protocol

// Windows device names: C:\app\renderer\nul is not a file but the null device.
const WINDOWS_DEVICE = /^(?:con|prn|aux|nul|com\d|lpt\d|conin\$|conout\$)(?:\..*)?$/i

/**
 * The file under rootDir that an app:// URL names, or null for anything that is not plainly a
 * file inside it. Checked on the raw text, because URL parsing quietly folds "..", "%2e%2e" and
 * "\" into a clean-looking path: a request that tries any of these is refused, not repaired.
 */
export function resolveAppPath(rootDir: string, url: string): string | null {
  if (typeof url !== 'string' || typeof rootDir !== 'string' || !isAbsolute(rootDir)) return null
  if (url !== APP_ORIGIN && !url.startsWith(`${APP_ORIGIN}/`)) return null
  const path = url.slice(APP_ORIGIN.length).split(/[?#]/, 1)[0] ?? ''
  if (path.includes('\\')) return null
  const segments = path === '' ? [''] : path.slice(1).split('/')
  const parts: string[] = []
  for (let i = 0; i < segments.length; i++) {
    const raw = segments[i] as string
    if (raw === '') {
      // Only a trailing slash (a folder: its index.html) may leave a segment empty; "//" may not.
      if (i === segments.length - 1) continue
      return null
    }
    let segment: string
    try {
      segment = decodeURIComponent(raw)
    } catch {
      return null
    }
    // Encoded separators, NUL and control bytes, drive letters and NTFS streams (":"), and names
    // Windows would trim to something else ("..." and ".. " become ".."), "." and ".." included.
    if (/[/\\:\u0000-\u001f\u007f]/.test(segment) || /[. ]$/.test(segment) || WINDOWS_DEVICE.test(segment)) return null
    parts.push(segment)
  }
  if (segments[segments.length - 1] === '') parts.push('index.html')
  const full = join(rootDir, ...parts)
  if (!isInside(rootDir, full)) return null
  return full
}

function isInside(root: string, file: string): boolean {
  const rel = relative(root, file)
  return rel !== '' && rel !== '..' && !rel.startsWith(`..${sep}`) && !isAbsolute(rel)
}

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.gif': 'image/gif',
  '.webp': 'image/webp',
  '.ico': 'image/x-icon',
  '.woff': 'font/woff',
  '.woff2': 'font/woff2',
  '.ttf': 'font/ttf',
  '.txt': 'text/plain; charset=utf-8'
}

function securityHeaders(): Record<string, string> {
  return { 'Content-Security-Policy': CONTENT_SECURITY_POLICY, 'X-Content-Type-Options': 'nosniff' }
}

function plain(status: number, text: string): Response {
  return new Response(text, { status, headers: { ...securityHeaders(), 'Content-Type': 'text/plain; charset=utf-8' } })
}

// The callback form, because it is the one Electron's asar support is known to cover.
function realpath(p: string): Promise<string> {
  return new Promise((resolve, reject) => realpathCallback(p, (err, resolved) => (err ? reject(err) : resolve(resolved))))
}

/**
 * The app:// handler: GET and HEAD of files under rootDir, symlinks that lead out of it refused,
 * 404 for everything else, the CSP header on every response including errors.
 */
export function createAppProtocolHandler(rootDir: string): (request: Request) => Promise<Response> {
  return async (request) => {
    if (request.method !== 'GET' && request.method !== 'HEAD') return plain(405, 'Method not allowed')
    const file = resolveAppPath(rootDir, request.url)
    if (file === null) return plain(404, 'Not found')
    try {
      const [realRoot, realFile] = await Promise.all([realpath(rootDir), realpath(file)])
      if (!isInside(realRoot, realFile)) return plain(404, 'Not found')
      const body = await readFile(realFile)
      const headers = { ...securityHeaders(), 'Content-Type': CONTENT_TYPES[extname(file).toLowerCase()] ?? 'application/octet-stream' }
      return new Response(request.method === 'HEAD' ? null : new Uint8Array(body), { status: 200, headers })
    } catch {
      return plain(404, 'Not found')
    }
  }
}

/** Must run before the app is ready: app:// becomes a standard, secure origin with fetch. */
export function registerAppScheme(protocol: Pick<Protocol, 'registerSchemesAsPrivileged'>): void {
  protocol.registerSchemesAsPrivileged([{ scheme: APP_SCHEME, privileges: { standard: true, secure: true, supportFetchAPI: true } }])
}

export function serveApp(protocol: Pick<Protocol, 'handle'>, rendererDir: string): void {
  protocol.handle(APP_SCHEME, createAppProtocolHandler(rendererDir))
}

// ---------------------------------------------------------------------------------------------
// Windows, web contents and sessions

/** The only webPreferences a Batchery window gets. */
export function secureWebPreferences(preload: string, opts: { devTools: boolean }): WebPreferences {
  return {
    preload,
    contextIsolation: true,
    sandbox: true,
    nodeIntegration: false,
    nodeIntegrationInWorker: false,
    nodeIntegrationInSubFrames: false,
    webSecurity: true,
    allowRunningInsecureContent: false,
    experimentalFeatures: false,
    webviewTag: false,
    // A file dropped outside the drop zone must not replace the page with file://.
    navigateOnDragDrop: false,
    spellcheck: false,
    devTools: opts.devTools
  }
}

export interface HardenOptions {
  origins: readonly string[]
  openExternal: (url: string) => Promise<void>
  log?: Pick<Logger, 'warn'>
}

/**
 * Applied to every web contents as it is created (app 'web-contents-created'): no navigation
 * away from our origin, no new windows (https links go to the browser instead), no webviews.
 */
export function hardenWebContents(contents: WebContents, opts: HardenOptions): void {
  const guard = (kind: string) => (event: { preventDefault(): void; url: string }) => {
    if (opts.origins.includes(originOf(event.url) ?? '')) return
    event.preventDefault()
    opts.log?.warn('navigation blocked', { kind, url: event.url.slice(0, 200) })
  }
  contents.on('will-navigate', guard('will-navigate'))
  contents.on('will-redirect', guard('will-redirect'))
  contents.on('will-attach-webview', (event) => event.preventDefault())
  contents.setWindowOpenHandler(({ url }) => {
    const external = safeExternalUrl(url)
    if (external !== null) {
      opts.openExternal(external).catch(() => opts.log?.warn('could not open a link in the browser', { url: external.slice(0, 200) }))
    } else {
      opts.log?.warn('new window blocked', { url: url.slice(0, 200) })
    }
    return { action: 'deny' }
  })
}

/** Every permission (camera, notifications, clipboard read...) denied; the network filtered. */
export function guardSession(session: Session, opts: { origins: readonly string[]; dev: boolean; log?: Pick<Logger, 'warn'> }): void {
  session.setPermissionRequestHandler((_contents, _permission, callback) => callback(false))
  session.setPermissionCheckHandler(() => false)
  session.webRequest.onBeforeRequest((details, callback) => {
    const allowed = isAllowedRequest(details.url, opts.origins, { dev: opts.dev })
    if (!allowed) opts.log?.warn('request blocked', { url: details.url.slice(0, 200) })
    callback({ cancel: !allowed })
  })
}
