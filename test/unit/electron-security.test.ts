// Window security rules, run under plain Node: external links, the app:// path resolver and
// handler, origins, the request filter, webPreferences, and the navigation and permission guards
// driven through fake web contents and sessions.
import { EventEmitter } from 'node:events'
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import type { Protocol, Session, WebContents } from 'electron'
import { describe, expect, it } from 'vitest'
import {
  APP_ENTRY_URL,
  APP_ORIGIN,
  CONTENT_SECURITY_POLICY,
  createAppProtocolHandler,
  guardSession,
  hardenWebContents,
  isAllowedRequest,
  originOf,
  registerAppScheme,
  rendererEntry,
  resolveAppPath,
  safeExternalUrl,
  secureWebPreferences
} from '../../src/main/electron/security'
import { tempDir } from '../helpers/cli'

describe('safeExternalUrl', () => {
  const allowed: [string, string][] = [
    ['https://example.com', 'https://example.com/'],
    ['https://docs.example.com/guide?tab=cli#exit-codes', 'https://docs.example.com/guide?tab=cli#exit-codes'],
    ['HTTPS://Example.COM/Path', 'https://example.com/Path'],
    ['https://example.com:8443/x', 'https://example.com:8443/x']
  ]
  for (const [input, expected] of allowed) {
    it(`opens ${input}`, () => expect(safeExternalUrl(input)).toBe(expected))
  }

  const refused: [string, unknown][] = [
    ['plain http', 'http://example.com/'],
    ['file: URL', 'file:///etc/passwd'],
    ['file: URL on a host', 'file://server/share/report.xlsx'],
    ['javascript:', 'javascript:alert(1)'],
    ['javascript: in mixed case', 'JaVaScRiPt:alert(1)'],
    ['smb: share', 'smb://server/share'],
    ['UNC path', '\\\\server\\share\\run.exe'],
    ['UNC path with forward slashes', '//server/share/run.exe'],
    ['ms-msdt: (Follina)', 'ms-msdt:/id PCWDiagnostic /skip force'],
    ['search-ms:', 'search-ms:query=invoice&crumb=location:\\\\evil\\share'],
    ['a custom scheme', 'vscode://file/etc/passwd'],
    ['our own scheme', 'app://batchery/index.html'],
    ['data: URL', 'data:text/html,<script>alert(1)</script>'],
    ['encoded NUL in the path', 'https://example.com/report%00.html'],
    ['encoded NUL in the host', 'https://example.com%00.evil.test/'],
    ['double-encoded NUL', 'https://example.com/%2500'],
    ['encoded newline', 'https://example.com/%0d%0aSet-Cookie:x'],
    ['a raw NUL', 'https://example.com/\u0000'],
    ['leading whitespace', ' https://example.com/'],
    ['a space inside', 'https://example.com/a b'],
    ['credentials', 'https://user:secret@example.com/'],
    ['a host dressed as a username', 'https://example.com@evil.test/'],
    ['backslashes after the scheme', 'https:\\\\evil.test\\x'],
    ['an empty string', ''],
    ['no scheme', 'example.com'],
    ['a very long URL', `https://example.com/${'a'.repeat(3000)}`],
    ['a number', 42],
    ['null', null]
  ]
  for (const [name, input] of refused) {
    it(`refuses ${name}`, () => expect(safeExternalUrl(input)).toBeNull())
  }
})

