// The headless face: the built UI and the same API over HTTP and a WebSocket, on 127.0.0.1 only.
// Binding to loopback is not a trust boundary by itself (any local page can send requests), so
// every API request needs the per-launch token, the Host header must name this server (against
// DNS rebinding) and a browser's Origin must be this server's own.
import { randomBytes, timingSafeEqual } from 'node:crypto'
import { createReadStream, existsSync, statSync } from 'node:fs'
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import { extname, join, normalize, relative, resolve, sep } from 'node:path'
import { WebSocketServer, type WebSocket } from 'ws'
import type { EventName } from '../../shared/api'
import { createDispatcher } from '../engine/dispatcher'
import type { Engine } from '../engine/engine'
import type { Logger } from '../engine/log'
import { csvHeaderLine, recordEncoder } from '../../workers/formats/encode'

export const CSP =
  "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'"

const MIME: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.json': 'application/json',
  '.woff2': 'font/woff2'
}
/** Largest API request body: job definitions are small. */
const MAX_BODY_BYTES = 4 << 20
/** Failed records per read while streaming the CSV export. */
const CSV_PAGE = 5000
const EVENTS: EventName[] = ['run.progressed', 'run.stateChanged', 'jobs.changed']

export interface ServerOptions {
  engine: Engine
  rendererDir: string
  port?: number
  token?: string
  log?: Logger
}

export interface RunningServer {
  url: string
  port: number
  token: string
  close(): Promise<void>
}

function sameToken(given: string | null | undefined, token: string): boolean {
  if (!given) return false
  const a = Buffer.from(given)
  const b = Buffer.from(token)
  return a.length === b.length && timingSafeEqual(a, b)
}

/** The file under `root` that a URL path names, or null for anything that escapes it. */
export function staticPath(root: string, urlPath: string): string | null {
  let decoded: string
  try {
    decoded = decodeURIComponent(urlPath)
  } catch {
    return null
  }
  if (decoded.includes('\0') || decoded.includes('\\')) return null
  const file = resolve(root, '.' + normalize('/' + decoded))
  const rel = relative(root, file)
  if (rel.startsWith('..') || rel.includes(`..${sep}`) || resolve(root, rel) !== file) return null
  return file
}

