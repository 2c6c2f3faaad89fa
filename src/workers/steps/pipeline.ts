// The steps of a records job, compiled once per job version in each worker and applied to every
// record. A step returns the record (possibly changed), null when the record is filtered out, or
// throws RecordFailure when it rejects the record.
import { isAbsolute, resolve } from 'node:path'
import { pathToFileURL } from 'node:url'
import { compileExpression, isTruthy, ExpressionRuntimeError, type CompiledExpression, type Rec } from '../../shared/expression'
import type { Step } from '../../shared/job'
import type { PipelineSpec } from '../../shared/partition-task'
import { routeFolderName } from '../../shared/routes'
import type { AggregateSpec } from './aggregate'
import { RecordFailure } from './record-failure'
import { compileValidate } from './validate'

export { RecordFailure }

type StepFn = (rec: Rec) => Rec | null

export interface Pipeline {
  apply(rec: Rec): Rec | null
  /** Set by the dedupe step for the record it last saw: the key that decides duplicates. */
  lastKey: string | null
  readonly dedupes: boolean
  /** Set by the route step for the record it last saw: the name of the output it goes to. */
  lastRoute: string | null
  readonly routes: boolean
  /** The aggregate step (always the last): records that reach it are folded into a summary. */
  aggregate: { spec: AggregateSpec; label: string } | null
}

export function stepLabel(step: Step, index: number): string {
  return `${Object.keys(step)[0]} (step ${index + 1})`
}

export async function compilePipeline(spec: PipelineSpec): Promise<Pipeline> {
  const fns: StepFn[] = []
  const pipeline: Pipeline = {
    lastKey: null,
    dedupes: spec.steps.some((s) => 'dedupe' in s),
    lastRoute: null,
    routes: spec.steps.some((s) => 'route' in s),
    aggregate: null,
    apply(rec: Rec): Rec | null {
      let r: Rec | null = rec
      for (let i = 0; i < fns.length && r !== null; i++) r = (fns[i] as StepFn)(r)
      return r
    }
  }
  for (const [i, step] of spec.steps.entries()) {
    if ('aggregate' in step) {
      // Not a step of the chain: the worker folds what comes out of the chain into its partition's summary.
      pipeline.aggregate = { spec: step.aggregate, label: stepLabel(step, i) }
      continue
    }
    fns.push(await compileStep(step, stepLabel(step, i), spec.baseDir, pipeline))
  }
  return pipeline
}

async function compileStep(step: Step, label: string, baseDir: string, pipeline: Pipeline): Promise<StepFn> {
  if ('validate' in step) return compileValidate(step.validate, label)
  if ('filter' in step) {
    const expr = compileExpression(step.filter)
    return (rec) => {
      try {
        return isTruthy(expr.evaluate(rec)) ? rec : null
      } catch (e) {
        throw expressionFailure(e, label, step.filter)
      }
    }
  }
  if ('derive' in step) {
    // Parallel arrays and an index loop: no iterator or destructuring per record.
    const columns = Object.keys(step.derive)
    const sources = columns.map((c) => step.derive[c] as string)
    const exprs = sources.map((source) => compileExpression(source))
    const n = columns.length
    return (rec) => {
      for (let i = 0; i < n; i++) {
        try {
          rec[columns[i] as string] = (exprs[i] as CompiledExpression).evaluate(rec)
        } catch (e) {
          throw expressionFailure(e, label, sources[i] as string, columns[i])
        }
      }
      return rec
    }
  }
  if ('select' in step) {
    const columns = step.select
    return (rec) => {
      const out: Rec = Object.create(null)
      for (const c of columns) out[c] = Object.hasOwn(rec, c) ? rec[c] : null
      return out
    }
  }
  if ('rename' in step) {
    const map = step.rename
    return (rec) => {
      const out: Rec = Object.create(null)
      for (const k of Object.keys(rec)) out[Object.hasOwn(map, k) ? (map[k] as string) : k] = rec[k]
      return out
    }
  }
  if ('drop' in step) {
    const dropped = new Set(step.drop)
    return (rec) => {
      const out: Rec = Object.create(null)
      for (const k of Object.keys(rec)) if (!dropped.has(k)) out[k] = rec[k]
      return out
    }
  }
  if ('dedupe' in step) {
    const keys = step.dedupe
    // JSON keeps the distinction between 1 and "1" and between null and "".
    if (keys.length === 1) {
      // The usual single key, without the array and closure per record: the same text as
      // JSON.stringify([value]) for the values records hold (objects take the general path).
      const k = keys[0] as string
      return (rec) => {
        const v = Object.hasOwn(rec, k) ? (rec[k] ?? null) : null
        pipeline.lastKey = typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean' || v === null ? `[${JSON.stringify(v)}]` : JSON.stringify([v])
        return rec
      }
    }
    return (rec) => {
      pipeline.lastKey = JSON.stringify(keys.map((k) => (Object.hasOwn(rec, k) ? (rec[k] ?? null) : null)))
      return rec
    }
  }
  if ('route' in step) return compileRoute(step.route, label, pipeline)
  if ('script' in step) return compileScript(step.script, label, baseDir)
  throw new Error(`unknown step ${JSON.stringify(step)}`)
}