describe('resolveAppPath', () => {
  const root = '/opt/batchery/out/renderer'
  const inside: [string, string][] = [
    ['app://batchery/index.html', `${root}/index.html`],
    ['app://batchery/', `${root}/index.html`],
    ['app://batchery', `${root}/index.html`],
    ['app://batchery/assets/index-4f2a.js', `${root}/assets/index-4f2a.js`],
    ['app://batchery/assets/', `${root}/assets/index.html`],
    ['app://batchery/index.html?v=1#/runs/abc', `${root}/index.html`],
    ['app://batchery/assets/my%20font.woff2', `${root}/assets/my font.woff2`],
    // Decoded once only: "%252e%252e" names a file literally called "%2e%2e", inside the root.
    ['app://batchery/%252e%252e/x.js', `${root}/%2e%2e/x.js`]
  ]
  for (const [url, expected] of inside) {
    it(`serves ${url}`, () => expect(resolveAppPath(root, url)).toBe(expected))
  }

  const refused: [string, string][] = [
    ['dot-dot', 'app://batchery/../../etc/passwd'],
    ['dot-dot after a folder', 'app://batchery/assets/../../../etc/passwd'],
    ['dot-dot back into the root', 'app://batchery/assets/../index.html'],
    ['a single dot', 'app://batchery/./index.html'],
    ['encoded dot-dot', 'app://batchery/%2e%2e/%2e%2e/etc/passwd'],
    ['encoded dot-dot, upper case', 'app://batchery/%2E%2E/etc/passwd'],
    ['half-encoded dot-dot', 'app://batchery/.%2e/etc/passwd'],
    ['encoded slashes', 'app://batchery/assets/..%2f..%2fetc%2fpasswd'],
    ['an encoded absolute path', 'app://batchery/%2fetc%2fpasswd'],
    ['a double slash (absolute path)', 'app://batchery//etc/passwd'],
    ['backslashes', 'app://batchery/..\\..\\Windows\\win.ini'],
    ['a backslash inside a name', 'app://batchery/assets\\index.js'],
    ['encoded backslashes', 'app://batchery/..%5c..%5cWindows%5cwin.ini'],
    ['a drive letter', 'app://batchery/C:/Windows/win.ini'],
    ['an encoded drive letter', 'app://batchery/C%3A%5CWindows%5Cwin.ini'],
    ['an NTFS stream', 'app://batchery/index.html::$DATA'],
    ['an encoded NUL', 'app://batchery/index.html%00.png'],
    ['three dots (Windows trims to "..")', 'app://batchery/.../x'],
    ['dot-dot and a space (Windows trims it)', 'app://batchery/..%20/x'],
    ['a Windows device name', 'app://batchery/nul'],
    ['a Windows device name with an extension', 'app://batchery/assets/CON.js'],
    ['malformed percent-encoding', 'app://batchery/%E0%A4%A'],
    ['another host', 'app://other/index.html'],
    ['a look-alike host', 'app://batchery.evil/index.html'],
    ['a host with our name as prefix', 'app://batcheryevil/index.html'],
    ['no host', 'app:///etc/passwd'],
    ['a file: URL', 'file:///etc/passwd'],
    ['a plain absolute path', '/etc/passwd'],
    ['https', 'https://batchery/index.html']
  ]
  for (const [name, url] of refused) {
    it(`refuses ${name}: ${url}`, () => expect(resolveAppPath(root, url)).toBeNull())
  }

  it('refuses a relative root', () => {
    expect(resolveAppPath('out/renderer', 'app://batchery/index.html')).toBeNull()
  })
})

describe('the app:// protocol handler', () => {
  function site(): { root: string; outside: string } {
    const dir = tempDir('batchery-app-protocol-')
    const root = join(dir, 'renderer')
    mkdirSync(join(root, 'assets'), { recursive: true })
    writeFileSync(join(root, 'index.html'), '<!doctype html><title>Batchery</title>')
    writeFileSync(join(root, 'assets', 'app.js'), 'console.log(1)')
    writeFileSync(join(root, 'assets', 'app.css'), 'body{}')
    const outside = join(dir, 'secret.txt')
    writeFileSync(outside, 'secret')
    symlinkSync(outside, join(root, 'assets', 'link.js'))
    return { root, outside }
  }
  const get = (url: string, method = 'GET') => new Request(url, { method })

  it('serves files with their type and the CSP header', async () => {
    const handle = createAppProtocolHandler(site().root)
    const page = await handle(get('app://batchery/'))
    expect(page.status).toBe(200)
    expect(page.headers.get('content-type')).toBe('text/html; charset=utf-8')
    expect(page.headers.get('content-security-policy')).toBe(CONTENT_SECURITY_POLICY)
    expect(page.headers.get('x-content-type-options')).toBe('nosniff')
    expect(await page.text()).toContain('<title>Batchery</title>')
    const script = await handle(get('app://batchery/assets/app.js'))
    expect(script.headers.get('content-type')).toBe('text/javascript; charset=utf-8')
    expect(await script.text()).toBe('console.log(1)')
    expect((await handle(get('app://batchery/assets/app.css'))).headers.get('content-type')).toBe('text/css; charset=utf-8')
  })

  it('answers 404, with the CSP header, for traversal, missing files, folders and symlinks out of the root', async () => {
    const handle = createAppProtocolHandler(site().root)
    for (const url of ['app://batchery/%2e%2e/secret.txt', 'app://batchery/missing.js', 'app://batchery/assets', 'app://batchery/assets/link.js']) {
      const res = await handle(get(url))
      expect(res.status, url).toBe(404)
      expect(res.headers.get('content-security-policy'), url).toBe(CONTENT_SECURITY_POLICY)
      expect(await res.text(), url).not.toContain('secret')
    }
  })

  it('refuses methods other than GET and HEAD, and HEAD has no body', async () => {
    const handle = createAppProtocolHandler(site().root)
    expect((await handle(get('app://batchery/index.html', 'POST'))).status).toBe(405)
    const head = await handle(get('app://batchery/index.html', 'HEAD'))
    expect(head.status).toBe(200)
    expect(await head.text()).toBe('')
  })

  it('registers app:// as a standard, secure scheme and nothing more', () => {
    const calls: unknown[] = []
    registerAppScheme({ registerSchemesAsPrivileged: (schemes) => calls.push(schemes) } as Pick<Protocol, 'registerSchemesAsPrivileged'>)
    expect(calls).toEqual([[{ scheme: 'app', privileges: { standard: true, secure: true, supportFetchAPI: true } }]])
  })
})

