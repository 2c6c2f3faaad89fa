// The dispatcher is the one trust boundary (issue 5, Security: "Every command validated at the
// dispatcher (fuzzed with random and hostile payloads: no crash, a clear error)"). This calls
// every method of the contract, and names that are not methods, with random and hostile params
// from seeded PRNGs: wrong types, huge strings, deep nesting, own __proto__ / constructor keys,
// null, arrays, NaN, negative numbers, structured-clone values (Map, Date, BigInt...), paths with
// ../ and NUL bytes, SQL and glob metacharacters, and valid-looking params with one field spoiled.
//
// Each call must return a Result (never throw, never hang: a per-call timeout), an error must
// carry a code from ERROR_CODES and a plain message without a stack trace, and nothing may
// pollute Object.prototype. A failure prints the seed and the call to replay it.
//
// Safety: every job the fuzzer can make valid writes only under its temp folder (absolute output
// folder, no hostile output path) and reads no big tree, so a run it starts by chance (a job saved
// under a name runs.start is then given) stays in the sandbox; runs.start never gets "fz".
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createDispatcher, type Dispatcher } from '../../src/main/engine/dispatcher'
import { Engine } from '../../src/main/engine/engine'
import { ERROR_CODES, methods, type Result } from '../../src/shared/api'
import { tempDir } from '../helpers/cli'
import { mulberry32 } from '../helpers/orders'

const SEEDS = [20261128, 7, 424242]
const CALLS_PER_SEED = 1000
const CALL_TIMEOUT_MS = 20_000
const METHOD_NAMES = Object.keys(methods) as (keyof typeof methods)[]
const GENERIC_INTERNAL = /Something went wrong inside Batchery/
const STACK_TRACE = /\n\s*at .+|\bat .+\(.+:\d+:\d+\)|\.(ts|js|mjs):\d+:\d+/

type Rnd = () => number

const pick = <T>(rnd: Rnd, xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)] as T

/** An object with an own "__proto__" key, as JSON.parse makes one (a literal would set the prototype). */
const ownProto = (payload: unknown): Record<string, unknown> => JSON.parse(`{"__proto__":${JSON.stringify(payload)},"polluted":"own"}`) as Record<string, unknown>

function deepArray(depth: number): unknown {
  let v: unknown = 'bottom'
  for (let i = 0; i < depth; i++) v = [v]
  return v
}

function deepObject(depth: number, key: string): unknown {
  let v: unknown = { polluted: 'deep' }
  for (let i = 0; i < depth; i++) v = { [key]: v }
  return v
}

interface Fixture {
  home: string
  inDir: string
  outDir: string
  runId: string
  validJob: () => Record<string, unknown>
}

function hostileStrings(fx: Fixture): string[] {
  return [
    '',
    ' ',
    '\t\n',
    'x'.repeat(101),
    'y'.repeat(1 << 20),
    '../../../../../../../../etc/passwd',
    '../'.repeat(40) + 'etc',
    '..\\..\\..\\Windows\\System32',
    '/etc/passwd',
    '/etc',
    '/dev/null',
    '/dev/zero',
    '/proc/self/environ',
    '.',
    '..',
    '~',
    '\0',
    'a\0b',
    `${fx.inDir}\0/x`,
    `${fx.inDir}/../home/..`,
    'C:\\Windows\\win.ini',
    '\\\\server\\share\\x.csv',
    'file:///etc/passwd',
    'http://127.0.0.1:1/',
    '%00',
    '%2e%2e%2f',
    '${jndi:ldap://x}',
    '$(rm -rf ~).csv',
    '`id`',
    "'; DROP TABLE runs; --",
    "' OR 1=1 --",
    '%',
    '_',
    '%_%\\',
    '*',
    '**/*',
    '[',
    '{a,b}',
    '"',
    '\u202e\u0000\uFFFF',
    '\uD800',
    '🤖'.repeat(50),
    'CON',
    'NUL',
    '__proto__',
    'constructor',
    'prototype',
    'toString',
    'hasOwnProperty',
    'valueOf',
    'jobs.list',
    'NaN',
    '1e309',
    '-1',
    'true',
    'null',
    '{}',
    '[]',
    '<script>alert(1)</script>',
    fx.runId,
    `${fx.runId}' --`,
    fx.inDir,
    fx.home,
    fx.outDir
  ]
}

