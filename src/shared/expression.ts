// Expressions written by analysts in job files: filters (`status != 'cancelled'`) and derived
// columns (`round(amount * quantity, 2)`).
//
// Safety: the source is parsed by jsep into an AST and compiled into nested closures over a fixed
// set of operators and functions. Nothing is ever evaluated as JavaScript, the only names that
// can be called are the functions below (kept in a Map, so `constructor` or `toString` are not
// found), and columns are read as own properties only, so no expression can reach a prototype,
// a constructor or a global.
//
// Speed: the AST is walked once, at compile time. Each node becomes a closure whose operator or
// function was chosen then, so evaluating a record is a handful of plain function calls.
//
// Semantics follow spreadsheets rather than JavaScript, because the values mostly come from CSV
// files where everything is text: '12' is the number 12 in arithmetic and comparisons, an empty
// value propagates through arithmetic, and text that is not a number is an error for that record
// instead of a silent NaN.
//
// This module is shared with the renderer: it must not import node: modules or DOM-only APIs.
import jsep from 'jsep'
import { closest } from './suggest'

export type Rec = Record<string, unknown>

export interface CompiledExpression {
  readonly source: string
  /** Column names the expression reads, in order of first appearance, without duplicates. */
  readonly columns: readonly string[]
  evaluate(rec: Rec): unknown
}

/** A syntax error or unknown function found at compile time. `position` is the 0-based character index when known. */
export class ExpressionSyntaxError extends Error {
  readonly position?: number
  constructor(message: string, position?: number) {
    super(message)
    this.name = 'ExpressionSyntaxError'
    if (position !== undefined) this.position = position
  }
}

/** Thrown by evaluate for a record whose values cannot be computed (e.g. round('abc')). Message is for an analyst. */
export class ExpressionRuntimeError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'ExpressionRuntimeError'
  }
}

type Closure = (rec: Rec) => unknown

// ==================== Parser configuration ====================
//
// jsep's operators, literals and hooks are global to the process. They are set up here once, at
// module load, through a named plugin: jsep ignores a second registration under the same name, so
// loading this module twice (tests, bundles) does not add the hooks twice. Everything the hooks
// record is stored on the AST nodes themselves under Symbol.for keys (not in module-local maps), so
// it is visible to every copy of this module. The hooks only annotate nodes: they leave the parse
// result unchanged for any other code in the process that uses jsep.

/** 0-based index where the token that produced this node starts. */
const START: unique symbol = Symbol.for('batchery.expression.start')
/** Index just after an expression (and the spaces after it): where the next one would start. */
const END: unique symbol = Symbol.for('batchery.expression.end')
/** The node was written inside parentheses. jsep drops parentheses, but `not` hoisting and `in` need to know. */
const PAREN: unique symbol = Symbol.for('batchery.expression.parenthesized')
/** Per-parse stack of token start positions, kept on the jsep parser instance. */
const TOKEN_STARTS: unique symbol = Symbol.for('batchery.expression.tokenStarts')

type Node = jsep.Expression & { [START]?: number; [END]?: number; [PAREN]?: true }
type ParserState = { [TOKEN_STARTS]?: number[] }

const WORD_OPERATORS = ['and', 'or', 'not', 'in', 'AND', 'OR', 'NOT', 'IN']

jsep.plugins.register({
  name: 'batchery-expression',
  init() {
    // Words as operators, in lowercase and SQL-style uppercase, with the precedence of their symbols.
    jsep.addBinaryOp('or', 1)
    jsep.addBinaryOp('OR', 1)
    jsep.addBinaryOp('and', 2)
    jsep.addBinaryOp('AND', 2)
    // Spreadsheet and SQL spellings of equality. jsep matches the longest operator first, so `==`,
    // `<=`, `>=` and `!=` are unaffected.
    jsep.addBinaryOp('=', 6)
    jsep.addBinaryOp('<>', 6)
    jsep.addBinaryOp('in', 7)
    jsep.addBinaryOp('IN', 7)
    // jsep compares operator text literally, so `not in` works when written with a single space.
    jsep.addBinaryOp('not in', 7)
    jsep.addBinaryOp('NOT IN', 7)
    jsep.addUnaryOp('not')
    jsep.addUnaryOp('NOT')
    jsep.addLiteral('TRUE', true)
    jsep.addLiteral('FALSE', false)
    jsep.addLiteral('NULL', null)

    // Record where each token starts (for error positions) and mark parenthesised groups.
    jsep.hooks.add(
      'gobble-token',
      function (this: jsep.HookScope, env) {
        const code = this.code
        // jsep returns numeric literals without running 'after-token', which pops this stack, so
        // nothing is pushed for them (positions are never needed for numbers).
        if ((code >= 48 && code <= 57) || code === 46) return
        const state = this as unknown as ParserState
        ;(state[TOKEN_STARTS] ??= []).push(this.index)
        if (code !== 40 /* ( */) return
        const at = this.index
        const group = this.gobbleGroup() as Node | false
        if (!group) {
          // `()`: rewind and let jsep report it the way it always does.
          this.index = at
          return
        }
        group[PAREN] = true
        env.node = this.gobbleTokenProperty(group)
      },
      true // before any other plugin's token hook, so the start is pushed for every token
    )
    jsep.hooks.add('after-token', function (this: jsep.HookScope, env) {
      const start = (this as unknown as ParserState)[TOKEN_STARTS]?.pop()
      const node = env.node as Node | undefined
      if (node && start !== undefined && node[START] === undefined) node[START] = start
    })
    jsep.hooks.add('after-expression', function (this: jsep.HookScope, env) {
      if (env.node) (env.node as Node)[END] = this.index
    })
  }
})

// ==================== Values ====================

// Exact powers of ten (every one up to 1e22 is exactly representable as a double).
const POW10 = Array.from({ length: 23 }, (_, i) => 10 ** i)

/**
 * The number a string stands for, as a plain decimal (after trimming: '12', ' -3.5 ', '1e3',
 * '00123'); null when it is empty or only spaces; undefined when it is not a number.
 *
 * Values the fast path below does not cover ('1e3', ' 12 ', long digit strings) go to Number(),
 * which is much faster than a validating regex. It accepts exactly the decimal literals with
 * surrounding white space, plus a few forms rejected here: '' and blanks (which it reads as 0),
 * 'Infinity', and radix literals such as '0x1F'.
 */
