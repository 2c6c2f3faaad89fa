// A files job's command template: an argument list with placeholders (GNU parallel's and friendly
// names), expanded per input file into the exact argv that runs. Without "shell": true nothing
// here is ever read by a shell: a file named `$(rm -rf ~).csv` is one argument, byte for byte. With
// a shell, every placeholder value is inserted quoted, as GNU parallel does.
import { basename, dirname, isAbsolute, relative, sep } from 'node:path'
import type { FilesJob, JobProblem } from '../../shared/job'
import { closest } from '../../shared/suggest'

/** What each placeholder stands for. */
export const PLACEHOLDERS = {
  '{}': 'path',
  '{path}': 'path',
  '{/}': 'name',
  '{name}': 'name',
  '{/.}': 'stem',
  '{stem}': 'stem',
  '{.}': 'noext',
  '{noext}': 'noext',
  '{ext}': 'ext',
  '{//}': 'dir',
  '{dir}': 'dir',
  '{#}': 'seq',
  '{seq}': 'seq',
  '{out}': 'out',
  '{rel}': 'rel',
  '{reldir}': 'reldir'
} as const

export type PlaceholderValue = (typeof PLACEHOLDERS)[keyof typeof PLACEHOLDERS]
export type ItemValues = Record<PlaceholderValue, string>

/**
 * Brace text that looks like a placeholder: `{}`, GNU parallel's punctuation forms (`{/.}`, `{#}`,
 * `{%}`, `{1}`...) and `{word}`. Other brace text (`{"a": 1}`, awk's `{print $1}`, `${HOME}` in a
 * shell line) is left as it is.
 */
const CANDIDATE = /(?<!\$)\{([/.#%]*|\d[\w/.]*|[A-Za-z]\w*)\}/g

type Token = { literal: string } | { value: PlaceholderValue }

export function tokenize(arg: string): Token[] {
  const tokens: Token[] = []
  let last = 0
  for (const m of arg.matchAll(CANDIDATE)) {
    const value = (PLACEHOLDERS as Record<string, PlaceholderValue>)[m[0]]
    if (!value) continue
    if (m.index > last) tokens.push({ literal: arg.slice(last, m.index) })
    tokens.push({ value })
    last = m.index + m[0].length
  }
  if (last < arg.length) tokens.push({ literal: arg.slice(last) })
  return tokens
}

const NAMES = Object.keys(PLACEHOLDERS)

/**
 * Placeholders the template does not know: GNU parallel forms that mean nothing here ({%}, {1},
 * {2/}) and words one typo away from a placeholder ({stm}). Other `{word}` text is literal, as in
 * GNU parallel, so that `awk '{print}'` keeps working.
 */
export function templateProblems(command: string | string[]): JobProblem[] {
  const problems: JobProblem[] = []
  const args = typeof command === 'string' ? [command] : command
  args.forEach((arg, i) => {
    for (const m of arg.matchAll(CANDIDATE)) {
      const p = m[0]
      if (p in PLACEHOLDERS) continue
      const word = /^\{[A-Za-z]\w*\}$/.test(p)
      const hint = closest(p, NAMES)
      if (word && !hint) continue
      const why = word ? '' : " (GNU parallel's input sources and job slots mean nothing here: each file is one item)"
      problems.push({
        path: typeof command === 'string' ? 'command' : `command[${i}]`,
        message: `unknown placeholder "${p}"${why}${hint ? `; did you mean "${hint}"?` : ''}; placeholders are ${NAMES.join(' ')}`
      })
    }
  })
  return problems
}

export function usesPlaceholders(command: string | string[]): boolean {
  const args = typeof command === 'string' ? [command] : command
  return args.some((a) => tokenize(a).some((t) => 'value' in t))
}

export function usesOut(command: string | string[]): boolean {
  const args = typeof command === 'string' ? [command] : command
  return args.some((a) => tokenize(a).some((t) => 'value' in t && t.value === 'out'))
}

/**
 * A path as the command sees it: relative to the working directory (the job file's folder) when
 * it lies inside it, else absolute. A relative path that would start with "-" gets "./" so that
 * no program reads a file name as an option.
 */
export function shownPath(abs: string, cwd: string): string {
  const rel = relative(cwd, abs)
  if (!rel) return '.'
  if (rel.startsWith('..') || isAbsolute(rel)) return abs
  return rel.startsWith('-') ? `.${sep}${rel}` : rel
}

/** The values of every placeholder for one input file. */
export function itemValues(item: { path: string; relPath: string; seq: number; out: string }, cwd: string): ItemValues {
  const path = shownPath(item.path, cwd)
  const name = basename(item.path)
  const dot = name.lastIndexOf('.')
  const ext = dot > 0 ? name.slice(dot + 1) : ''
  const stem = ext ? name.slice(0, dot) : name
  const reldir = item.relPath.includes('/') ? item.relPath.slice(0, item.relPath.lastIndexOf('/')) : '.'
  return {
    path,
    name,
    stem,
    ext,
    noext: ext ? path.slice(0, path.length - ext.length - 1) : path,
    dir: dirname(path),
    seq: String(item.seq),
    out: shownPath(item.out, cwd),
    rel: item.relPath,
    reldir
  }
}

/** One argument with its placeholders replaced; with `quote`, each value is shell-quoted. */
export function expandArg(arg: string, values: ItemValues, quote?: (s: string) => string): string {
  let out = ''
  for (const t of tokenize(arg)) out += 'literal' in t ? t.literal : quote ? quote(values[t.value]) : values[t.value]
  return out
}

export interface ExpandedCommand {
  /** The program (or the shell) and its arguments, exactly as spawned. */
  file: string
  args: string[]
  /** The command as one line for people (and GNU parallel's joblog): arguments shell-quoted. */
  display: string
}

/**
 * The exact command for one item. Like GNU parallel, a command without any placeholder gets the
 * file's path as its last argument.
 */
export function expandCommand(job: Pick<FilesJob, 'command' | 'shell'>, values: ItemValues, platform: NodeJS.Platform = process.platform): ExpandedCommand {
  const command = job.command ?? []
  if (job.shell) {
    const quote = platform === 'win32' ? cmdQuote : shellQuote
    let script = (typeof command === 'string' ? command : command.join(' ')).trim()
    script = expandArg(script, values, quote)
    if (!usesPlaceholders(command)) script += ` ${quote(values.path)}`
    return platform === 'win32'
      ? { file: process.env.ComSpec ?? 'cmd.exe', args: ['/d', '/s', '/c', `"${script}"`], display: script }
      : { file: '/bin/sh', args: ['-c', script], display: script }
  }
  const argv = (command as string[]).map((a) => expandArg(a, values))
  if (!usesPlaceholders(command)) argv.push(values.path)
  const [file, ...args] = argv as [string, ...string[]]
  return { file, args, display: argv.map((a) => shellQuote(a)).join(' ') }
}

/** POSIX shell quoting: safe words stay bare, anything else goes in single quotes. */
export function shellQuote(s: string): string {
  if (s === '') return "''"
  if (/^[A-Za-z0-9_@%+=:,./-]+$/.test(s)) return s
  return `'${s.replaceAll("'", `'\\''`)}'`
}

/** cmd.exe quoting for "shell": true on Windows (best effort: cmd has no full quoting). */
function cmdQuote(s: string): string {
  if (/^[A-Za-z0-9_@+=:,./\\-]+$/.test(s)) return s
  return `"${s.replaceAll('"', '""')}"`
}