/**
 * Input folders a mutated job may name. None resolves to / or another big tree whatever the
 * baseDir: a job saved with one could be started by chance, and listing walks the folder.
 */
const INPUT_FOLDERS = (fx: Fixture): unknown[] => [
  '../../../../../../../../etc/passwd',
  '/etc/passwd',
  '/dev/null',
  '\0',
  'a\0b',
  `${fx.inDir}\0/x`,
  `${fx.inDir}/../home/..`,
  'C:\\Windows',
  'file:///etc/passwd',
  '%2e%2e%2f',
  '$(rm -rf ~)',
  '',
  'x'.repeat(5000),
  5,
  null
]

const HOSTILE_NUMBERS = [NaN, Infinity, -Infinity, -1, 0, -0, 1, 1.5, 2 ** 31, 2 ** 53 + 2, -(2 ** 53), Number.MAX_VALUE, Number.MIN_VALUE, 10_001, 1e9]

function hostileValue(rnd: Rnd, fx: Fixture, depth = 0): unknown {
  const r = rnd()
  if (r < 0.3) return pick(rnd, hostileStrings(fx))
  if (r < 0.45) return pick(rnd, HOSTILE_NUMBERS)
  if (r < 0.55) return pick(rnd, [null, undefined, true, false, [], {}, [null], [[]], '', 0])
  if (r < 0.62) {
    // What structured clone carries over Electron IPC besides JSON.
    return pick(rnd, [new Date(NaN), new Date(0), new Map([['a', 1]]), new Set([1]), new Uint8Array([0, 255]), 10n, new Error('boom'), /re/g, new ArrayBuffer(8)])
  }
  if (r < 0.7) return pick(rnd, [ownProto({ polluted: 'yes' }), { constructor: { prototype: { polluted: 'yes' } } }, JSON.parse('{"__proto__":{"__proto__":{"polluted":"yes"}}}')])
  if (r < 0.75) return pick(rnd, [deepArray(5000), deepObject(5000, 'a'), deepObject(200, '__proto__'), deepArray(100_000)])
  if (r < 0.85 || depth > 2) return Array.from({ length: Math.floor(rnd() * 4) }, () => hostileValue(rnd, fx, depth + 1))
  const o: Record<string, unknown> = {}
  for (let i = Math.floor(rnd() * 4); i > 0; i--) {
    const key = pick(rnd, ['a', 'name', 'job', 'runId', 'folder', '__proto__', 'constructor', 'prototype', '', 'x'.repeat(300)])
    Object.defineProperty(o, key, { value: hostileValue(rnd, fx, depth + 1), enumerable: true, writable: true, configurable: true })
  }
  return o
}