function parseNumeric(s: string): number | null | undefined {
  // Fast path for the usual cell ('19.99', '-3', '00123'): at most 15 digits, an optional sign and
  // point, nothing else. The digits form an exact integer and dividing it by an exact power of ten
  // rounds once, so the result is the same double as Number(s) (Clinger's fast path), in a
  // fraction of the time.
  const len = s.length
  if (len > 0 && len <= 17) {
    let i = 0
    let c = s.charCodeAt(0)
    const negative = c === 45 /* - */
    if (negative || c === 43 /* + */) i = 1
    let m = 0
    let digits = 0
    let decimals = -1 // digits after the point; -1 while no point has been seen
    for (; i < len; i++) {
      c = s.charCodeAt(i)
      if (c >= 48 && c <= 57) {
        m = m * 10 + (c - 48)
        digits++
        if (decimals >= 0) decimals++
      } else if (c === 46 /* . */ && decimals < 0) {
        decimals = 0
      } else {
        break
      }
    }
    if (i === len && digits > 0 && digits <= 15) {
      const n = decimals > 0 ? m / (POW10[decimals] as number) : m
      return negative ? -n : n
    }
  }
  const n = Number(s)
  if (Number.isNaN(n)) return undefined
  if (n === 0 && s.trim() === '') return null
  if (!Number.isFinite(n)) return undefined
  // Digits, signs and '.' are printable ASCII, so only a value that starts otherwise needs trimming.
  const c0 = s.charCodeAt(0)
  const t = c0 > 32 && c0 < 127 ? s : s.trim()
  if (t.length > 2 && t.charCodeAt(0) === 48 /* 0 */) {
    const c1 = t.charCodeAt(1) | 32 // lower case
    if (c1 === 120 /* x */ || c1 === 98 /* b */ || c1 === 111 /* o */) return undefined
  }
  return n
}

/**
 * A value as a number for arithmetic and numeric functions. null for an empty value (null or
 * blank text); booleans are 1 and 0. Anything else that is not a number is an error for this record.
 * `fn` names the function for the message; empty for operators.
 */
function toNumber(v: unknown, fn: string): number | null {
  if (typeof v === 'number') return v
  if (typeof v === 'string') {
    const n = parseNumeric(v)
    if (n !== undefined) return n
  } else if (v === null || v === undefined) {
    return null
  } else if (typeof v === 'boolean') {
    return v ? 1 : 0
  }
  throw new ExpressionRuntimeError(
    fn ? `${fn}(): ${show(v)} is not a number` : `cannot do arithmetic with ${show(v)} (not a number)`
  )
}

/** A number for `+`: numbers, booleans and numeric strings; undefined for everything else (which concatenates). */
function addend(v: unknown): number | undefined {
  if (typeof v === 'number') return v
  if (typeof v === 'string') return parseNumeric(v) ?? undefined
  if (typeof v === 'boolean') return v ? 1 : 0
  return undefined
}

/** A number for comparisons: numbers and numeric strings only (booleans compare as booleans). */
function comparable(v: unknown): number | undefined {
  if (typeof v === 'number') return v
  if (typeof v === 'string') return parseNumeric(v) ?? undefined
  return undefined
}

function finite(n: number): number {
  if (Number.isFinite(n)) return n
  throw new ExpressionRuntimeError('the result is too large to be a number')
}

/**
 * Numbers as text, as a spreadsheet shows them: at most 15 significant digits, so binary noise
 * like 0.1 + 0.2 = 0.30000000000000004 reads as 0.3.
 */
function formatNumber(n: number): string {
  if (Number.isInteger(n) || !Number.isFinite(n)) return String(n)
  return String(Number(n.toPrecision(15)))
}

/** Any value as text; null is ''. */
function toText(v: unknown): string {
  if (typeof v === 'string') return v
  if (typeof v === 'number') return formatNumber(v)
  if (v === null || v === undefined) return ''
  if (typeof v === 'boolean') return v ? 'true' : 'false'
  if (v instanceof Date) return Number.isNaN(v.getTime()) ? '' : v.toISOString()
  if (typeof v === 'bigint') return v.toString()
  // Nested values from JSON lines.
  try {
    return JSON.stringify(v) ?? ''
  } catch {
    return '[object]'
  }
}

/** Text for a function argument; null stays null ("null in, null out"). */
function textOrNull(v: unknown): string | null {
  return v === null || v === undefined ? null : toText(v)
}

/** A value quoted for an error message, shortened. */
function show(v: unknown): string {
  if (v === null || v === undefined) return 'an empty value'
  const t = toText(v)
  const short = t.length > 40 ? t.slice(0, 37) + '...' : t
  return typeof v === 'string' ? JSON.stringify(short) : short
}

/** Spreadsheet truthiness used by filters: null/undefined/''/false/0/NaN are false; the strings 'false' and '0' are false too (case-insensitive 'false'); everything else true. */
export function isTruthy(v: unknown): boolean {
  if (v === null || v === undefined || v === false || v === '') return false
  if (typeof v === 'number') return v !== 0 && !Number.isNaN(v)
  if (typeof v === 'string') return !(v === '0' || (v.length === 5 && v.toLowerCase() === 'false'))
  return true
}

function isEmpty(v: unknown): boolean {
  return v === null || v === undefined || (typeof v === 'string' && v.trim() === '')
}

/** true/false, or the text 'true'/'false' in any case; undefined otherwise. */
function booleanLike(v: unknown): boolean | undefined {
  if (typeof v === 'boolean') return v
  if (typeof v === 'string' && v.length <= 7) {
    const t = v.trim().toLowerCase()
    if (t === 'true') return true
    if (t === 'false') return false
  }
  return undefined
}

/** `==`: numerically when both sides are numbers, null equals only null, booleans as booleans, else exact text. */
function looseEquals(a: unknown, b: unknown): boolean {
  if (a === null || a === undefined) return b === null || b === undefined
  if (b === null || b === undefined) return false
  const x = comparable(a)
  if (x !== undefined) {
    const y = comparable(b)
    if (y !== undefined) return x === y
  }
  if (typeof a === 'boolean' || typeof b === 'boolean') {
    const p = booleanLike(a)
    const q = booleanLike(b)
    if (p !== undefined && q !== undefined) return p === q
  }
  return toText(a) === toText(b)
}

/**
 * Ordering for `<` and friends: negative, zero or positive; undefined when either side is null
 * (an empty value is neither smaller nor larger than anything). Text is ordered by code unit, which
 * is fast and the same on every machine, unlike locale collation.
 */
function compareValues(a: unknown, b: unknown): number | undefined {
  if (a === null || a === undefined || b === null || b === undefined) return undefined
  const x = comparable(a)
  if (x !== undefined) {
    const y = comparable(b)
    if (y !== undefined) return x < y ? -1 : x > y ? 1 : 0
  }
  if (typeof a === 'boolean' || typeof b === 'boolean') {
    const p = booleanLike(a)
    const q = booleanLike(b)
    if (p !== undefined && q !== undefined) return Number(p) - Number(q)
  }
  const s = toText(a)
  const t = toText(b)
  return s < t ? -1 : s > t ? 1 : 0
}

