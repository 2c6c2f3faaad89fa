// "Folders are only those the user chose": the pure check in front of the engine. Paths are
// resolved ('..' never escapes), symbolic links followed with realpath (real ones, in a temporary
// folder), siblings sharing a prefix refused, Windows paths judged as Windows reads them, case
// ignored where the platform ignores it; and every contract method is classified.
import { mkdirSync, readFileSync, realpathSync, symlinkSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { beforeAll, describe, expect, it } from 'vitest'
import { methods, type Result } from '../../src/shared/api'
import {
  absolutePath,
  canonicalPath,
  FolderGate,
  FolderGrants,
  foldersOfJob,
  type FsOps,
  GRANTS_FILE,
  isInside,
  loadGrantedFolders,
  MAX_GRANTS,
  METHODS_WITH_PATHS,
  METHODS_WITHOUT_PATHS,
  nodeFs,
  notChosenError,
  parseGrantedFolders,
  pathsInCall,
  pathsInJob,
  proposedOutputFolder,
  saveGrantedFolders
} from '../../src/main/electron/folder-grants'
import { defaultOutputFolder } from '../../src/renderer/src/features/job-editor/paths'
import { tempDir } from '../helpers/cli'

const MESSAGE_END = 'Choose the folder with “Choose folder…” or drop it on the window.'

/**
 * A file system where every path exists as itself (a folder, unless its name has an extension),
 * except the links given, which lead elsewhere (names compared case-insensitively, as on Windows).
 */
function fakeFs(links: Record<string, string> = {}): FsOps {
  return {
    realpath: (p) => {
      for (const [from, to] of Object.entries(links)) {
        const head = p.slice(0, from.length).toLowerCase()
        const next = p[from.length]
        if (head === from.toLowerCase() && (next === undefined || next === '\\' || next === '/')) return to + p.slice(from.length)
      }
      return p
    },
    isSymlink: (p) => Object.keys(links).some((l) => l.toLowerCase() === p.toLowerCase()),
    kind: (p) => (/\.[a-z0-9]+$/i.test(p) ? 'file' : 'folder')
  }
}

describe('absolutePath', () => {
  it('posix: absolute as it is, with . and .. resolved; relative only against an absolute base', () => {
    expect(absolutePath('/data/in', null, 'linux')).toBe('/data/in')
    expect(absolutePath('/data/in/', null, 'linux')).toBe('/data/in')
    expect(absolutePath('/data/in/./sub/../x.csv', null, 'linux')).toBe('/data/in/x.csv')
    expect(absolutePath('/data/in/../../../etc', null, 'linux')).toBe('/etc')
    expect(absolutePath('in', '/jobs', 'linux')).toBe('/jobs/in')
    expect(absolutePath('../data/in', '/home/ana/jobs', 'linux')).toBe('/home/ana/data/in')
    expect(absolutePath('in', null, 'linux')).toBeNull()
    expect(absolutePath('in', 'jobs', 'linux')).toBeNull()
    expect(absolutePath('in', '', 'linux')).toBeNull()
    expect(absolutePath('~/data', null, 'linux')).toBeNull()
  })

  it('refuses what is not a usable path', () => {
    for (const p of ['', '/data/in\0/x', `/${'a'.repeat(5000)}`, 42, null, undefined, {}, ['/data']]) {
      expect(absolutePath(p, '/jobs', 'linux'), JSON.stringify(p)).toBeNull()
    }
  })

  it('windows: drive and UNC paths, either separator, relative against the base', () => {
    expect(absolutePath('C:\\data\\in', null, 'win32')).toBe('C:\\data\\in')
    expect(absolutePath('c:/data/in/', null, 'win32')).toBe('c:\\data\\in')
    expect(absolutePath('C:\\data\\in\\..\\..\\Windows', null, 'win32')).toBe('C:\\Windows')
    expect(absolutePath('\\\\nas\\share\\exports', null, 'win32')).toBe('\\\\nas\\share\\exports')
    expect(absolutePath('in', 'C:\\jobs', 'win32')).toBe('C:\\jobs\\in')
    expect(absolutePath('..\\..\\Windows', 'C:\\jobs\\a', 'win32')).toBe('C:\\Windows')
    expect(absolutePath('in', null, 'win32')).toBeNull()
  })

  it('windows: refuses the forms that name another place than they seem to', () => {
    const hostile = [
      '\\\\?\\C:\\data\\in', // verbatim: no normalization
      '//?/C:/data/in',
      '\\\\.\\PhysicalDrive0', // the device namespace
      '\\\\.\\C:\\data',
      'C:data\\in', // relative to the drive's current folder
      '\\data\\in', // relative to the current drive
      '/data/in',
      'C:\\data\\in\\x.csv:hidden', // an alternate data stream
      'C:\\data\\in\\.. \\..\\Windows', // ".. " is ".." to Windows
      'C:\\data\\in\\sub.\\x',
      'C:\\data\\in\\sub \\x',
      'C:\\data\\in\\CON',
      'C:\\data\\in\\nul.txt',
      'C:\\data\\in\\COM1',
      'C:\\data\\in\\a<b',
      'C:\\data\\in\\a|b'
    ]
    for (const p of hostile) expect(absolutePath(p, 'C:\\jobs', 'win32'), p).toBeNull()
    expect(absolutePath('in', 'C:jobs', 'win32')).toBeNull()
    expect(absolutePath('in', '\\\\?\\C:\\jobs', 'win32')).toBeNull()
  })
})

describe('isInside', () => {
  const cases: [string, string, NodeJS.Platform, boolean][] = [
    ['/data/in', '/data/in', 'linux', true],
    ['/data/in/x.csv', '/data/in', 'linux', true],
    ['/data/in/sub/deep/x.csv', '/data/in', 'linux', true],
    ['/data/input', '/data/in', 'linux', false],
    ['/data/input/x.csv', '/data/in', 'linux', false],
    ['/data/in-clean', '/data/in', 'linux', false],
    ['/data', '/data/in', 'linux', false],
    ['/etc/passwd', '/data/in', 'linux', false],
    ['/anything', '/', 'linux', true],
    ['/Data/In/x.csv', '/data/in', 'linux', false],
    ['/Data/In/x.csv', '/data/in', 'darwin', true],
    ['/data/input', '/data/in', 'darwin', false],
    ['C:\\Data\\In\\x.csv', 'c:\\data\\in', 'win32', true],
    ['c:\\data\\in', 'C:\\DATA\\IN', 'win32', true],
    ['C:\\data\\input', 'C:\\data\\in', 'win32', false],
    ['D:\\data\\in\\x.csv', 'C:\\data\\in', 'win32', false],
    ['C:\\anything', 'C:\\', 'win32', true],
    ['\\\\nas\\share\\exports\\x.csv', '\\\\NAS\\Share\\exports', 'win32', true],
    ['\\\\nas\\share\\exports2', '\\\\nas\\share\\exports', 'win32', false]
  ]
  for (const [child, parent, platform, expected] of cases) {
    it(`${platform}: ${child} ${expected ? 'is' : 'is not'} inside ${parent}`, () => expect(isInside(child, parent, platform)).toBe(expected))
  }
})

describe('with real folders and symbolic links', () => {
  let root = ''
  let grants: FolderGrants
  const allowed = (p: string): boolean => grants.outside([p]).length === 0

  beforeAll(() => {
    // realpath: the temporary folder may itself be behind a link (/tmp on macOS).
    root = realpathSync(tempDir('batchery-grants-'))
    for (const d of ['in/sub', 'input', 'secret', 'real', 'in-clean']) mkdirSync(join(root, d), { recursive: true })
    writeFileSync(join(root, 'in', 'orders.csv'), 'id\n1\n')
    writeFileSync(join(root, 'secret', 'keys.txt'), 'x')
    symlinkSync(join(root, 'secret'), join(root, 'in', 'link-out')) // a link out of the granted folder
    symlinkSync(join(root, 'secret', 'keys.txt'), join(root, 'in', 'file-out'))
    symlinkSync(join(root, 'in', 'sub'), join(root, 'in', 'link-in')) // a link that stays inside
    symlinkSync(join(root, 'secret', 'not-yet'), join(root, 'in', 'dangling'))
    symlinkSync(join(root, 'in', 'loop-b'), join(root, 'in', 'loop-a'))
    symlinkSync(join(root, 'in', 'loop-a'), join(root, 'in', 'loop-b'))
    symlinkSync(join(root, 'real'), join(root, 'alias')) // a granted folder that is itself a link
    grants = new FolderGrants({ platform: process.platform, fs: nodeFs })
    grants.setJobFolders([join(root, 'in'), join(root, 'alias')])
  })

  it('allows the folder, what is in it, and paths in it that do not exist yet', () => {
    expect(allowed(join(root, 'in'))).toBe(true)
    expect(allowed(join(root, 'in', 'orders.csv'))).toBe(true)
    expect(allowed(join(root, 'in', 'sub'))).toBe(true)
    expect(allowed(join(root, 'in', 'new', 'deeper', 'out.jsonl'))).toBe(true)
  })

  it('refuses a sibling that shares its name as a prefix, and the folder above', () => {
    expect(allowed(join(root, 'input'))).toBe(false)
    expect(allowed(join(root, 'in-clean'))).toBe(false)
    expect(allowed(root)).toBe(false)
  })

  it('refuses traversal with ..', () => {
    const p = absolutePath(`${root}/in/../secret/keys.txt`, null, process.platform)
    expect(p).toBe(join(root, 'secret', 'keys.txt'))
    expect(allowed(p as string)).toBe(false)
    expect(allowed(absolutePath('sub/../orders.csv', join(root, 'in'), process.platform) as string)).toBe(true)
  })

  it('refuses a symbolic link out of the granted folder, what is under it, and what would be made through it', () => {
    expect(allowed(join(root, 'in', 'link-out'))).toBe(false)
    expect(allowed(join(root, 'in', 'link-out', 'keys.txt'))).toBe(false)
    expect(allowed(join(root, 'in', 'file-out'))).toBe(false)
    expect(allowed(join(root, 'in', 'link-out', 'new-output'))).toBe(false)
  })

  it('allows a link that stays inside, refuses a dangling link and a link loop', () => {
    expect(allowed(join(root, 'in', 'link-in'))).toBe(true)
    expect(canonicalPath(join(root, 'in', 'link-in'), { platform: process.platform, fs: nodeFs })).toBe(join(root, 'in', 'sub'))
    expect(allowed(join(root, 'in', 'dangling'))).toBe(false)
    expect(allowed(join(root, 'in', 'dangling', 'out'))).toBe(false)
    expect(canonicalPath(join(root, 'in', 'dangling', 'out'), { platform: process.platform, fs: nodeFs })).toBeNull()
    expect(allowed(join(root, 'in', 'loop-a'))).toBe(false)
  })

  it('a granted link grants where it leads, by either name', () => {
    expect(allowed(join(root, 'alias', 'x.csv'))).toBe(true)
    expect(allowed(join(root, 'real', 'x.csv'))).toBe(true)
  })

  it('a dropped file grants its folder; a dropped folder itself; a missing path nothing', () => {
    const g = new FolderGrants({ platform: process.platform, fs: nodeFs })
    expect(g.grantDropped(join(root, 'in', 'orders.csv'))).toBe(join(root, 'in'))
    expect(g.grantDropped(join(root, 'secret'))).toBe(join(root, 'secret'))
    expect(g.grantDropped(join(root, 'nowhere'))).toBeNull()
    expect(g.chosenFolders()).toEqual([join(root, 'in'), join(root, 'in-clean'), join(root, 'secret'), join(root, 'secret-clean')])
  })
})

describe('FolderGrants', () => {
  it('grants a chosen folder and the output folder proposed for it, and tells what to save', () => {
    const saved: string[][] = []
    const g = new FolderGrants({ platform: 'linux', fs: fakeFs() }, [], (list) => saved.push([...list]))
    expect(g.grantChosen('/data/in/')).toBe('/data/in')
    expect(g.outside(['/data/in/a.csv', '/data/in-clean/a.jsonl', '/data/in-cleaner', '/data/input'])).toEqual(['/data/in-cleaner', '/data/input'])
    expect(saved).toEqual([['/data/in', '/data/in-clean']])
    // Again: nothing new, nothing saved.
    g.grantChosen('/data/in')
    expect(saved).toHaveLength(1)
  })

  it('refuses to grant what is not a plain absolute path', () => {
    const g = new FolderGrants({ platform: 'win32', fs: fakeFs() })
    for (const p of ['data', '', 7, null, '\\\\?\\C:\\data', 'C:data', 'C:\\data\\.. \\x']) expect(g.grantChosen(p), String(p)).toBeNull()
    expect(g.grantDropped('C:\\x\\..\\CON')).toBeNull()
    expect(g.chosenFolders()).toEqual([])
  })

  it('starts from the saved list, keeps one of each (case folded on Windows) and at most MAX_GRANTS, oldest dropped', () => {
    const g = new FolderGrants({ platform: 'win32', fs: fakeFs() }, ['C:\\Data\\In', 'c:\\data\\in', 'not absolute'])
    expect(g.chosenFolders()).toEqual(['C:\\Data\\In'])
    expect(g.outside(['c:\\DATA\\in\\x.csv', 'C:\\data\\input'])).toEqual(['C:\\data\\input'])
    const many = new FolderGrants({ platform: 'linux', fs: fakeFs() }, Array.from({ length: MAX_GRANTS + 10 }, (_, i) => `/data/${i}`))
    expect(many.chosenFolders()).toHaveLength(MAX_GRANTS)
    expect(many.chosenFolders()[0]).toBe('/data/10')
  })

  it("replaces the saved jobs' folders whole", () => {
    const g = new FolderGrants({ platform: 'linux', fs: fakeFs() })
    g.setJobFolders(['/jobs/a/in', 'relative'])
    expect(g.outside(['/jobs/a/in/x.csv'])).toEqual([])
    g.setJobFolders(['/jobs/b/in'])
    expect(g.outside(['/jobs/a/in/x.csv', '/jobs/b/in/x.csv'])).toEqual(['/jobs/a/in/x.csv'])
  })

  it('windows: a link (junction) out of a granted folder is followed', () => {
    const fs = fakeFs({ 'C:\\data\\in\\junction': 'C:\\Windows\\System32' })
    const g = new FolderGrants({ platform: 'win32', fs })
    g.grantChosen('C:\\data\\in')
    expect(g.outside(['C:\\data\\in\\x.csv', 'C:\\data\\in\\junction\\config', 'C:\\DATA\\IN\\JUNCTION'])).toEqual(['C:\\data\\in\\junction\\config', 'C:\\DATA\\IN\\JUNCTION'])
  })

  it('the proposed output folder is the one the job editor fills in', () => {
    for (const folder of ['/data/in', '/data/in/', '/', 'C:\\data\\in', 'C:\\data\\in\\', 'C:\\', 'C:/', '\\\\nas\\share\\x']) {
      expect(proposedOutputFolder(folder), folder).toBe(defaultOutputFolder(folder))
    }
  })
})

describe('pathsInCall', () => {
  const opts = { platform: 'linux' as const, homedir: '/home/ana' }
  const paths = (method: string, params: Record<string, unknown>) => pathsInCall(method, params, opts).map((p) => [p.where, p.path])

  it('inputs.preview and inputs.browse: the folder, which must be absolute; browse with none starts at home', () => {
    expect(paths('inputs.preview', { folder: '/data/in', include: ['../../etc/*'] })).toEqual([['folder', '/data/in']])
    expect(paths('inputs.preview', { folder: 'data/in' })).toEqual([['folder', null]])
    expect(paths('inputs.preview', { folder: 5 })).toEqual([])
    expect(paths('inputs.browse', { path: '/data' })).toEqual([['path', '/data']])
    expect(paths('inputs.browse', {})).toEqual([['path', '/home/ana']])
    expect(paths('inputs.browse', { path: '  ' })).toEqual([['path', '/home/ana']])
    expect(paths('inputs.browse', { path: ' /etc' })).toEqual([['path', null]])
  })

  it('runs.startWithFiles: every path, each absolute', () => {
    expect(paths('runs.startWithFiles', { job: 'j', paths: ['/data/in/a.csv', 'b.csv', 3] })).toEqual([
      ['paths[0]', '/data/in/a.csv'],
      ['paths[1]', null]
    ])
    expect(paths('runs.startWithFiles', { job: 'j', paths: '/etc/passwd' })).toEqual([])
  })

  it('jobs: every folder, the merged output name, scripts and modules; relative ones against baseDir, else home', () => {
    const job = {
      name: 'orders',
      kind: 'records',
      input: { folder: 'in', format: 'csv' },
      steps: [{ filter: 'x > 1' }, { script: 'scripts/clean.js' }, { script: { module: '/opt/tools/enrich.js', adds: ['y'] } }],
      output: { folder: '/data/out', format: 'jsonl', name: '../../etc/cron.d/job' },
      archive: { folder: '../archive' }
    }
    for (const method of ['jobs.validate', 'jobs.save', 'runs.dryRun']) {
      expect(paths(method, { job, baseDir: '/data/jobs' })).toEqual([
        ['input.folder', '/data/jobs/in'],
        ['output.folder', '/data/out'],
        ['archive.folder', '/data/archive'],
        ['output.name', '/etc/cron.d/job'],
        ['steps[1].script', '/data/jobs/scripts/clean.js'],
        ['steps[2].script.module', '/opt/tools/enrich.js']
      ])
    }
    expect(paths('jobs.validate', { job: { input: { folder: 'in' } } })).toEqual([['input.folder', '/home/ana/in']])
    expect(paths('jobs.validate', { job: { input: { folder: 'in' } }, baseDir: 'relative' })).toEqual([['input.folder', null]])
    expect(paths('jobs.validate', { job: { input: { folder: 'in' } }, baseDir: 7 })).toEqual([['input.folder', null]])
    expect(paths('jobs.save', { job: { kind: 'files', input: { folder: '/data/in' }, module: 'handle.js', command: ['gzip', '{}'], output: { folder: '/data/out' } }, baseDir: '/data/jobs' })).toEqual([
      ['input.folder', '/data/in'],
      ['output.folder', '/data/out'],
      ['module', '/data/jobs/handle.js']
    ])
    expect(paths('jobs.save', { job: 'not a job' })).toEqual([])
    expect(paths('jobs.save', { job: { input: { folder: ['/etc'] }, steps: 'x' } })).toEqual([])
  })

  it('a harmless merged output name stays in the output folder', () => {
    expect(pathsInJob({ output: { folder: '/data/out', name: 'orders-2024' } }, null, 'linux')).toEqual([
      { where: 'output.folder', raw: '/data/out', path: '/data/out' },
      { where: 'output.name', raw: 'orders-2024', path: '/data/out/orders-2024' }
    ])
  })

  it('names no path for the other methods', () => {
    for (const method of METHODS_WITHOUT_PATHS) expect(pathsInCall(method, { job: { input: { folder: '/etc' } }, path: '/etc', folder: '/etc' }, opts), method).toEqual([])
  })

  it('every method of the contract is classified: it names paths (and is checked) or it names none', () => {
    for (const method of Object.keys(methods)) {
      const withPaths = METHODS_WITH_PATHS.includes(method)
      const without = METHODS_WITHOUT_PATHS.includes(method)
      expect(withPaths !== without, `${method}: add it to METHODS_WITH_PATHS (and pathsInCall) or METHODS_WITHOUT_PATHS in folder-grants.ts`).toBe(true)
    }
  })
})

describe('foldersOfJob', () => {
  it("a saved job's input, output and archive folders and its scripts' folders, relative ones against its baseDir", () => {
    const def = { input: { folder: 'in' }, output: { folder: '/data/out', name: 'x' }, archive: { folder: 'done' }, steps: [{ script: 'lib/clean.js' }] }
    expect(foldersOfJob(def, '/data/jobs', 'linux')).toEqual(['/data/jobs/in', '/data/out', '/data/jobs/done', '/data/jobs/lib'])
    expect(foldersOfJob({ kind: 'files', input: { folder: 'C:\\in' }, output: { folder: 'C:\\out' }, module: 'C:\\tools\\x.js', command: ['gzip'] }, 'C:\\jobs', 'win32')).toEqual([
      'C:\\in',
      'C:\\out',
      'C:\\tools'
    ])
    expect(foldersOfJob(null, '/x', 'linux')).toEqual([])
    expect(foldersOfJob({ input: { folder: 'in' } }, null, 'linux')).toEqual([])
  })
})

describe('the refusal', () => {
  it("is the contract's forbidden code with a plain message and each path where it is", () => {
    const e = notChosenError([
      { where: 'input.folder', raw: '/etc', path: '/etc' },
      { where: 'output.folder', raw: 'out', path: null }
    ])
    expect(e.code).toBe('forbidden')
    expect(e.message).toBe(`Batchery can only use folders you chose, and /etc is not in one. ${MESSAGE_END}`)
    expect(e.problems).toEqual([
      { path: 'input.folder', message: `/etc is not in a folder you chose. ${MESSAGE_END}` },
      { path: 'output.folder', message: `out is not in a folder you chose. ${MESSAGE_END}` }
    ])
    expect(notChosenError([{ where: 'folder', raw: 'x', path: `/${'a'.repeat(400)}` }]).message.length).toBeLessThan(400)
  })
})

describe('granted-folders.json', () => {
  it('round-trips, and reads a missing or corrupt file as no grants', () => {
    const dir = tempDir('batchery-grants-file-')
    const file = join(dir, GRANTS_FILE)
    expect(loadGrantedFolders(file)).toEqual([])
    saveGrantedFolders(file, ['/data/in', '/data/in-clean'])
    expect(loadGrantedFolders(file)).toEqual(['/data/in', '/data/in-clean'])
    expect(JSON.parse(readFileSync(file, 'utf8'))).toEqual({ folders: ['/data/in', '/data/in-clean'] })
    writeFileSync(file, '{"folders": ["/data/in"')
    expect(loadGrantedFolders(file)).toEqual([])
    expect(parseGrantedFolders({ folders: ['/a', 3, '', null, '/b'] })).toEqual(['/a', '/b'])
    expect(parseGrantedFolders(['/a'])).toEqual([])
  })
})

describe('FolderGate', () => {
  function jobsList(...defs: { definition: unknown; baseDir: string }[]): Result<unknown> {
    return { ok: true, value: defs.map((d, i) => ({ name: `job${i}`, ...d })) }
  }

  function setup(platform: NodeJS.Platform = 'linux') {
    const grants = new FolderGrants({ platform, fs: fakeFs() })
    const answers: ((r: Result<unknown>) => void)[] = []
    const warnings: string[] = []
    const gate = new FolderGate({
      grants,
      platform,
      homedir: platform === 'win32' ? 'C:\\Users\\ana' : '/home/ana',
      listJobs: () => new Promise((resolve) => answers.push(resolve)),
      log: { warn: (msg) => warnings.push(msg) }
    })
    return { grants, gate, answers, warnings }
  }

  it('lets through calls that name no path, without waiting for the jobs', async () => {
    const { gate, answers } = setup()
    void gate.refreshJobFolders()
    expect(await gate.check('runs.get', { runId: 'r1' })).toBeNull()
    expect(answers).toHaveLength(1)
  })

  it("waits for the saved jobs' folders before judging, then allows them", async () => {
    const { gate, answers } = setup()
    void gate.refreshJobFolders()
    let done = false
    const pending = gate.check('inputs.preview', { folder: '/data/jobs/in' }).then((r) => ((done = true), r))
    await Promise.resolve()
    expect(done).toBe(false)
    answers[0]?.(jobsList({ definition: { input: { folder: 'in' }, output: { folder: 'out' } }, baseDir: '/data/jobs' }))
    expect(await pending).toBeNull()
    expect(await gate.check('jobs.save', { job: { input: { folder: '/data/jobs/in' }, output: { folder: '/data/jobs/out/2024' } } })).toBeNull()
  })

  it('refuses a call naming any path outside, with every refused path', async () => {
    const { gate, grants, warnings } = setup()
    grants.grantChosen('/data/in')
    const e = await gate.check('jobs.validate', { job: { input: { folder: '/data/in' }, output: { folder: '/data/input' }, archive: { folder: '/data/in/../done' } } })
    expect(e?.code).toBe('forbidden')
    expect(e?.message).toBe(`Batchery can only use folders you chose, and /data/input is not in one. ${MESSAGE_END}`)
    expect(e?.problems?.map((p) => p.path)).toEqual(['output.folder', 'archive.folder'])
    expect(warnings).toEqual(['call refused: a path outside the chosen folders'])
    expect(await gate.check('inputs.browse', {})).toMatchObject({ code: 'forbidden' })
    expect(await gate.check('runs.startWithFiles', { job: 'j', paths: ['/data/in/a.csv', '/data/other/b.csv'] })).toMatchObject({ problems: [{ path: 'paths[1]' }] })
    expect(await gate.check('runs.startWithFiles', { job: 'j', paths: ['/data/in/a.csv'] })).toBeNull()
  })

  it('reads the jobs again when they change, folding changes that arrive meanwhile into one more reading', async () => {
    const { gate, answers } = setup()
    void gate.refreshJobFolders()
    void gate.refreshJobFolders()
    void gate.refreshJobFolders()
    expect(answers).toHaveLength(1)
    answers[0]?.(jobsList({ definition: { input: { folder: '/a/in' } }, baseDir: '/a' }))
    await new Promise((r) => setImmediate(r))
    expect(answers).toHaveLength(2)
    answers[1]?.(jobsList({ definition: { input: { folder: '/b/in' } }, baseDir: '/b' }))
    expect(await gate.check('inputs.preview', { folder: '/b/in' })).toBeNull()
    expect(await gate.check('inputs.preview', { folder: '/a/in' })).toMatchObject({ code: 'forbidden' })
  })

  it('keeps the folders it had when the engine cannot list the jobs', async () => {
    const { gate, answers, warnings } = setup()
    void gate.refreshJobFolders()
    answers[0]?.(jobsList({ definition: { input: { folder: '/a/in' } }, baseDir: '/a' }))
    await new Promise((r) => setImmediate(r))
    void gate.refreshJobFolders()
    answers[1]?.({ ok: false, error: { code: 'internal', message: 'engine stopped' } })
    expect(await gate.check('inputs.preview', { folder: '/a/in' })).toBeNull()
    expect(warnings).toEqual(['could not read the saved jobs for their folders'])
  })

  it('windows: case ignored, prefix tricks and verbatim paths refused', async () => {
    const { gate, grants } = setup('win32')
    grants.grantChosen('C:\\Users\\ana\\Exports')
    expect(await gate.check('inputs.preview', { folder: 'c:\\users\\ana\\exports\\2024' })).toBeNull()
    expect(await gate.check('inputs.preview', { folder: 'C:/Users/ana/Exports-clean' })).toBeNull()
    for (const folder of ['C:\\Users\\ana\\Exports2', 'C:\\Users\\ana', '\\\\?\\C:\\Users\\ana\\Exports', 'C:\\Users\\ana\\Exports\\..\\Secrets', 'D:\\Users\\ana\\Exports']) {
      expect(await gate.check('inputs.preview', { folder }), folder).toMatchObject({ code: 'forbidden' })
    }
  })
})
