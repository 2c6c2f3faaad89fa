import type { Step } from './job'

/**
 * The columns a record has after each step, known without reading data. `open` turns true after a
 * script step that does not declare the columns it adds: from there on, names cannot be checked.
 */
export function columnsAfter(header: readonly string[], steps: readonly Step[]): { columns: string[]; open: boolean } {
  let columns = [...header]
  let open = false
  for (const step of steps) {
    if ('derive' in step) {
      for (const name of Object.keys(step.derive)) if (!columns.includes(name)) columns.push(name)
    } else if ('select' in step) {
      columns = [...step.select]
    } else if ('rename' in step) {
      columns = columns.map((c) => step.rename[c] ?? c)
    } else if ('drop' in step) {
      columns = columns.filter((c) => !step.drop.includes(c))
    } else if ('aggregate' in step) {
      columns = [...step.aggregate.by, ...Object.keys(step.aggregate.values)]
    } else if ('script' in step) {
      const adds = typeof step.script === 'string' ? undefined : step.script.adds
      if (adds) {
        for (const name of adds) if (!columns.includes(name)) columns.push(name)
      } else {
        open = true
      }
    }
  }
  return { columns, open }
}

/** Union of column lists, in order of first appearance (for a merged CSV output over files whose headers differ). */
export function unionColumns(lists: readonly (readonly string[])[]): string[] {
  const seen = new Set<string>()
  const out: string[] = []
  for (const list of lists) for (const c of list) if (!seen.has(c)) (seen.add(c), out.push(c))
  return out
}
