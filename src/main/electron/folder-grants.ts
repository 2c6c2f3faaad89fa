// In the desktop app the page reaches only folders the user chose. Main keeps the granted folders
// and checks, before forwarding a call to the engine, that every path the call names is inside one
// of them. What is granted:
//   - a folder picked in the native dialog (dialogs.pickFolder, answered by main itself);
//   - what the user dropped on the window or picked with a file input: the preload's pathForFile
//     (the only way the page learns such a path) reports it to main, which grants a dropped folder,
//     or the folder a dropped file is in (jobs read folders: the editor turns dropped files into
//     their folder with only those files included);
//   - with each of those, the output folder Batchery proposes for it (`<folder>-clean`, what the
//     job editor fills in; see defaultOutputFolder in the renderer), so the default job works;
//   - the folders of saved jobs (input, output, archive, and the folders of their scripts), read
//     from the engine at start and whenever jobs change; they were checked when saved, or were
//     made with the CLI by the same user.
// Chosen folders are kept in <userData>/granted-folders.json, so grants survive restarts.
//
// A path is inside a granted folder when, resolved ('..' never escapes) and with symbolic links
// resolved through realpath as far as the path exists, it is the folder or starts with the folder
// and a separator (so /data/in does not grant /data/input); compared case-insensitively on Windows
// and macOS. Windows forms that do not mean what they look like (\\?\ and \\.\ paths, "C:x", "\x",
// alternate data streams, names ending in a dot or space, device names) are refused outright.
//
// Nothing here imports electron: index.ts passes the real file system, tests a fake one.
import { lstatSync, readFileSync, realpathSync, renameSync, statSync, writeFileSync } from 'node:fs'
import { posix, win32 } from 'node:path'
import type { ApiError, ProblemView, Result } from '../../shared/api'

export const GRANTS_FILE = 'granted-folders.json'
/** The most chosen folders kept; the oldest go first. */
export const MAX_GRANTS = 500
/** Longer paths are refused before any work is done on them. */
export const MAX_PATH_LENGTH = 4096
/** Appended to a chosen folder: the output folder the job editor proposes for it. */
export const PROPOSED_OUTPUT_SUFFIX = '-clean'

export const NOT_CHOSEN = 'Batchery can only use folders you chose.'
export const HOW_TO_CHOOSE = 'Choose the folder with “Choose folder…” or drop it on the window.'

/** The little of the file system the checks need; nodeFs in the app, a fake in tests. */
export interface FsOps {
  /** The real path (links resolved); throws an error with a code (ENOENT...) when it cannot. */
  realpath(p: string): string
  /** The entry itself is a symbolic link (false when there is none). */
  isSymlink(p: string): boolean
  /** What the path leads to (links followed), or null when nothing. */
  kind(p: string): 'folder' | 'file' | null
}

export const nodeFs: FsOps = {
  realpath: (p) => realpathSync.native(p),
  isSymlink: (p) => {
    try {
      return lstatSync(p).isSymbolicLink()
    } catch {
      return false
    }
  },
  kind: (p) => {
    try {
      const st = statSync(p)
      return st.isDirectory() ? 'folder' : st.isFile() ? 'file' : null
    } catch {
      return null
    }
  }
}

export interface PathRules {
  platform: NodeJS.Platform
  fs: FsOps
}

function pathApi(platform: NodeJS.Platform): typeof posix {
  return platform === 'win32' ? win32 : posix
}

export function caseInsensitive(platform: NodeJS.Platform): boolean {
  return platform === 'win32' || platform === 'darwin'
}

function sepOf(platform: NodeJS.Platform): string {
  return platform === 'win32' ? '\\' : '/'
}

/** An absolute path: "C:\x" or "\\server\share\x" on Windows, "/x" elsewhere. */
function fullyQualified(p: string, platform: NodeJS.Platform): boolean {
  if (platform !== 'win32') return p.startsWith('/')
  return /^[A-Za-z]:[\\/]/.test(p) || /^[\\/]{2}[^\\/]+[\\/]+[^\\/]+/.test(p)
}