function expressionFailure(e: unknown, label: string, source: string, column?: string): RecordFailure {
  if (e instanceof ExpressionRuntimeError) {
    return new RecordFailure('EXPRESSION_ERROR', `${column ? `${column}: ` : ''}${e.message} (in ${source})`, label)
  }
  return new RecordFailure('EXPRESSION_ERROR', `${column ? `${column}: ` : ''}${String((e as Error)?.message ?? e)} (in ${source})`, label)
}

type RouteStep = Extract<Step, { route: unknown }>['route']

function compileRoute(route: RouteStep, label: string, pipeline: Pipeline): StepFn {
  if (route.by !== undefined) {
    const source = route.by
    const expr = compileExpression(source)
    return (rec) => {
      try {
        pipeline.lastRoute = routeFolderName(expr.evaluate(rec))
      } catch (e) {
        throw expressionFailure(e, label, source)
      }
      return rec
    }
  }
  // The first output whose condition holds, in the order the job lists them.
  const names = Object.keys(route.when ?? {})
  const sources = names.map((n) => (route.when as Record<string, string>)[n] as string)
  const exprs = sources.map((source) => compileExpression(source))
  const otherwise = route.otherwise ?? 'other'
  return (rec) => {
    let to = otherwise
    for (let i = 0; i < exprs.length; i++) {
      let hit: boolean
      try {
        hit = isTruthy((exprs[i] as CompiledExpression).evaluate(rec))
      } catch (e) {
        throw expressionFailure(e, label, sources[i] as string, names[i])
      }
      if (hit) {
        to = names[i] as string
        break
      }
    }
    pipeline.lastRoute = to
    return rec
  }
}

type ScriptStep = Extract<Step, { script: unknown }>['script']

async function compileScript(script: ScriptStep, label: string, baseDir: string): Promise<StepFn> {
  const modulePath = typeof script === 'string' ? script : script.module
  const exportName = typeof script === 'string' ? 'default' : (script.export ?? 'default')
  const file = isAbsolute(modulePath) ? modulePath : resolve(baseDir, modulePath)
  let mod: Record<string, unknown>
  try {
    mod = (await import(pathToFileURL(file).href)) as Record<string, unknown>
  } catch (e) {
    throw new Error(`the script ${file} could not be loaded: ${(e as Error)?.message ?? String(e)}`)
  }
  const fn = Object.hasOwn(mod, exportName) ? mod[exportName] : undefined
  if (typeof fn !== 'function') {
    throw new Error(`the script ${file} has no exported function "${exportName}"`)
  }
  return (rec) => {
    let out: unknown
    try {
      out = (fn as (r: Rec) => unknown)(rec)
    } catch (e) {
      throw new RecordFailure('SCRIPT_ERROR', e instanceof Error ? e.message : String(e), label)
    }
    // Returning nothing means the function changed the record in place; null or false drops it.
    if (out === undefined) return rec
    if (out === null || out === false) return null
    if (typeof out === 'object' && !Array.isArray(out)) {
      if (typeof (out as { then?: unknown }).then === 'function') {
        throw new RecordFailure('SCRIPT_ERROR', 'the script returned a promise; script functions must return the record directly', label)
      }
      return out as Rec
    }
    throw new RecordFailure('SCRIPT_ERROR', `the script must return a record (an object), null to drop it; it returned ${typeof out}`, label)
  }
}