/** A valid value for a named param of `method`, so calls get past the schema into the handlers. */
function validValue(rnd: Rnd, fx: Fixture, method: string, key: string): unknown {
  switch (key) {
    case 'runId':
      return pick(rnd, [fx.runId, fx.runId, '20991231-235959-ffff', fx.runId.toUpperCase(), `${fx.runId}' OR '1'='1`])
    case 'name':
    case 'newName':
      return pick(rnd, ['fz', 'fz', 'nope', 'fz copy', 'a'.repeat(100), '__proto__', 'constructor'])
    case 'job':
      // runs.start and runs.list take a job name (never the fixture's: no real run by design);
      // jobs.validate, jobs.save and runs.dryRun a definition.
      return method === 'runs.start' || method === 'runs.list' ? pick(rnd, ['nope', 'fz-missing', '__proto__', 'toString']) : mutatedJob(rnd, fx)
    case 'baseDir':
      return pick(rnd, [fx.home, fx.inDir, '/', '../..'])
    case 'folder':
      return pick(rnd, [fx.inDir, fx.inDir, fx.home, join(fx.inDir, 'a.csv'), '/etc', '/dev', join(fx.inDir, '..')])
    case 'path':
      return pick(rnd, [fx.inDir, fx.home, join(fx.inDir, 'a.csv'), '/etc', '/dev', '/proc/self', '', '  ', 'relative/nowhere'])
    case 'include':
      return pick(rnd, [['*.csv'], ['**/*'], ['*.jsonl'], ['../*'], ['/etc/*'], [], ['!(a)'], ['{a,b,c'], ['['.repeat(1000)]])
    case 'format':
      return pick(rnd, ['csv', 'tsv', 'jsonl'])
    case 'delimiter':
      return pick(rnd, [',', ';', '\t', '|', '"', '\n', '\0'])
    case 'encoding':
      return pick(rnd, ['utf8', 'latin1', 'windows-1252'])
    case 'header':
      return pick(rnd, [true, false])
    case 'limit':
    case 'tail':
      return pick(rnd, [1, 2, 50, 100, 1000])
    case 'offset':
      return pick(rnd, [0, 1, 5, 1_000_000])
    case 'code':
      return pick(rnd, ['FIELD_COUNT', 'PARSE_ERROR', "FIELD_COUNT' OR '1'='1", '%', '__proto__'])
    case 'step':
      return pick(rnd, ['read', 'validate (step 1)', '%', "read' --"])
    case 'pattern':
    case 'search':
      return pick(rnd, ['expected', '%', '_', '\\', "'", '"', '%\\%', '*', '(', 'line', '\0', '🤖'])
    default:
      return hostileValue(rnd, fx)
  }
}

/** The fixture's valid job with one part spoiled; output.folder stays the sandbox's (see the top). */
function mutatedJob(rnd: Rnd, fx: Fixture): unknown {
  const job = fx.validJob() as Record<string, Record<string, unknown> | unknown>
  const input = job.input as Record<string, unknown>
  const r = rnd()
  if (r < 0.1) return job
  if (r < 0.2) job.name = pick(rnd, hostileStrings(fx))
  else if (r < 0.3) input.folder = pick(rnd, INPUT_FOLDERS(fx))
  else if (r < 0.4) input.include = pick(rnd, [['../../*'], ['/etc/*'], ['**'], [''], 'x', [5]])
  else if (r < 0.5) input.delimiter = hostileValue(rnd, fx)
  else if (r < 0.6) {
    job.steps = [
      pick(rnd, [
        { filter: pick(rnd, ['constructor.constructor("return process")()', '__proto__', "v == 'a' or (", 'x'.repeat(10_000), 'this', 'process.exit(1)', 'v.constructor']) },
        { derive: ownProto('upper(v)') },
        { derive: JSON.parse('{"__proto__":"v"}') },
        { validate: { v: { type: 'integer', pattern: '(a+)+$', min: 'x' } } },
        { validate: ownProto({ type: 'string' }) },
        { script: '/etc/passwd' },
        { script: { module: '../../../../etc/hosts', export: '__proto__' } },
        { dedupe: ['__proto__'] },
        { rename: { v: '__proto__' } },
        { select: ['constructor'] },
        { unknown: 1 },
        {}
      ])
    ]
  } else if (r < 0.7) job.policy = hostileValue(rnd, fx)
  else if (r < 0.8) job.output = pick(rnd, [null, 'out', { folder: 5, format: 'csv' }, { folder: '', format: 'jsonl' }, { format: 'jsonl' }])
  else if (r < 0.9) Object.defineProperty(job, '__proto__', { value: { polluted: 'yes' }, enumerable: true, writable: true, configurable: true })
  else return hostileValue(rnd, fx)
  return job
}