// Text functions count characters, not UTF-16 code units, so an emoji is one character. The
// common case (no surrogate pairs) stays on the fast string methods.
const SURROGATE = /[\uD800-\uDFFF]/

function charLength(s: string): number {
  return SURROGATE.test(s) ? Array.from(s).length : s.length
}

function charSlice(s: string, start: number, end?: number): string {
  return SURROGATE.test(s) ? Array.from(s).slice(start, end).join('') : s.slice(start, end)
}

// ==================== Numbers ====================

/**
 * Decimal rounding, half away from zero (as spreadsheets do): round(2.5) = 3, round(-2.5) = -3.
 * x * 10^digits carries binary representation error (1.005 * 100 = 100.49999999999999). When the
 * product is that close to a half, reading it back with 15 significant digits recovers the decimal
 * the analyst wrote, so round(1.005, 2) = 1.01. (toPrecision is slow, so only those cases take
 * that path.) Dividing the rounded integer by an exact power of ten then gives the double closest
 * to the decimal result.
 */
function roundDecimal(x: number, digits: number): number {
  const abs = Math.abs(x)
  const f = POW10[digits < 0 ? -digits : digits] ?? 10 ** Math.abs(digits)
  if (!Number.isFinite(f)) return digits < 0 ? 0 : x
  let scaled = digits >= 0 ? abs * f : abs / f
  // Beyond 2^53 a double has no fractional digits left to round.
  if (!Number.isFinite(scaled) || scaled >= 2 ** 53) return x
  const floor = Math.floor(scaled)
  // toPrecision(15) moves a value by at most 5e-15 of itself; further from .5 than that, it
  // cannot change which way the value rounds.
  if (Math.abs(scaled - floor - 0.5) <= scaled * 1e-14) scaled = Number(scaled.toPrecision(15))
  const n = Math.round(scaled) // half up, which is away from zero as scaled >= 0
  const r = digits >= 0 ? n / f : n * f
  // `|| 0` turns -0 (from rounding a small negative number) into 0.
  return (x < 0 ? -r : r) || 0
}

/** An integer argument such as a count or position (truncated); null when empty. */
function intArg(fn: string, v: unknown, what: string, min: number): number | null {
  const n = toNumber(v, fn)
  if (n === null) return null
  const i = Math.trunc(n)
  if (i < min) throw new ExpressionRuntimeError(`${fn}(): ${what} must be ${min} or more, not ${formatNumber(n)}`)
  return i
}

// Guards functions that build text from a count against a typo like padStart(x, 1e9).
const MAX_TEXT_LENGTH = 100_000

// ==================== Dates ====================

// 'YYYY-MM-DD', optionally followed by a time ('T' or a space), seconds, fractions and an offset.
const DATE_RE = /^(\d{4})-(\d{2})-(\d{2})(?:[Tt ](\d{2}):(\d{2})(?::(\d{2})(?:\.\d+)?)?(?:[Zz]|[+-](\d{2}):?(\d{2}))?)?$/

interface CivilDate {
  y: number
  m: number
  d: number
}

function daysInMonth(y: number, m: number): number {
  if (m === 2) return (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0 ? 29 : 28
  return m === 4 || m === 6 || m === 9 || m === 11 ? 30 : 31
}

/**
 * The calendar date of a value: a Date (its UTC date) or an ISO string. For a string with a time
 * and an offset, the date as written is used, not the UTC date: '2024-03-01T23:30:00-05:00' is
 * 2024-03-01, which is what an analyst reading the cell expects. null when the value is empty.
 */
function toDate(fn: string, v: unknown): CivilDate | null {
  if (v === null || v === undefined) return null
  if (typeof v === 'string') {
    const t = v.trim()
    if (t === '') return null
    const m = DATE_RE.exec(t)
    if (m) {
      const y = Number(m[1])
      const mo = Number(m[2])
      const d = Number(m[3])
      const timeOk =
        (m[4] === undefined || Number(m[4]) <= 23) &&
        (m[5] === undefined || Number(m[5]) <= 59) &&
        (m[6] === undefined || Number(m[6]) <= 59) &&
        (m[7] === undefined || Number(m[7]) <= 23) &&
        (m[8] === undefined || Number(m[8]) <= 59)
      if (mo >= 1 && mo <= 12 && d >= 1 && d <= daysInMonth(y, mo) && timeOk) return { y, m: mo, d }
    }
  } else if (v instanceof Date && !Number.isNaN(v.getTime())) {
    return { y: v.getUTCFullYear(), m: v.getUTCMonth() + 1, d: v.getUTCDate() }
  }
  throw new ExpressionRuntimeError(`${fn}(): ${show(v)} is not a date (expected YYYY-MM-DD)`)
}

// Day numbers (days since 1970-01-01) by Howard Hinnant's civil-date algorithms: exact integer
// arithmetic with no time zones, and no Date.UTC quirks (it maps years 0-99 to 1900-1999).
function dayNumber({ y, m, d }: CivilDate): number {
  const yy = m <= 2 ? y - 1 : y
  const era = Math.floor(yy / 400)
  const yoe = yy - era * 400
  const doy = Math.floor((153 * (m > 2 ? m - 3 : m + 9) + 2) / 5) + d - 1
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy
  return era * 146097 + doe - 719468
}

function fromDayNumber(days: number): CivilDate {
  const z = days + 719468
  const era = Math.floor(z / 146097)
  const doe = z - era * 146097
  const yoe = Math.floor((doe - Math.floor(doe / 1460) + Math.floor(doe / 36524) - Math.floor(doe / 146096)) / 365)
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100))
  const mp = Math.floor((5 * doy + 2) / 153)
  const d = doy - Math.floor((153 * mp + 2) / 5) + 1
  const m = mp < 10 ? mp + 3 : mp - 9
  return { y: yoe + era * 400 + (m <= 2 ? 1 : 0), m, d }
}

function formatDate({ y, m, d }: CivilDate): string {
  return `${String(y).padStart(4, '0')}-${m < 10 ? '0' : ''}${m}-${d < 10 ? '0' : ''}${d}`
}

// ==================== Functions ====================

interface FunctionDef {
  /** How to call it, for messages. */
  readonly usage: string
  readonly min: number
  readonly max: number
  /** Called with evaluated arguments. Absent optional arguments are undefined; empty values are null. */
  readonly eager?: (...args: unknown[]) => unknown
  /** Builds the closure from the argument closures, for functions that evaluate arguments lazily. */
  readonly lazy?: (args: readonly Closure[]) => Closure
}

