// The validate step: checks each named column and converts its value to the declared type, so
// later steps and the output see numbers as numbers. Empty values become null.
import type { Rec } from '../../shared/expression'
import type { ValidateRule } from '../../shared/job'
import { RecordFailure } from './record-failure'

const INTEGER = /^[+-]?\d+$/
const NUMBER = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/
const DATE = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.\d{1,9})?)?(?:Z|[+-]\d{2}:?\d{2})?)?$/
const TRUE_WORDS = new Set(['true', 'yes', 'y', '1'])
const FALSE_WORDS = new Set(['false', 'no', 'n', '0'])

/** `text` is the value trimmed when it is a string (trimmed once, by the caller), else null. */
type Converter = (v: unknown, text: string | null) => unknown

function show(v: unknown): string {
  const s = typeof v === 'string' ? v : JSON.stringify(v)
  return s.length > 40 ? JSON.stringify(s.slice(0, 40) + '…') : JSON.stringify(s)
}

export function compileValidate(rules: Record<string, ValidateRule>, label: string): (rec: Rec) => Rec {
  const checks = Object.entries(rules).map(([column, rule]) => compileRule(column, rule, label))
  return (rec) => {
    for (const check of checks) check(rec)
    return rec
  }
}

function compileRule(column: string, rule: ValidateRule, label: string): (rec: Rec) => void {
  const fail = (code: ConstructorParameters<typeof RecordFailure>[0], message: string): never => {
    throw new RecordFailure(code, `${column}: ${message}`, label)
  }
  const convert = converter(rule.type, fail)
  const pattern = rule.pattern !== undefined ? new RegExp(rule.pattern) : null
  const allowed = rule.enum ? new Set(rule.enum.map((v) => String(v))) : null
  const { min, max } = rule
  return (rec) => {
    const raw = Object.hasOwn(rec, column) ? rec[column] : undefined
    const text = typeof raw === 'string' ? raw.trim() : null
    if (raw === undefined || raw === null || text === '') {
      if (rule.required) fail('REQUIRED', raw === undefined ? 'the column is missing' : 'a value is required')
      rec[column] = null
      return
    }
    const value = convert(raw, text)
    if (min !== undefined && (value as number | string) < min) fail('OUT_OF_RANGE', `must be at least ${min}`)
    if (max !== undefined && (value as number | string) > max) fail('OUT_OF_RANGE', `must be at most ${max}`)
    if (pattern && !pattern.test(String(value))) fail('PATTERN_MISMATCH', `does not match the pattern ${rule.pattern}`)
    if (allowed && !allowed.has(String(value))) fail('NOT_ALLOWED', `must be one of ${[...allowed].join(', ')}`)
    rec[column] = value
  }
}

function converter(type: ValidateRule['type'], fail: (code: 'WRONG_TYPE', message: string) => never): Converter {
  switch (type) {
    case 'integer':
      return (v, text) => {
        if (typeof v === 'number') return Number.isInteger(v) ? v : fail('WRONG_TYPE', `${v} is not a whole number`)
        const s = text ?? String(v).trim()
        if (!INTEGER.test(s)) fail('WRONG_TYPE', `${show(v)} is not a whole number`)
        const n = Number(s)
        if (!Number.isSafeInteger(n)) fail('WRONG_TYPE', `${show(v)} is too large to keep exactly (the limit is 9007199254740991); validate it as a string`)
        return n
      }
    case 'number':
      return (v, text) => {
        if (typeof v === 'number') return Number.isFinite(v) ? v : fail('WRONG_TYPE', `${v} is not a number`)
        const s = text ?? String(v).trim()
        if (!NUMBER.test(s)) fail('WRONG_TYPE', `${show(v)} is not a number`)
        return Number(s)
      }
    case 'boolean':
      return (v, text) => {
        if (typeof v === 'boolean') return v
        const s = (text ?? String(v).trim()).toLowerCase()
        if (TRUE_WORDS.has(s)) return true
        if (FALSE_WORDS.has(s)) return false
        return fail('WRONG_TYPE', `${show(v)} is not true/false (or yes/no, 1/0)`)
      }
    case 'date':
      return (v, text) => {
        const s = text ?? String(v).trim()
        const m = DATE.exec(s)
        if (!m || Number.isNaN(Date.parse(m[4] ? s.replace(' ', 'T') : s))) {
          return fail('WRONG_TYPE', `${show(v)} is not a date like 2024-01-31 or 2024-01-31T09:30:00Z`)
        }
        // Date.parse accepts 2024-02-31 as March 2; a real calendar check catches it.
        const d = new Date(Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3])))
        if (d.getUTCMonth() !== Number(m[2]) - 1 || d.getUTCDate() !== Number(m[3])) {
          return fail('WRONG_TYPE', `${show(v)} is not a real calendar date`)
        }
        return s
      }
    default:
      return (v) => (typeof v === 'string' ? v : typeof v === 'object' ? JSON.stringify(v) : String(v))
  }
}