describe('the Content-Security-Policy', () => {
  it('is the strict policy, with no inline or eval script', () => {
    expect(CONTENT_SECURITY_POLICY).toBe(
      "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'"
    )
    const scriptSrc = CONTENT_SECURITY_POLICY.split('; ').find((d) => d.startsWith('script-src'))
    expect(scriptSrc).toBe("script-src 'self'")
  })
})

describe('origins', () => {
  it('builds app: origins from scheme and host (Node would call them all "null")', () => {
    expect(originOf('app://batchery/index.html')).toBe('app://batchery')
    expect(originOf('app://batchery.evil/index.html')).toBe('app://batchery.evil')
    expect(originOf('http://localhost:5173/x')).toBe('http://localhost:5173')
    for (const url of ['about:blank', 'file:///index.html', 'data:text/html,x', 'blob:app://batchery/1', 'app:///x', 'app://u@batchery/', 'nonsense', '']) {
      expect(originOf(url), url).toBeNull()
    }
  })

  it('uses the dev server only when not packaged, and only on this machine', () => {
    expect(rendererEntry({ packaged: false, devServerUrl: 'http://localhost:5173' })).toEqual({ url: 'http://localhost:5173', origins: ['http://localhost:5173'] })
    expect(rendererEntry({ packaged: false, devServerUrl: 'http://127.0.0.1:5174/' }).origins).toEqual(['http://127.0.0.1:5174'])
    const production = { url: APP_ENTRY_URL, origins: [APP_ORIGIN] }
    expect(rendererEntry({ packaged: false, devServerUrl: undefined })).toEqual(production)
    expect(rendererEntry({ packaged: true, devServerUrl: 'http://localhost:5173' })).toEqual(production)
    expect(rendererEntry({ packaged: false, devServerUrl: 'https://evil.test/' })).toEqual(production)
    expect(rendererEntry({ packaged: false, devServerUrl: 'http://192.168.1.5:5173' })).toEqual(production)
    expect(rendererEntry({ packaged: false, devServerUrl: 'not a url' })).toEqual(production)
  })

  it('filters requests to our origin (and the dev server socket), data: and blob:', () => {
    expect(isAllowedRequest('app://batchery/assets/app.js', [APP_ORIGIN])).toBe(true)
    expect(isAllowedRequest('data:image/png;base64,AAAA', [APP_ORIGIN])).toBe(true)
    expect(isAllowedRequest('blob:app://batchery/5e1a', [APP_ORIGIN])).toBe(true)
    for (const url of ['https://example.com/x.js', 'http://localhost:5173/', 'app://batchery.evil/x', 'file:///etc/passwd', 'ws://localhost:5173/', 'devtools://devtools/x', 'bogus']) {
      expect(isAllowedRequest(url, [APP_ORIGIN]), url).toBe(false)
    }
    const dev = ['http://localhost:5173']
    expect(isAllowedRequest('http://localhost:5173/src/main.tsx', dev, { dev: true })).toBe(true)
    expect(isAllowedRequest('ws://localhost:5173/', dev, { dev: true })).toBe(true)
    expect(isAllowedRequest('devtools://devtools/bundled/x.js', dev, { dev: true })).toBe(true)
    expect(isAllowedRequest('ws://localhost:5174/', dev, { dev: true })).toBe(false)
    expect(isAllowedRequest('http://localhost:5174/', dev, { dev: true })).toBe(false)
  })
})