function makeParams(rnd: Rnd, fx: Fixture, method: string): unknown {
  const r = rnd()
  if (r < 0.1) return hostileValue(rnd, fx)
  const schema = (methods as Record<string, unknown>)[method] as { shape?: Record<string, unknown> } | undefined
  const keys = Object.keys(schema?.shape ?? {})
  const params: Record<string, unknown> = {}
  if (r < 0.5) {
    // Valid params (optional ones sometimes left out), then at most one field spoiled.
    for (const k of keys) if (rnd() < 0.7) params[k] = validValue(rnd, fx, method, k)
    if (keys.length && rnd() < 0.5) params[pick(rnd, keys)] = hostileValue(rnd, fx)
  } else {
    for (const k of keys) {
      const q = rnd()
      if (q < 0.45) params[k] = validValue(rnd, fx, method, k)
      else if (q < 0.8) params[k] = hostileValue(rnd, fx)
    }
  }
  if (rnd() < 0.2) {
    const extra = pick(rnd, ['__proto__', 'constructor', 'prototype', 'then', 'toJSON', 'extra'])
    Object.defineProperty(params, extra, { value: pick(rnd, [{ polluted: 'yes' }, () => 'fn', null, 'x']), enumerable: true, writable: true, configurable: true })
  }
  return params
}

const UNKNOWN_METHODS = ['', ' ', 'jobs', 'jobs.', 'jobs.list ', 'JOBS.LIST', 'jobs.List', '__proto__', 'constructor', 'toString', 'hasOwnProperty', 'runs.start.x', '../jobs.list', 'jobs.list\0', 'a'.repeat(10_000), 'runs.delete', 'engine.close', 'store.db']

/** JSON.stringify that survives BigInt, cycles and depth, for messages only. */
function show(v: unknown, max = 300): string {
  const seen = new WeakSet<object>()
  let s: string
  try {
    s = JSON.stringify(v, (_k, x: unknown) => {
      if (typeof x === 'bigint') return `${x}n`
      if (typeof x === 'function') return '[function]'
      if (typeof x === 'number' && !Number.isFinite(x)) return String(x)
      if (x && typeof x === 'object') {
        if (seen.has(x)) return '[cycle]'
        seen.add(x)
        if (x instanceof Map || x instanceof Set) return `[${x.constructor.name} ${x.size}]`
      }
      return x
    }) ?? String(v)
  } catch (e) {
    s = `[unprintable: ${(e as Error).message}]`
  }
  return s.length > max ? s.slice(0, max) + `… (${s.length} chars)` : s
}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T | 'timeout'> {
  let timer: NodeJS.Timeout | undefined
  const t = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), ms)
  })
  return Promise.race([p, t]).finally(() => clearTimeout(timer))
}

function prototypeNames(): Record<string, string[]> {
  return {
    Object: Object.getOwnPropertyNames(Object.prototype).sort(),
    Array: Object.getOwnPropertyNames(Array.prototype).sort(),
    Function: Object.getOwnPropertyNames(Function.prototype).sort(),
    String: Object.getOwnPropertyNames(String.prototype).sort()
  }
}