const WINDOWS_DEVICE = /^(con|prn|aux|nul|conin\$|conout\$|com[0-9¹²³]|lpt[0-9¹²³])(\..*)?$/i

/**
 * Every name in a Windows path (as written, before '..' is resolved) is an ordinary name or '.' or
 * '..': nothing Windows would read another way. ':' is a stream (x.csv:stream); Windows drops a
 * trailing dot or space (".. " is ".."); a device name (CON, NUL.txt) is a device in any folder;
 * the rest cannot be in a name.
 */
function plainWindowsPath(p: string): boolean {
  const names = p.replace(/^[A-Za-z]:/, '').split(/[\\/]/).filter(Boolean)
  return names.every((n) => n === '.' || n === '..' || (!/[:<>"|?*\u0000-\u001f]/.test(n) && !/[. ]$/.test(n) && !WINDOWS_DEVICE.test(n.trim())))
}

/**
 * `p` made absolute: as it is when absolute, else against `base` (itself absolute), with '.' and
 * '..' resolved. Null when it cannot be made absolute safely: empty, too long, a NUL, relative with
 * no base, or (on Windows) a form that names another place than it seems to.
 */
export function absolutePath(p: unknown, base: string | null, platform: NodeJS.Platform): string | null {
  if (typeof p !== 'string' || p.length === 0 || p.length > MAX_PATH_LENGTH || p.includes('\0')) return null
  const api = pathApi(platform)
  if (platform === 'win32') {
    if (!plainWindowsPath(p)) return null
    if (/^[\\/]{2}[?.](?:[\\/]|$)/.test(p)) return null // \\?\C:\x and \\.\device: no normalization, other namespaces
    if (/^[A-Za-z]:(?![\\/])/.test(p)) return null // "C:x": relative to that drive's current folder
    if (/^[\\/](?![\\/])/.test(p)) return null // "\x": relative to the current drive
  }
  let abs: string
  if (fullyQualified(p, platform)) {
    abs = api.resolve(p)
  } else {
    if (base === null) return null
    const b = absolutePath(base, null, platform)
    if (b === null) return null
    abs = api.resolve(b, p)
  }
  if (platform === 'win32' && !plainWindowsPath(abs)) return null
  return abs
}

/**
 * Where an absolute path really is: its real path when it exists; else the real path of its
 * nearest existing folder with the rest appended (outputs that do not exist yet). Null when that
 * cannot be known: a dangling symbolic link on the way, a loop, no permission to look.
 */
export function canonicalPath(abs: string, rules: PathRules): string | null {
  const api = pathApi(rules.platform)
  const rest: string[] = []
  let current = abs
  for (;;) {
    try {
      const real = rules.fs.realpath(current)
      return rest.length ? api.join(real, ...rest.reverse()) : real
    } catch (e) {
      const code = (e as NodeJS.ErrnoException | null)?.code
      if (code !== 'ENOENT' && code !== 'ENOTDIR') return null
      // A link to nowhere: the folder made through it later would be wherever it points.
      if (rules.fs.isSymlink(current)) return null
      const parent = api.dirname(current)
      if (parent === current) return abs
      rest.push(api.basename(current))
      current = parent
    }
  }
}

/** Both canonical: `child` is `parent` or lies under it (never a sibling sharing its prefix). */
export function isInside(child: string, parent: string, platform: NodeJS.Platform): boolean {
  const fold = (s: string): string => (caseInsensitive(platform) ? s.toLowerCase() : s)
  const sep = sepOf(platform)
  const c = fold(child)
  const p = fold(parent)
  if (c === p) return true
  return c.startsWith(p.endsWith(sep) ? p : p + sep)
}

/**
 * The output folder the job editor proposes for an input folder: defaultOutputFolder in
 * src/renderer/src/features/job-editor/paths.ts, trailing separators trimmed the same way (a root
 * stays whole). electron-folder-grants.test.ts checks that the two agree.
 */
export function proposedOutputFolder(folder: string): string {
  const trimmed = folder.replace(/[\\/]+$/, '')
  const base = trimmed === '' ? folder.slice(0, 1) : /^[A-Za-z]:$/.test(trimmed) ? trimmed + (folder[2] ?? '\\') : trimmed
  return `${base}${PROPOSED_OUTPUT_SUFFIX}`
}

// ---------------------------------------------------------------------------------------------
// What calls name

/** A path a call names: where in the params, what the page sent, and where it points (null: nowhere safe). */
export interface NamedPath {
  where: string
  raw: string
  path: string | null
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}

function named(where: string, raw: string, base: string | null, platform: NodeJS.Platform): NamedPath {
  return { where, raw, path: absolutePath(raw, base, platform) }
}

/**
 * The paths in a job definition, with where each is ('input.folder', 'steps[2].script'...):
 * input, output and archive folders, the merged output's file name (which must not lead out of the
 * output folder), script modules of records jobs and the module of a files job. A files job's
 * command is a program and its arguments, not a path to check: see the README. Values that are
 * not strings are left to the engine's schema, which refuses them.
 */
export function pathsInJob(job: unknown, base: string | null, platform: NodeJS.Platform): NamedPath[] {
  if (!isRecord(job)) return []
  const out: NamedPath[] = []
  const folderOf = (key: 'input' | 'output' | 'archive'): void => {
    const section = job[key]
    if (isRecord(section) && typeof section.folder === 'string') out.push(named(`${key}.folder`, section.folder, base, platform))
  }
  folderOf('input')
  folderOf('output')
  folderOf('archive')
  const output = job.output
  if (isRecord(output) && typeof output.folder === 'string' && typeof output.name === 'string') {
    const folder = absolutePath(output.folder, base, platform)
    out.push({ where: 'output.name', raw: output.name, path: folder === null ? null : absolutePath(output.name, folder, platform) })
  }
  if (typeof job.module === 'string') out.push(named('module', job.module, base, platform))
  if (Array.isArray(job.steps)) {
    job.steps.forEach((step: unknown, i) => {
      if (!isRecord(step) || !Object.hasOwn(step, 'script')) return
      const script = step.script
      if (typeof script === 'string') out.push(named(`steps[${i}].script`, script, base, platform))
      else if (isRecord(script) && typeof script.module === 'string') out.push(named(`steps[${i}].script.module`, script.module, base, platform))
    })
  }
  return out
}

export interface CallPathOptions {
  platform: NodeJS.Platform
  /** The engine's folder for relative paths when a job call has no baseDir, and inputs.browse's start (os.homedir()). */
  homedir: string
}

/**
 * Every path a contract call names, or [] when it names none. Paths the engine would resolve
 * against its own working folder (inputs.preview, inputs.browse, runs.startWithFiles) must be
 * absolute; a job's relative paths resolve against baseDir, or the home folder as the engine does.
 */
export function pathsInCall(method: string, params: Record<string, unknown>, opts: CallPathOptions): NamedPath[] {
  const { platform } = opts
  switch (method) {
    case 'inputs.preview':
      return typeof params.folder === 'string' ? [named('folder', params.folder, null, platform)] : []
    case 'inputs.browse': {
      const path = params.path
      if (path === undefined || (typeof path === 'string' && path.trim() === '')) return [{ where: 'path', raw: opts.homedir, path: absolutePath(opts.homedir, null, platform) }]
      return typeof path === 'string' ? [named('path', path, null, platform)] : []
    }
    case 'jobs.validate':
    case 'jobs.save':
    case 'runs.dryRun': {
      const baseDir = params.baseDir
      const base = baseDir === undefined ? opts.homedir : typeof baseDir === 'string' ? baseDir : null
      return pathsInJob(params.job, base, platform)
    }
    case 'runs.startWithFiles':
      return Array.isArray(params.paths) ? params.paths.flatMap((p: unknown, i) => (typeof p === 'string' ? [named(`paths[${i}]`, p, null, platform)] : [])) : []
    default:
      return []
  }
}

/**
 * Methods of the contract that name no path on this machine. A method in neither this list nor
 * pathsInCall fails electron-folder-grants.test.ts, so a new method is classified before it ships.
 */
export const METHODS_WITHOUT_PATHS: readonly string[] = [
  'jobs.list',
  'jobs.get',
  'jobs.duplicate',
  'jobs.delete',
  'jobs.schedule',
  'jobs.setEnabled',
  'runs.start',
  'runs.rerunFailed',
  'runs.pause',
  'runs.resume',
  'runs.cancel',
  'runs.list',
  'runs.get',
  'runs.failureGroups',
  'runs.failures',
  'runs.log',
  'runs.openOutputFolder'
]
export const METHODS_WITH_PATHS: readonly string[] = ['inputs.preview', 'inputs.browse', 'jobs.validate', 'jobs.save', 'runs.dryRun', 'runs.startWithFiles']

/** The folders a saved job uses: input, output, archive, and the folders its scripts are in. */
export function foldersOfJob(definition: unknown, baseDir: unknown, platform: NodeJS.Platform): string[] {
  const base = typeof baseDir === 'string' ? baseDir : null
  const api = pathApi(platform)
  const folders: string[] = []
  for (const p of pathsInJob(definition, base, platform)) {
    if (p.path === null || p.where === 'output.name') continue
    folders.push(p.where.endsWith('.folder') ? p.path : api.dirname(p.path))
  }
  return folders
}

/** The refusal: the contract's forbidden code, a plain message, and each refused path where it is. */
export function notChosenError(refused: readonly NamedPath[]): ApiError {
  const shown = (p: NamedPath): string => {
    const s = p.path ?? p.raw
    return s.length > 200 ? `${s.slice(0, 200)}…` : s
  }
  const first = refused[0]
  const which = first ? `, and ${shown(first)} is not in one` : ''
  const problems: ProblemView[] = refused.map((p) => ({ path: p.where, message: `${shown(p)} is not in a folder you chose. ${HOW_TO_CHOOSE}` }))
  return { code: 'forbidden', message: `${NOT_CHOSEN.slice(0, -1)}${which}. ${HOW_TO_CHOOSE}`, problems }
}

// ---------------------------------------------------------------------------------------------
// The granted folders

export class FolderGrants {
  private chosen: string[]
  private fromJobs: string[] = []

  /**
   * `saved`: the chosen folders read back from granted-folders.json. `onChosenChange` is told the
   * new list each time it changes, to save it.
   */
  constructor(
    private readonly rules: PathRules,
    saved: readonly string[] = [],
    private readonly onChosenChange?: (chosen: readonly string[]) => void
  ) {
    this.chosen = []
    for (const p of saved) this.add(p)
  }

  /** The folders the user chose, oldest first. */
  chosenFolders(): string[] {
    return [...this.chosen]
  }

  /** The saved jobs' folders: replaced whole each time the jobs are read. */
  setJobFolders(folders: readonly string[]): void {
    this.fromJobs = folders.flatMap((f) => {
      const abs = absolutePath(f, null, this.rules.platform)
      return abs === null ? [] : [abs]
    })
  }

  /** A folder picked in the native dialog: it and its proposed output folder. The folder granted, or null. */
  grantChosen(path: unknown): string | null {
    const abs = absolutePath(path, null, this.rules.platform)
    if (abs === null) return null
    const changed = [this.add(abs), this.add(proposedOutputFolder(abs))].some(Boolean)
    if (changed) this.onChosenChange?.(this.chosenFolders())
    return abs
  }

  /** A dropped folder, or the folder of a dropped file (see the top of the file). The folder granted, or null. */
  grantDropped(path: unknown): string | null {
    const abs = absolutePath(path, null, this.rules.platform)
    if (abs === null) return null
    const kind = this.rules.fs.kind(abs)
    if (kind === null) return null
    const folder = kind === 'folder' ? abs : pathApi(this.rules.platform).dirname(abs)
    return this.grantChosen(folder)
  }

  /** The paths (absolute, see absolutePath) that are not inside any granted folder. */
  outside(paths: readonly string[]): string[] {
    if (paths.length === 0) return []
    const grants = [...this.chosen, ...this.fromJobs].flatMap((g) => {
      const c = canonicalPath(g, this.rules)
      return c === null ? [] : [c]
    })
    return paths.filter((p) => {
      const c = canonicalPath(p, this.rules)
      return c === null || !grants.some((g) => isInside(c, g, this.rules.platform))
    })
  }

  /** Adds one chosen folder unless it is there already (by spelling, case-folded where the platform ignores case). True when added. */
  private add(path: string): boolean {
    const abs = absolutePath(path, null, this.rules.platform)
    if (abs === null) return false
    const fold = (s: string): string => (caseInsensitive(this.rules.platform) ? s.toLowerCase() : s)
    if (this.chosen.some((c) => fold(c) === fold(abs))) return false
    this.chosen.push(abs)
    if (this.chosen.length > MAX_GRANTS) this.chosen.splice(0, this.chosen.length - MAX_GRANTS)
    return true
  }
}

/** The chosen folders in a granted-folders.json, or [] when it is missing or not what we wrote. */
export function parseGrantedFolders(value: unknown): string[] {
  if (!isRecord(value) || !Array.isArray(value.folders)) return []
  return value.folders.filter((f): f is string => typeof f === 'string' && f.length > 0 && f.length <= MAX_PATH_LENGTH).slice(-MAX_GRANTS)
}

export function loadGrantedFolders(file: string): string[] {
  try {
    return parseGrantedFolders(JSON.parse(readFileSync(file, 'utf8')))
  } catch {
    return []
  }
}

/** Written to a temporary file and renamed, so a crash mid-write leaves the old list, not half of one. */
export function saveGrantedFolders(file: string, folders: readonly string[]): void {
  const tmp = `${file}.${process.pid}.tmp`
  writeFileSync(tmp, `${JSON.stringify({ folders }, null, 2)}\n`)
  renameSync(tmp, file)
}

// ---------------------------------------------------------------------------------------------
// The gate in front of the engine

export interface FolderGateOptions extends CallPathOptions {
  grants: FolderGrants
  /** jobs.list on the engine. */
  listJobs: () => Promise<Result<unknown>>
  log?: { warn: (msg: string, fields?: Record<string, unknown>) => void }
}

/**
 * Checks forwarded calls against the grants, and keeps the saved jobs' folders current. A check
 * waits for a reading of the jobs in progress (at start, the first one), so a saved job's folder
 * is never refused because its list has not arrived yet.
 */
export class FolderGate {
  private reading: Promise<void> | null = null
  private readAgain = false

  constructor(private readonly opts: FolderGateOptions) {}

  /** Reads the saved jobs' folders from the engine (at start, and after jobs.changed). */
  refreshJobFolders(): Promise<void> {
    if (this.reading) {
      this.readAgain = true
      return this.reading
    }
    const read = async (): Promise<void> => {
      do {
        this.readAgain = false
        const r = await this.opts.listJobs()
        if (!r.ok) {
          this.opts.log?.warn('could not read the saved jobs for their folders', { error: r.error.message })
          continue
        }
        const jobs = Array.isArray(r.value) ? (r.value as unknown[]) : []
        this.opts.grants.setJobFolders(jobs.flatMap((j) => (isRecord(j) ? foldersOfJob(j.definition, j.baseDir, this.opts.platform) : [])))
      } while (this.readAgain)
    }
    this.reading = read()
      .catch((e: unknown) => this.opts.log?.warn('could not read the saved jobs for their folders', { error: (e as Error)?.message }))
      .finally(() => {
        this.reading = null
      })
    return this.reading
  }

  /** Null when the call may go to the engine; else the refusal to answer with. */
  async check(method: string, params: Record<string, unknown>): Promise<ApiError | null> {
    const paths = pathsInCall(method, params, this.opts)
    if (paths.length === 0) return null
    if (this.reading) await this.reading
    const outside = new Set(this.opts.grants.outside(paths.flatMap((p) => (p.path === null ? [] : [p.path]))))
    const refused = paths.filter((p) => p.path === null || outside.has(p.path))
    if (refused.length === 0) return null
    this.opts.log?.warn('call refused: a path outside the chosen folders', { method, where: refused.map((p) => p.where) })
    return notChosenError(refused)
  }
}