const at = (args: readonly Closure[], i: number): Closure => args[i] as Closure

/** oneOf(x, ...) and `x in (...)`: true when x equals (==) any of the values; stops at the first match. */
function anyEquals(subject: Closure, candidates: readonly Closure[]): Closure {
  return (rec) => {
    const x = subject(rec)
    for (let i = 0; i < candidates.length; i++) if (looseEquals(x, (candidates[i] as Closure)(rec))) return true
    return false
  }
}

function mathFn(name: string, f: (n: number) => number): FunctionDef {
  return {
    usage: `${name}(x)`,
    min: 1,
    max: 1,
    eager: (x) => {
      const n = toNumber(x, name)
      // `|| 0` turns -0 (ceil(-0.5)) into 0.
      return n === null ? null : f(n) || 0
    }
  }
}

function textFn(name: string, f: (s: string) => string): FunctionDef {
  return { usage: `${name}(text)`, min: 1, max: 1, eager: (s) => (s === null || s === undefined ? null : f(toText(s))) }
}

// Predicates read null as empty text, so contains(empty, 'x') is false and a filter just drops the row.
function textTest(name: string, f: (s: string, part: string) => boolean): FunctionDef {
  return { usage: `${name}(text, part)`, min: 2, max: 2, eager: (s, part) => f(toText(s), toText(part)) }
}

function extremum(name: string, better: (a: number, b: number) => boolean): FunctionDef {
  return {
    usage: `${name}(x, y, ...)`,
    min: 1,
    max: Infinity,
    // Empty values are skipped, as a spreadsheet skips blank cells; null when all are empty.
    eager: (...xs) => {
      let best: number | null = null
      for (const x of xs) {
        const n = toNumber(x, name)
        if (n !== null && (best === null || better(n, best))) best = n
      }
      return best
    }
  }
}

function datePart(name: string, part: keyof CivilDate): FunctionDef {
  return {
    usage: `${name}(date)`,
    min: 1,
    max: 1,
    eager: (v) => {
      const d = toDate(name, v)
      return d === null ? null : d[part]
    }
  }
}

const FUNCTIONS = new Map<string, FunctionDef>([
  // ---- numbers ----
  [
    'round',
    {
      usage: 'round(x, digits)',
      min: 1,
      max: 2,
      eager: (x, digits) => {
        const n = toNumber(x, 'round')
        const d = digits === undefined ? 0 : toNumber(digits, 'round')
        return n === null || d === null ? null : roundDecimal(n, Math.trunc(d))
      }
    }
  ],
  ['floor', mathFn('floor', Math.floor)],
  ['ceil', mathFn('ceil', Math.ceil)],
  ['abs', mathFn('abs', Math.abs)],
  ['int', mathFn('int', Math.trunc)],
  ['number', mathFn('number', (n) => n)],
  [
    'sqrt',
    mathFn('sqrt', (n) => {
      if (n < 0) throw new ExpressionRuntimeError(`sqrt(): cannot take the square root of a negative number (${formatNumber(n)})`)
      return Math.sqrt(n)
    })
  ],
  [
    'pow',
    {
      usage: 'pow(x, y)',
      min: 2,
      max: 2,
      eager: (x, y) => {
        const a = toNumber(x, 'pow')
        const b = toNumber(y, 'pow')
        if (a === null || b === null) return null
        const r = a ** b
        if (!Number.isFinite(r)) {
          throw new ExpressionRuntimeError(`pow(): ${formatNumber(a)} to the power ${formatNumber(b)} is not a finite number`)
        }
        return r
      }
    }
  ],
  ['min', extremum('min', (a, b) => a < b)],
  ['max', extremum('max', (a, b) => a > b)],

  // ---- text ----
  ['upper', textFn('upper', (s) => s.toUpperCase())],
  ['lower', textFn('lower', (s) => s.toLowerCase())],
  ['trim', textFn('trim', (s) => s.trim())],
  // An empty value has length 0 rather than null: `len(code) == 0` is how analysts test it.
  ['len', { usage: 'len(text)', min: 1, max: 1, eager: (s) => (s === null || s === undefined ? 0 : charLength(toText(s))) }],
  [
    'left',
    {
      usage: 'left(text, count)',
      min: 2,
      max: 2,
      eager: (s, n) => {
        const t = textOrNull(s)
        const k = intArg('left', n, 'the count', 0)
        return t === null || k === null ? null : charSlice(t, 0, k)
      }
    }
  ],
  [
    'right',
    {
      usage: 'right(text, count)',
      min: 2,
      max: 2,
      eager: (s, n) => {
        const t = textOrNull(s)
        const k = intArg('right', n, 'the count', 0)
        return t === null || k === null ? null : charSlice(t, Math.max(0, charLength(t) - k))
      }
    }
  ],
  [
    'mid',
    {
      usage: 'mid(text, start, count) with start counted from 1',
      min: 3,
      max: 3,
      eager: (s, start, n) => {
        const t = textOrNull(s)
        const st = intArg('mid', start, 'the start', 1)
        const k = intArg('mid', n, 'the count', 0)
        return t === null || st === null || k === null ? null : charSlice(t, st - 1, st - 1 + k)
      }
    }
  ],
  [
    'substr',
    {
      usage: 'substr(text, start, length) with start counted from 0',
      min: 2,
      max: 3,
      eager: (s, start, n) => {
        const t = textOrNull(s)
        const st = intArg('substr', start, 'the start', 0)
        const k = n === undefined ? undefined : intArg('substr', n, 'the length', 0)
        if (t === null || st === null || k === null) return null
        return charSlice(t, st, k === undefined ? undefined : st + k)
      }
    }
  ],
  [
    'replace',
    {
      usage: 'replace(text, find, replacement)',
      min: 3,
      max: 3,
      // split/join replaces every occurrence of plain text; String.replaceAll would interpret `$&`
      // and friends in the replacement.
      eager: (s, find, repl) => {
        const t = textOrNull(s)
        if (t === null) return null
        const f = toText(find)
        return f === '' ? t : t.split(f).join(toText(repl))
      }
    }
  ],
  ['contains', textTest('contains', (s, part) => s.includes(part))],
  ['startsWith', textTest('startsWith', (s, part) => s.startsWith(part))],
  ['endsWith', textTest('endsWith', (s, part) => s.endsWith(part))],
  [
    'concat',
    {
      usage: 'concat(a, b, ...)',
      min: 1,
      max: Infinity,
      eager: (...xs) => {
        let out = ''
        for (const x of xs) out += toText(x)
        return out
      }
    }
  ],
  ['text', { usage: 'text(x)', min: 1, max: 1, eager: textOrNull }],
  [
    'padStart',
    {
      usage: "padStart(text, length, fill) with fill ' ' when left out",
      min: 2,
      max: 3,
      eager: (s, n, fill) => {
        const t = textOrNull(s)
        const k = intArg('padStart', n, 'the length', 0)
        if (t === null || k === null) return null
        if (k > MAX_TEXT_LENGTH) throw new ExpressionRuntimeError(`padStart(): the length ${k} is too large`)
        const c = fill === undefined || fill === null ? ' ' : toText(fill)
        const missing = k - charLength(t)
        if (missing <= 0 || c === '') return t
        return charSlice(c.repeat(Math.ceil(missing / charLength(c))), 0, missing) + t
      }
    }
  ],
  [
    'split',
    {
      usage: 'split(text, separator, index) with index counted from 0 (-1 is the last part)',
      min: 3,
      max: 3,
      eager: (s, sep, index) => {
        const t = textOrNull(s)
        const i = intArg('split', index, 'the index', -Infinity)
        if (t === null || i === null) return null
        const parts = t.split(toText(sep))
        return parts[i < 0 ? parts.length + i : i] ?? null
      }
    }
  ],

  // ---- logic and empty values ----
  [
    'if',
    {
      usage: 'if(condition, then, else)',
      min: 2,
      max: 3,
      // Only the chosen branch is evaluated: if(qty == 0, 0, total / qty) must not divide by zero.
      lazy: (args) => {
        const cond = at(args, 0)
        const then = at(args, 1)
        const otherwise = args[2] ?? (() => null)
        return (rec) => (isTruthy(cond(rec)) ? then(rec) : otherwise(rec))
      }
    }
  ],
  [
    'coalesce',
    {
      usage: 'coalesce(a, b, ...)',
      min: 1,
      max: Infinity,
      // The first value that is not empty. Blank text counts as empty, because an empty CSV cell is
      // '' rather than null. Later arguments are only evaluated when needed.
      lazy: (args) => (rec) => {
        for (const a of args) {
          const v = a(rec)
          if (!isEmpty(v)) return v
        }
        return null
      }
    }
  ],
  ['isEmpty', { usage: 'isEmpty(x)', min: 1, max: 1, eager: isEmpty }],
  ['oneOf', { usage: 'oneOf(x, value1, value2, ...)', min: 2, max: Infinity, lazy: (args) => anyEquals(at(args, 0), args.slice(1)) }],

  // ---- dates ----
  [
    'today',
    {
      usage: 'today()',
      min: 0,
      max: 0,
      eager: () => {
        const now = new Date()
        return formatDate({ y: now.getUTCFullYear(), m: now.getUTCMonth() + 1, d: now.getUTCDate() })
      }
    }
  ],
  ['now', { usage: 'now()', min: 0, max: 0, eager: () => new Date().toISOString() }],
  ['year', datePart('year', 'y')],
  ['month', datePart('month', 'm')],
  ['day', datePart('day', 'd')],
  [
    'date',
    {
      usage: 'date(text)',
      min: 1,
      max: 1,
      eager: (v) => {
        const d = toDate('date', v)
        return d === null ? null : formatDate(d)
      }
    }
  ],
  [
    'daysBetween',
    {
      usage: 'daysBetween(start, end)',
      min: 2,
      max: 2,
      // Whole calendar days from start to end; times of day are ignored.
      eager: (a, b) => {
        const from = toDate('daysBetween', a)
        const to = toDate('daysBetween', b)
        return from === null || to === null ? null : dayNumber(to) - dayNumber(from)
      }
    }
  ],
  [
    'addDays',
    {
      usage: 'addDays(date, days)',
      min: 2,
      max: 2,
      eager: (v, n) => {
        const d = toDate('addDays', v)
        const k = intArg('addDays', n, 'the number of days', -Infinity)
        if (d === null || k === null) return null
        const r = fromDayNumber(dayNumber(d) + k)
        if (r.y < 0 || r.y > 9999) throw new ExpressionRuntimeError('addDays(): the date is out of range')
        return formatDate(r)
      }
    }
  ]
])

