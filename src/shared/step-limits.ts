// Limits of the steps and the aggregate value parser, shared by the job check (job.ts) and the
// worker. Kept apart from job.ts so that the worker bundle does not load zod.
import { closest } from './suggest'

/** The functions of an aggregate's values: count, or one of the others over a column, like "sum(total)". */
export const AGGREGATE_FUNCTIONS = ['count', 'sum', 'avg', 'min', 'max', 'distinct'] as const
export type AggregateFunction = (typeof AGGREGATE_FUNCTIONS)[number]
/** Groups an aggregate holds by default, and at most: a group costs a few hundred bytes, distinct values more. */
export const DEFAULT_MAX_GROUPS = 100_000
export const MAX_GROUPS_CEILING = 1_000_000

/** "count", "count()", "sum(total)", "distinct( customer id )": the function and its column (none for count). */
export function parseAggregateValue(text: string): { fn: AggregateFunction; column: string | null } | { problem: string } {
  const m = /^\s*([A-Za-z_]+)\s*(?:\((.*)\))?\s*$/s.exec(text)
  const name = m?.[1]?.toLowerCase()
  if (!m || !name) return { problem: `"${text}" is not a value; write a function and its column, like "sum(total)", or "count"` }
  if (!(AGGREGATE_FUNCTIONS as readonly string[]).includes(name)) {
    const hint = closest(name, AGGREGATE_FUNCTIONS)
    return { problem: `unknown function "${m[1]}"${hint ? `; did you mean "${hint}"?` : ''} (functions are ${AGGREGATE_FUNCTIONS.join(', ')})` }
  }
  const fn = name as AggregateFunction
  const column = m[2]?.trim() ?? ''
  if (fn === 'count') {
    if (column && column !== '*') return { problem: `count counts the records of each group and takes no column; to count the different values of "${column}" write "distinct(${column})"` }
    return { fn, column: null }
  }
  if (!column) return { problem: `${fn} needs a column, like "${fn}(total)"` }
  return { fn, column }
}

/** The most outputs a route step may make in one run: each is a file written at once when the run finishes. */
export const MAX_ROUTES = 300