describe('the dispatcher under random and hostile params', () => {
  let engine: Engine
  let dispatcher: Dispatcher
  let fx: Fixture
  const protoBefore = prototypeNames()

  beforeAll(async () => {
    const root = tempDir('batchery-fuzz-')
    const home = join(root, 'home')
    const inDir = join(root, 'in')
    const outDir = join(root, 'out')
    mkdirSync(inDir, { recursive: true })
    writeFileSync(join(inDir, 'a.csv'), 'id,v\n1,a\n2,b,extra\n3,"c"x\n4,d\n')
    writeFileSync(join(inDir, 'b.jsonl'), '{"id":1,"__proto__":{"polluted":"yes"}}\n')
    engine = new Engine(home)
    dispatcher = createDispatcher(engine)
    const validJob = (): Record<string, unknown> => ({
      name: 'fz',
      kind: 'records',
      input: { folder: inDir, include: ['*.csv'], format: 'csv' },
      steps: [{ validate: { id: { type: 'integer' } } }],
      output: { folder: outDir, format: 'jsonl' },
      policy: { concurrency: 1 }
    })
    const saved = await dispatcher.call('jobs.save', { job: validJob() })
    expect(saved.ok, show(saved)).toBe(true)
    const started = (await dispatcher.call('runs.start', { job: 'fz' })) as Result<{ runId: string }>
    if (!started.ok) throw new Error(show(started))
    await engine.settled(started.value.runId)
    fx = { home, inDir, outDir, runId: started.value.runId, validJob }
    const groups = (await dispatcher.call('runs.failureGroups', { runId: fx.runId })) as Result<unknown[]>
    expect(groups.ok && groups.value.length, 'the fixture run has failed records to search').toBeTruthy()
  }, 60_000)

  afterAll(async () => {
    // Runs the fuzzer started by chance (a saved job's name, a re-run) stop before the database closes.
    await engine?.shutdown()
    engine?.close()
  })

  for (const seed of SEEDS) {
    it(`seed ${seed}: ${CALLS_PER_SEED} calls over all ${METHOD_NAMES.length} methods and unknown names each return a Result with a known code and a plain message`, async () => {
      const rnd = mulberry32(seed)
      const problems: string[] = []
      const internal = new Map<string, string>()
      const tally: Record<string, number> = {}
      for (let i = 0; i < CALLS_PER_SEED; i++) {
        const unknown = rnd() < 0.05
        const method = unknown ? pick(rnd, UNKNOWN_METHODS) : (METHOD_NAMES[i % METHOD_NAMES.length] as string)
        const params = makeParams(rnd, fx, method)
        const where = `seed ${seed} call ${i}: ${show(method, 60)} ${show(params)}`
        let result: unknown
        try {
          result = await withTimeout(dispatcher.call(method, params), CALL_TIMEOUT_MS)
        } catch (e) {
          problems.push(`${where}\n  threw ${(e as Error)?.stack ?? String(e)}`)
          continue
        }
        if (result === 'timeout') {
          problems.push(`${where}\n  no answer within ${CALL_TIMEOUT_MS} ms`)
          continue
        }
        const r = result as Result<unknown>
        if (!r || typeof r !== 'object' || typeof r.ok !== 'boolean') {
          problems.push(`${where}\n  not a Result: ${show(r)}`)
          continue
        }
        try {
          JSON.stringify(r)
        } catch (e) {
          problems.push(`${where}\n  the Result cannot be sent over a transport: ${(e as Error).message}`)
        }
        if (r.ok) {
          if (unknown) problems.push(`${where}\n  an unknown method answered ok`)
          if (!('value' in r)) problems.push(`${where}\n  ok without a value`)
          tally[`${method} ok`] = (tally[`${method} ok`] ?? 0) + 1
          continue
        }
        const { code, message, problems: list } = r.error ?? ({} as never)
        tally[`${unknown ? '(unknown)' : method} ${code}`] = (tally[`${unknown ? '(unknown)' : method} ${code}`] ?? 0) + 1
        if (!(ERROR_CODES as readonly string[]).includes(code)) problems.push(`${where}\n  error code ${show(code)} is not in ERROR_CODES`)
        if (unknown && code !== 'unknown_method') problems.push(`${where}\n  unknown method gave ${code}`)
        if (typeof message !== 'string' || !message.trim()) problems.push(`${where}\n  error without a message: ${show(r.error)}`)
        else if (STACK_TRACE.test(message)) problems.push(`${where}\n  the message holds a stack trace: ${show(message, 400)}`)
        if (list !== undefined) {
          if (!Array.isArray(list)) problems.push(`${where}\n  problems is not an array`)
          else for (const pr of list) if (typeof pr?.path !== 'string' || typeof pr?.message !== 'string' || STACK_TRACE.test(pr.message)) problems.push(`${where}\n  a malformed problem: ${show(pr)}`)
        }
        // "internal" with the generic message is an exception no check caught: a hole in validation.
        if (code === 'internal' && typeof message === 'string' && GENERIC_INTERNAL.test(message)) {
          const key = `${method}`
          if (!internal.has(key)) internal.set(key, where)
        }
      }
      // One line per seed, for the log: what the calls exercised.
      console.log(`dispatcher fuzz seed ${seed}: ${Object.entries(tally).sort().map(([k, n]) => `${k}=${n}`).join(' ')}`)
      const polluted = ({} as Record<string, unknown>).polluted
      expect(polluted, 'Object.prototype.polluted').toBeUndefined()
      expect(prototypeNames(), 'built-in prototypes gained or lost properties').toEqual(protoBefore)
      expect(problems.slice(0, 20), `${problems.length} broken answers (replay: the seed and call index)`).toEqual([])
      expect(
        [...internal.values()],
        'requests answered "Something went wrong inside Batchery" (an exception the dispatcher did not turn into a clear error); first call per method'
      ).toEqual([])
    }, 300_000)
  }

  it('targeted hostile params (dialect characters the CSV reader refuses, NUL bytes in paths) get a clear error, never "Something went wrong"', async () => {
    const withInput = (input: Record<string, unknown>): Record<string, unknown> => {
      const job = fx.validJob()
      job.input = { ...(job.input as Record<string, unknown>), ...input }
      return job
    }
    const calls: [string, unknown][] = []
    for (const dialect of [{ delimiter: '"' }, { delimiter: '\n' }, { delimiter: '\r' }, { quote: '\n' }, { quote: ',' }, { quote: 'é' }]) {
      if ('delimiter' in dialect) calls.push(['inputs.preview', { folder: fx.inDir, ...dialect }])
      for (const m of ['jobs.validate', 'jobs.save', 'runs.dryRun']) calls.push([m, { job: withInput(dialect) }])
    }
    calls.push(['inputs.preview', { folder: `${fx.inDir}\0` }], ['inputs.browse', { path: `${fx.inDir}\0/..` }], ['jobs.validate', { job: withInput({ folder: `${fx.inDir}\0` }) }])
    const unclear: string[] = []
    for (const [method, params] of calls) {
      const r = (await withTimeout(dispatcher.call(method, params), CALL_TIMEOUT_MS)) as Result<unknown> | 'timeout'
      if (r === 'timeout') unclear.push(`${method} ${show(params)}: no answer`)
      else if (!r.ok && GENERIC_INTERNAL.test(r.error.message)) unclear.push(`${method} ${show(params, 200)} -> ${r.error.code}: ${r.error.message}`)
    }
    expect(unclear).toEqual([])
  })

  it('search, code and step filters treat SQL and LIKE metacharacters as text', async () => {
    for (const params of [
      { runId: fx.runId, search: '%' },
      { runId: fx.runId, search: '_' },
      { runId: fx.runId, search: "' OR 1=1 --" },
      { runId: fx.runId, code: "FIELD_COUNT' OR '1'='1" },
      { runId: fx.runId, step: "read' --" }
    ]) {
      const r = (await dispatcher.call('runs.failures', params)) as Result<{ total: number }>
      expect(r.ok && r.value.total, show(params)).toBe(0)
    }
    const all = (await dispatcher.call('runs.failures', { runId: fx.runId })) as Result<{ total: number }>
    expect(all.ok && all.value.total).toBe(2)
  })

  it('afterwards the engine still answers and nothing was polluted', async () => {
    const list = await dispatcher.call('jobs.list', {})
    expect(list.ok, show(list)).toBe(true)
    const run = await dispatcher.call('runs.get', { runId: fx.runId })
    expect(run.ok, show(run)).toBe(true)
    expect(({} as Record<string, unknown>).polluted).toBeUndefined()
    expect(Object.prototype).not.toHaveProperty('polluted')
    expect(prototypeNames()).toEqual(protoBefore)
  })
})