/** col('Order ID') reads a column whose name is not an identifier; compiled specially (its argument must be a literal). */
const COL = 'col'

export const FUNCTION_NAMES: readonly string[] = Object.freeze([COL, ...FUNCTIONS.keys()].sort())

// Names from other tools that are far (in edits) from ours, for the did-you-mean hint.
const ALIASES = new Map<string, string>([
  ['length', 'len'],
  ['size', 'len'],
  ['substring', 'substr'],
  ['touppercase', 'upper'],
  ['ucase', 'upper'],
  ['tolowercase', 'lower'],
  ['lcase', 'lower'],
  ['includes', 'contains'],
  ['iif', 'if'],
  ['isnull', 'isEmpty'],
  ['isblank', 'isEmpty'],
  ['ifnull', 'coalesce'],
  ['nvl', 'coalesce'],
  ['tostring', 'text'],
  ['string', 'text'],
  ['str', 'text'],
  ['parsefloat', 'number'],
  ['parseint', 'int'],
  ['value', 'number'],
  ['trunc', 'int'],
  ['substitute', 'replace'],
  ['replaceall', 'replace'],
  ['concatenate', 'concat'],
  ['lpad', 'padStart'],
  ['datediff', 'daysBetween'],
  ['dateadd', 'addDays'],
  ['power', 'pow'],
  ['column', 'col']
])

function suggestFunction(name: string): string | undefined {
  return ALIASES.get(name.toLowerCase()) ?? closest(name, FUNCTION_NAMES)
}

// ==================== Compiler ====================

interface Context {
  readonly source: string
  readonly columns: string[]
  readonly seen: Set<string>
}

const hasOwn = Object.prototype.hasOwnProperty

function readColumn(ctx: Context, name: string): Closure {
  if (!ctx.seen.has(name)) {
    ctx.seen.add(name)
    ctx.columns.push(name)
  }
  // Own properties only: a column named __proto__ or constructor must not reach the prototype.
  return (rec) => {
    if (!hasOwn.call(rec, name)) return null
    const v = rec[name]
    return v === undefined ? null : v
  }
}

/** A syntax error whose message ends with a human (1-based) location. */
function syntaxError(ctx: { source: string }, message: string, position?: number): ExpressionSyntaxError {
  if (position === undefined) return new ExpressionSyntaxError(message)
  const where = position >= ctx.source.length ? 'at the end' : `at character ${position + 1}`
  return new ExpressionSyntaxError(`${message} (${where})`, position)
}