describe('window preferences', () => {
  it('isolates and sandboxes the page, without Node, webviews or insecure content', () => {
    const prefs = secureWebPreferences('/app/out/preload/index.cjs', { devTools: false })
    expect(prefs).toMatchObject({
      preload: '/app/out/preload/index.cjs',
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
      nodeIntegrationInWorker: false,
      nodeIntegrationInSubFrames: false,
      webSecurity: true,
      allowRunningInsecureContent: false,
      experimentalFeatures: false,
      webviewTag: false,
      navigateOnDragDrop: false,
      devTools: false
    })
    expect(prefs).not.toHaveProperty('enableBlinkFeatures')
    expect(prefs).not.toHaveProperty('additionalArguments')
  })
})

describe('web contents guards', () => {
  function fakeContents() {
    const emitter = new EventEmitter()
    let openHandler: ((d: { url: string }) => { action: string }) | null = null
    const contents = Object.assign(emitter, {
      setWindowOpenHandler(handler: (d: { url: string }) => { action: string }) {
        openHandler = handler
      }
    })
    const opened: string[] = []
    hardenWebContents(contents as unknown as WebContents, {
      origins: [APP_ORIGIN],
      openExternal: async (url) => {
        opened.push(url)
      }
    })
    const navigate = (kind: string, url: string): boolean => {
      let prevented = false
      emitter.emit(kind, { url, preventDefault: () => (prevented = true) })
      return prevented
    }
    return { navigate, open: (url: string) => openHandler?.({ url }), opened }
  }

  it('blocks navigation and redirects away from our origin, allows our own pages', () => {
    const c = fakeContents()
    for (const kind of ['will-navigate', 'will-redirect']) {
      expect(c.navigate(kind, 'app://batchery/index.html#/jobs')).toBe(false)
      for (const url of ['https://example.com/', 'app://batchery.evil/', 'file:///home/me/orders.csv', 'about:blank', 'javascript:alert(1)', 'not a url']) {
        expect(c.navigate(kind, url), `${kind} ${url}`).toBe(true)
      }
    }
  })

  it('denies every new window and sends only https links to the browser', () => {
    const c = fakeContents()
    expect(c.open('https://example.com/help')).toEqual({ action: 'deny' })
    expect(c.open('file:///etc/passwd')).toEqual({ action: 'deny' })
    expect(c.open('app://batchery/index.html')).toEqual({ action: 'deny' })
    expect(c.open('smb://server/share')).toEqual({ action: 'deny' })
    expect(c.opened).toEqual(['https://example.com/help'])
  })

  it('refuses to attach webviews', () => {
    const emitter = new EventEmitter()
    hardenWebContents(Object.assign(emitter, { setWindowOpenHandler() {} }) as unknown as WebContents, { origins: [APP_ORIGIN], openExternal: async () => {} })
    let prevented = false
    emitter.emit('will-attach-webview', { preventDefault: () => (prevented = true) })
    expect(prevented).toBe(true)
  })
})

describe('session guards', () => {
  it('denies every permission request and check, and cancels requests to other origins', () => {
    const h: {
      request?: (wc: unknown, permission: string, cb: (granted: boolean) => void) => void
      check?: (...args: unknown[]) => boolean
      filter?: (details: { url: string }, cb: (r: { cancel: boolean }) => void) => void
    } = {}
    const session = {
      setPermissionRequestHandler: (fn: typeof h.request) => (h.request = fn),
      setPermissionCheckHandler: (fn: typeof h.check) => (h.check = fn),
      webRequest: { onBeforeRequest: (fn: typeof h.filter) => (h.filter = fn) }
    }
    guardSession(session as unknown as Session, { origins: [APP_ORIGIN], dev: false })
    for (const permission of ['media', 'notifications', 'clipboard-read', 'geolocation', 'openExternal', 'fileSystem']) {
      let granted: boolean | null = null
      h.request?.({}, permission, (g) => (granted = g))
      expect(granted, permission).toBe(false)
      expect(h.check?.({}, permission, APP_ORIGIN, {}), permission).toBe(false)
    }
    const decide = (url: string): boolean | null => {
      let cancel: boolean | null = null
      h.filter?.({ url }, (r) => (cancel = r.cancel))
      return cancel
    }
    expect(decide('app://batchery/assets/app.js')).toBe(false)
    expect(decide('https://evil.test/beacon')).toBe(true)
  })
})