export async function startServer(opts: ServerOptions): Promise<RunningServer> {
  const token = opts.token ?? randomBytes(24).toString('base64url')
  const dispatcher = createDispatcher(opts.engine, opts.log)
  const rendererDir = resolve(opts.rendererDir)
  let port = opts.port ?? 0
  const hosts = (): Set<string> => new Set([`127.0.0.1:${port}`, `localhost:${port}`])
  const origins = (): Set<string> => new Set([`http://127.0.0.1:${port}`, `http://localhost:${port}`])

  const send = (res: ServerResponse, status: number, body: string, type = 'application/json; charset=utf-8'): void => {
    res.writeHead(status, {
      'Content-Type': type,
      'Cache-Control': 'no-store',
      'X-Content-Type-Options': 'nosniff',
      'Referrer-Policy': 'no-referrer',
      'X-Frame-Options': 'DENY',
      'Content-Security-Policy': CSP
    })
    res.end(body)
  }
  const refuse = (res: ServerResponse, status: number, message: string): void =>
    send(res, status, JSON.stringify({ ok: false, error: { code: status === 404 ? 'not_found' : status === 401 || status === 403 ? 'forbidden' : 'invalid_params', message } }))

  /** The checks every API request passes: our Host, our Origin when a browser sends one, the token. */
  const guard = (req: IncomingMessage, res: ServerResponse, url: URL): boolean => {
    const origin = req.headers.origin
    if (origin !== undefined && !origins().has(origin)) {
      refuse(res, 403, 'Requests from other sites are refused.')
      return false
    }
    const auth = req.headers.authorization
    const given = auth?.startsWith('Bearer ') ? auth.slice(7) : url.searchParams.get('token')
    if (!sameToken(given, token)) {
      refuse(res, 401, 'This address needs the token Batchery printed when it started (…/?token=…).')
      return false
    }
    return true
  }

  const server = createServer((req, res) => {
    void handle(req, res).catch((e) => {
      opts.log?.error('server request failed', { url: req.url, error: (e as Error)?.message })
      if (!res.headersSent) refuse(res, 500, 'Something went wrong inside Batchery; the details are in its log.')
      else res.destroy()
    })
  })

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (!hosts().has(req.headers.host ?? '')) return refuse(res, 421, 'Unknown host.')
    const url = new URL(req.url ?? '/', `http://${req.headers.host}`)
    if (url.pathname === '/api/call') {
      if (req.method !== 'POST') return refuse(res, 405, 'Use POST.')
      if (!guard(req, res, url)) return
      if (!(req.headers['content-type'] ?? '').startsWith('application/json')) return refuse(res, 415, 'Send JSON.')
      const chunks: Buffer[] = []
      let size = 0
      for await (const chunk of req) {
        size += (chunk as Buffer).length
        if (size > MAX_BODY_BYTES) return refuse(res, 413, 'The request is too large.')
        chunks.push(chunk as Buffer)
      }
      let body: { method?: unknown; params?: unknown }
      try {
        body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as typeof body
      } catch {
        return refuse(res, 400, 'The request is not valid JSON.')
      }
      if (typeof body?.method !== 'string') return refuse(res, 400, 'The request names no method.')
      const result = await dispatcher.call(body.method, body.params)
      return send(res, 200, JSON.stringify(result))
    }
    const csv = /^\/api\/runs\/([^/]+)\/failures\.csv$/.exec(url.pathname)
    if (csv) {
      if (req.method !== 'GET') return refuse(res, 405, 'Use GET.')
      if (!guard(req, res, url)) return
      const runId = decodeURIComponent(csv[1] as string)
      if (!opts.engine.store.run(runId)) return refuse(res, 404, `There is no run ${runId}.`)
      res.writeHead(200, {
        'Content-Type': 'text/csv; charset=utf-8',
        'Content-Disposition': `attachment; filename="failed-records-${runId.replace(/[^\w.-]/g, '_')}.csv"`,
        'Cache-Control': 'no-store',
        'X-Content-Type-Options': 'nosniff'
      })
      const columns = ['file', 'line', 'step', 'code', 'message', 'raw']
      const encode = recordEncoder('csv', columns, ',')
      // Paged rather than one open cursor: the database must stay free for running jobs while a
      // slow client drains the download.
      res.write(csvHeaderLine(columns, ','))
      for (let offset = 0; ; offset += CSV_PAGE) {
        const page = opts.engine.store.failedPage(runId, { offset, limit: CSV_PAGE })
        if (!page.rows.length) break
        if (!res.write(page.rows.map(encode).join(''))) await new Promise((r) => res.once('drain', r))
        if (page.rows.length < CSV_PAGE) break
      }
      res.end()
      return
    }
    if (url.pathname.startsWith('/api/')) return refuse(res, 404, 'Unknown address.')
    if (req.method !== 'GET' && req.method !== 'HEAD') return refuse(res, 405, 'Use GET.')
    const file = url.pathname === '/' ? join(rendererDir, 'index.html') : staticPath(rendererDir, url.pathname)
    if (!file || !existsSync(file) || !statSync(file).isFile()) return refuse(res, 404, 'Not found.')
    res.writeHead(200, {
      'Content-Type': MIME[extname(file)] ?? 'application/octet-stream',
      'Content-Security-Policy': CSP,
      'X-Content-Type-Options': 'nosniff',
      'Referrer-Policy': 'no-referrer',
      'X-Frame-Options': 'DENY',
      'Cache-Control': file.endsWith('index.html') ? 'no-store' : 'max-age=3600'
    })
    createReadStream(file).pipe(res)
  }

  const wss = new WebSocketServer({ noServer: true })
  server.on('upgrade', (req, socket, head) => {
    const url = new URL(req.url ?? '/', `http://${req.headers.host}`)
    // Browsers always send Origin on a WebSocket handshake; a foreign one is a cross-site attempt.
    const ok =
      hosts().has(req.headers.host ?? '') &&
      url.pathname === '/api/events' &&
      (req.headers.origin === undefined || origins().has(req.headers.origin)) &&
      sameToken(url.searchParams.get('token'), token)
    if (!ok) {
      socket.write('HTTP/1.1 403 Forbidden\r\nConnection: close\r\n\r\n')
      socket.destroy()
      return
    }
    wss.handleUpgrade(req, socket, head, (ws) => attach(ws))
  })

  function attach(ws: WebSocket): void {
    const offs = EVENTS.map((event) =>
      dispatcher.subscribe(event, (payload) => {
        if (ws.readyState === ws.OPEN) ws.send(JSON.stringify({ event, payload }))
      })
    )
    ws.on('close', () => offs.forEach((off) => off()))
    ws.on('error', () => ws.terminate())
  }

  await new Promise<void>((resolvePromise, reject) => {
    server.once('error', reject)
    server.listen(port, '127.0.0.1', () => resolvePromise())
  })
  const address = server.address()
  port = typeof address === 'object' && address ? address.port : port
  return {
    url: `http://127.0.0.1:${port}/?token=${token}`,
    port,
    token,
    close: () =>
      new Promise<void>((r) => {
        for (const c of wss.clients) c.terminate()
        wss.close()
        server.close(() => r())
        server.closeAllConnections()
      })
  }
}