const LOGICAL_OPERATORS = new Set(['&&', '||', 'and', 'or', 'AND', 'OR', '??'])
const NEGATIONS = new Set(['!', 'not', 'NOT'])

/**
 * jsep binds unary operators tightest, so `not status == 'cancelled'` parses as
 * `(not status) == 'cancelled'`, which is never what anyone means. As in SQL and Python, a
 * negation written without parentheses applies to the whole comparison or calculation after it
 * (but not across `and`/`or`): `not a == b and c` is `(not (a == b)) and c`. `!` is treated like
 * `not`. Returns the rewritten node, or undefined when the node's leftmost operand is not a bare
 * negation. Mutates the AST, which belongs to this compilation.
 */
function hoistNegation(node: jsep.BinaryExpression): Node | undefined {
  let parent = node
  let left = node.left as Node
  while (left.type === 'BinaryExpression' && !left[PAREN] && !LOGICAL_OPERATORS.has((left as jsep.BinaryExpression).operator)) {
    parent = left as jsep.BinaryExpression
    left = parent.left as Node
  }
  if (left.type !== 'UnaryExpression' || left[PAREN]) return undefined
  const negation = left as jsep.UnaryExpression & Node
  if (!NEGATIONS.has(negation.operator)) return undefined
  parent.left = negation.argument
  const hoisted: jsep.UnaryExpression & Node = { type: 'UnaryExpression', operator: negation.operator, argument: node, prefix: true }
  hoisted[START] = negation[START]
  return hoisted
}

function compileNode(node: Node, ctx: Context): Closure {
  switch (node.type) {
    case 'Literal': {
      const value = (node as jsep.Literal).value
      if (value instanceof RegExp) throw syntaxError(ctx, 'regular expressions are not supported', node[START])
      return () => value
    }
    case 'Identifier': {
      const name = (node as jsep.Identifier).name
      if (WORD_OPERATORS.includes(name)) {
        const pos = node[START]
        const last = pos !== undefined && ctx.source.slice(pos + name.length).trim() === ''
        throw syntaxError(
          ctx,
          last ? `expected a value after "${name}"` : `"${name}" cannot be used as a value here; for a column named ${name} write col('${name}')`,
          pos
        )
      }
      return readColumn(ctx, name)
    }
    case 'BinaryExpression': {
      const b = node as jsep.BinaryExpression
      if (!LOGICAL_OPERATORS.has(b.operator)) {
        const hoisted = hoistNegation(b)
        if (hoisted) return compileNode(hoisted, ctx)
      }
      return compileBinary(b, ctx)
    }
    case 'UnaryExpression':
      return compileUnary(node as jsep.UnaryExpression & Node, ctx)
    case 'ConditionalExpression': {
      const c = node as jsep.ConditionalExpression
      const test = compileNode(c.test, ctx)
      const consequent = compileNode(c.consequent, ctx)
      const alternate = compileNode(c.alternate, ctx)
      return (rec) => (isTruthy(test(rec)) ? consequent(rec) : alternate(rec))
    }
    case 'CallExpression':
      return compileCall(node as jsep.CallExpression & Node, ctx)
    case 'MemberExpression':
      throw memberError(node as jsep.MemberExpression & Node, ctx)
    case 'ArrayExpression':
      throw syntaxError(ctx, "square brackets are not allowed; for a list of values write x in ('a', 'b')", node[START])
    case 'ThisExpression':
      throw syntaxError(ctx, `"this" is not allowed; for a column named this write col('this')`, node[START])
    case 'SequenceExpression':
      throw syntaxError(
        ctx,
        `a list of values in parentheses is only allowed after "in", as in x in ('a', 'b')`,
        node[START]
      )
    case 'Compound':
      throw compoundError(node as jsep.Compound, ctx)
    default:
      // Syntax that another jsep plugin in the process may have enabled (objects, arrows, ...).
      throw syntaxError(ctx, 'this kind of expression is not supported', node[START])
  }
}

function compileUnary(node: jsep.UnaryExpression & Node, ctx: Context): Closure {
  const op = node.operator
  const arg = compileNode(node.argument, ctx)
  if (NEGATIONS.has(op)) return (rec) => !isTruthy(arg(rec))
  if (op === '-') {
    return (rec) => {
      const n = toNumber(arg(rec), '')
      return n === null ? null : -n
    }
  }
  if (op === '+') return (rec) => toNumber(arg(rec), '')
  throw syntaxError(ctx, `operator "${op}" is not supported`, node[START])
}

/** Hints for operators jsep knows but this language does not support. */
const UNSUPPORTED_BINARY: Record<string, string> = {
  '**': 'for powers use pow(x, y)',
  '^': 'for powers use pow(x, y)',
  '&': 'use "and" to combine conditions, or concat(a, b) to join text',
  '|': 'use "or" to combine conditions',
  '??': 'to fall back on another value use coalesce(a, b)'
}

function compileBinary(node: jsep.BinaryExpression, ctx: Context): Closure {
  const op = node.operator
  if (op === 'in' || op === 'IN' || op === 'not in' || op === 'NOT IN') {
    const right = node.right as Node
    if (!right[PAREN]) throw syntaxError(ctx, `write the values after "${op}" in parentheses, as in x ${op} ('a', 'b')`, right[START])
    const subject = compileNode(node.left, ctx)
    const list = right.type === 'SequenceExpression' ? (right as jsep.SequenceExpression).expressions : [right]
    const test = anyEquals(subject, list.map((e) => compileNode(e, ctx)))
    return op === 'in' || op === 'IN' ? test : (rec) => !test(rec)
  }
  if (!hasOwn.call(BINARY, op)) {
    const hint = hasOwn.call(UNSUPPORTED_BINARY, op) ? `; ${UNSUPPORTED_BINARY[op]}` : ''
    throw syntaxError(ctx, `operator "${op}" is not supported${hint}`, findOperator(ctx.source, op))
  }
  const left = compileNode(node.left, ctx)
  const right = compileNode(node.right, ctx)
  return (BINARY[op] as (l: Closure, r: Closure) => Closure)(left, right)
}

const equals = (l: Closure, r: Closure): Closure => (rec) => looseEquals(l(rec), r(rec))
const notEquals = (l: Closure, r: Closure): Closure => (rec) => !looseEquals(l(rec), r(rec))
const and = (l: Closure, r: Closure): Closure => (rec) => isTruthy(l(rec)) && isTruthy(r(rec))
const or = (l: Closure, r: Closure): Closure => (rec) => isTruthy(l(rec)) || isTruthy(r(rec))

function ordering(test: (c: number) => boolean) {
  return (l: Closure, r: Closure): Closure =>
    (rec) => {
      const c = compareValues(l(rec), r(rec))
      return c !== undefined && test(c)
    }
}

// Arithmetic with an empty value (null or blank text) gives an empty value, as an empty cell
// propagates through a spreadsheet formula: a row missing its quantity gets no total rather than
// a wrong total of 0. Both sides are converted first so that text like 'abc' is reported even
// when the other side is empty.
function arithmetic(f: (a: number, b: number) => number, checkDivisor: boolean) {
  return (l: Closure, r: Closure): Closure =>
    (rec) => {
      const a = toNumber(l(rec), '')
      const b = toNumber(r(rec), '')
      if (a === null || b === null) return null
      if (checkDivisor && b === 0) throw new ExpressionRuntimeError('division by zero')
      return finite(f(a, b))
    }
}

// `+` adds when both sides are numbers (or numeric text), and otherwise joins them as text with an
// empty value as '': 'Mr ' + name works, and '00123' + 1 is 124.
const plus = (l: Closure, r: Closure): Closure => (rec) => {
  const a = l(rec)
  const b = r(rec)
  const x = addend(a)
  if (x !== undefined) {
    const y = addend(b)
    if (y !== undefined) return finite(x + y)
  }
  return toText(a) + toText(b)
}

const BINARY: Record<string, (l: Closure, r: Closure) => Closure> = {
  '==': equals,
  '=': equals,
  '===': equals,
  '!=': notEquals,
  '<>': notEquals,
  '!==': notEquals,
  '<': ordering((c) => c < 0),
  '<=': ordering((c) => c <= 0),
  '>': ordering((c) => c > 0),
  '>=': ordering((c) => c >= 0),
  '+': plus,
  '-': arithmetic((a, b) => a - b, false),
  '*': arithmetic((a, b) => a * b, false),
  '/': arithmetic((a, b) => a / b, true),
  '%': arithmetic((a, b) => a % b, true),
  '&&': and,
  and,
  AND: and,
  '||': or,
  or,
  OR: or
}

function compileCall(node: jsep.CallExpression & Node, ctx: Context): Closure {
  const callee = node.callee as Node
  if (callee.type === 'MemberExpression') throw memberError(callee as jsep.MemberExpression & Node, ctx, node[START])
  if (callee.type !== 'Identifier' || callee[PAREN]) {
    throw syntaxError(ctx, 'only a function name can be followed by "(", as in upper(name)', node[START])
  }
  const name = (callee as jsep.Identifier).name
  const args = node.arguments as Node[]

  if (name === COL) {
    const arg = args[0]
    if (args.length !== 1 || arg === undefined || arg.type !== 'Literal' || typeof (arg as jsep.Literal).value !== 'string') {
      throw syntaxError(ctx, "col() takes the column name in quotes, as in col('Order ID')", node[START])
    }
    return readColumn(ctx, (arg as jsep.Literal).value as string)
  }

  const def = FUNCTIONS.get(name)
  if (def === undefined) {
    const suggestion = suggestFunction(name)
    throw syntaxError(ctx, `unknown function "${name}"${suggestion ? `; did you mean "${suggestion}"?` : ''}`, node[START])
  }
  if (args.length < def.min || args.length > def.max) {
    const expected =
      def.min === def.max ? `${def.min}` : def.max === Infinity ? `at least ${def.min}` : `${def.min} to ${def.max}`
    throw syntaxError(
      ctx,
      `${name}() takes ${expected} argument${expected === '1' ? '' : 's'}, not ${args.length}: ${def.usage}`,
      node[START]
    )
  }

  const compiled = args.map((a) => compileNode(a, ctx))
  if (def.lazy) return def.lazy(compiled)
  const f = def.eager as (...args: unknown[]) => unknown
  // Fixed arities avoid building an argument array for every record.
  switch (compiled.length) {
    case 0:
      return () => f()
    case 1: {
      const a = at(compiled, 0)
      return (rec) => f(a(rec))
    }
    case 2: {
      const a = at(compiled, 0)
      const b = at(compiled, 1)
      return (rec) => f(a(rec), b(rec))
    }
    case 3: {
      const a = at(compiled, 0)
      const b = at(compiled, 1)
      const c = at(compiled, 2)
      return (rec) => f(a(rec), b(rec), c(rec))
    }
    default:
      return (rec) => f(...compiled.map((c) => c(rec)))
  }
}

/**
 * `a.b`, `a['b']` and `a.b()`: explain that columns are read with col() and that there are no
 * methods. `callStart` is given for a method call (the callee itself is not a token, so it has no
 * recorded start).
 */
function memberError(node: jsep.MemberExpression & Node, ctx: Context, callStart?: number): ExpressionSyntaxError {
  const called = callStart !== undefined
  const pos = node[START] ?? callStart
  if (node.computed) return syntaxError(ctx, "square brackets are not allowed; to read a column write col('name')", pos)
  const parts: string[] = []
  let n: jsep.Expression = node
  while (n.type === 'MemberExpression' && !(n as jsep.MemberExpression).computed) {
    const m = n as jsep.MemberExpression
    if (m.property.type !== 'Identifier') break
    parts.unshift((m.property as jsep.Identifier).name)
    n = m.object
  }
  if (called) {
    const method = parts[parts.length - 1] ?? ''
    const fn = suggestFunction(method)
    return syntaxError(
      ctx,
      `methods such as ".${method}()" are not available; use a function${fn ? ` such as ${fn}(...)` : ''} instead`,
      pos
    )
  }
  if (n.type === 'Identifier') {
    const dotted = [(n as jsep.Identifier).name, ...parts].join('.')
    return syntaxError(ctx, `"${dotted}": a "." cannot follow a column name; for a column named ${dotted} write col('${dotted}')`, pos)
  }
  return syntaxError(ctx, `"." is not allowed after a value; to read a column write col('name')`, pos)
}

/** Two expressions one after the other (`a b`, `a, b`): jsep accepts them, a formula must be one. */
function compoundError(node: jsep.Compound, ctx: Context): ExpressionSyntaxError {
  const first = node.body[0] as Node | undefined
  if (first === undefined) return syntaxError(ctx, 'the expression is empty')
  const pos = first[END] ?? 0
  const rest = ctx.source.slice(pos)
  const ch = rest[0]
  if (ch === ',') return syntaxError(ctx, 'unexpected "," (commas only separate the arguments of a function)', pos)
  if (ch === ';') return syntaxError(ctx, 'unexpected ";" (an expression is a single formula)', pos)
  // The word, number or quoted text that follows, for the message.
  const word = /^(?:[\p{L}\p{N}_$.]+|'[^']*'?|"[^"]*"?)/u.exec(rest)?.[0] ?? ch ?? ''
  const lower = word.toLowerCase()
  if (['and', 'or', 'not', 'in'].includes(lower)) {
    if (rest.slice(word.length).trim() === '') return syntaxError(ctx, `expected a value after "${word}"`, pos)
    if (word !== lower && word !== word.toUpperCase()) {
      return syntaxError(ctx, `expected an operator before "${word}"; write "${lower}" in lowercase`, pos)
    }
    if (lower === 'not') return syntaxError(ctx, `expected an operator before "not"; for "not in" put a single space between the words`, pos)
  }
  const shown = word.startsWith("'") || word.startsWith('"') ? word : `"${word}"`
  return syntaxError(ctx, `expected an operator (such as +, == or and) before ${shown}`, pos)
}

// ==================== Source scanning (for error positions) ====================

/**
 * Calls visit for each character outside string literals, with the parenthesis depth; returns the
 * index where visit returned true, or -1. Only used to locate errors, never to parse.
 */
function scan(source: string, visit: (i: number, depth: number) => boolean): number {
  let depth = 0
  for (let i = 0; i < source.length; i++) {
    const ch = source[i]
    if (ch === '"' || ch === "'") {
      i++
      while (i < source.length && source[i] !== ch) i += source[i] === '\\' ? 2 : 1
      continue
    }
    if (ch === '(' || ch === '[') depth++
    else if (ch === ')' || ch === ']') depth--
    if (visit(i, depth)) return i
  }
  return -1
}

const OPERATOR_CHARS = new Set('&|^*?<>~'.split(''))

/** Where an operator made of OPERATOR_CHARS is written (exactly, not as part of a longer one). */
function findOperator(source: string, op: string): number | undefined {
  const isOp = (i: number) => OPERATOR_CHARS.has(source[i] as string)
  const i = scan(source, (i) => {
    if (!isOp(i) || (i > 0 && isOp(i - 1))) return false
    let end = i
    while (end < source.length && isOp(end)) end++
    return source.slice(i, end) === op
  })
  return i >= 0 ? i : undefined
}

/** The opening quote of a string that is never closed. */
function unclosedQuote(source: string): number | undefined {
  for (let i = 0; i < source.length; i++) {
    const ch = source[i]
    if (ch !== '"' && ch !== "'") continue
    const start = i
    i++
    while (i < source.length && source[i] !== ch) i += source[i] === '\\' ? 2 : 1
    if (i >= source.length) return start
  }
  return undefined
}

/** jsep's messages, reworded for an analyst. */
function parseError(source: string, e: unknown): ExpressionSyntaxError {
  const err = e as { index?: unknown; description?: unknown; message?: unknown }
  const pos = typeof err.index === 'number' ? err.index : undefined
  const desc = typeof err.description === 'string' ? err.description : String(err.message ?? e)
  const ctx = { source }
  let m: RegExpExecArray | null
  if (desc.startsWith('Unclosed quote')) {
    return syntaxError(ctx, 'this text is missing its closing quote', unclosedQuote(source) ?? pos)
  }
  if ((m = /^Unexpected "?(.)"?$/.exec(desc))) {
    const ch = m[1] as string
    if (ch === '=' && pos === 0) return syntaxError(ctx, 'unexpected "=" (an expression does not start with "=")', pos)
    if (ch === ')') return syntaxError(ctx, 'unexpected ")" (no "(" to close)', pos)
    if (ch === '[' || ch === ']') return syntaxError(ctx, "square brackets are not allowed; to read a column write col('name')", pos)
    return syntaxError(ctx, `unexpected "${ch}"`, pos)
  }
  if ((m = /^Expected expression after (.+)$/.exec(desc))) return syntaxError(ctx, `expected a value after "${m[1]}"`, pos)
  if (desc === 'missing unaryOp argument' || desc === 'Expected expression') return syntaxError(ctx, 'expected a value', pos)
  if (desc.startsWith('Variable names cannot start with a number')) {
    // Report the whole word: jsep's message shows only the digits and one more character.
    const start = pos === undefined ? 0 : source.slice(0, pos).search(/[\d.]+$/)
    const word = /^[\p{L}\p{N}_$.]+/u.exec(source.slice(Math.max(0, start)))?.[0] ?? ''
    return syntaxError(ctx, `"${word}" is neither a number nor a column name; for a column named ${word} write col('${word}')`, start >= 0 ? start : pos)
  }
  if (desc === 'Unexpected period') return syntaxError(ctx, 'unexpected "."', pos)
  if (desc.startsWith('Expected exponent')) return syntaxError(ctx, 'this number is incomplete', pos)
  if (desc === 'Unclosed (' || desc === 'Expected )') return syntaxError(ctx, 'missing ")"', pos)
  if (desc === 'Unclosed [') return syntaxError(ctx, 'missing "]"', pos)
  if (desc === 'Expected :') return syntaxError(ctx, 'a "?" needs a ":" as in condition ? then : else', pos)
  if (desc === 'Expected comma') return syntaxError(ctx, 'expected "," between the arguments of a function', pos)
  if (desc === 'Unexpected token ,') return syntaxError(ctx, 'unexpected "," (a value is missing)', pos)
  if (desc === 'Unexpected token )') return syntaxError(ctx, 'unexpected ")" after ","', pos)
  return syntaxError(ctx, desc.charAt(0).toLowerCase() + desc.slice(1), pos)
}

// ==================== Entry point ====================

export function compileExpression(source: string): CompiledExpression {
  if (typeof source !== 'string' || source.trim() === '') throw new ExpressionSyntaxError('the expression is empty')
  let ast: Node
  try {
    ast = jsep(source) as Node
  } catch (e) {
    throw parseError(source, e)
  }
  const ctx: Context = { source, columns: [], seen: new Set() }
  if (ast.type !== 'Compound') {
    // jsep skips stray separators (`a;`, `, a`); an analyst most likely left something out.
    const stray = scan(source, (i, depth) => depth === 0 && (source[i] === ',' || source[i] === ';'))
    if (stray >= 0) {
      const why = source[stray] === ',' ? 'commas only separate the arguments of a function' : 'an expression is a single formula'
      throw syntaxError(ctx, `unexpected "${source[stray]}" (${why})`, stray)
    }
  }
  const evaluate = compileNode(ast, ctx)
  return Object.freeze({ source, columns: Object.freeze(ctx.columns), evaluate })
}
