// Checking a files job against its folder: input and output folders, the command's placeholders
// and program, the module file. Every problem at once, in the same shape as a records job's.
import { existsSync, statSync } from 'node:fs'
import { delimiter as PATH_DELIMITER, extname, join } from 'node:path'
import type { JobProblem } from '../../shared/job'
import { templateProblems, usesOut, usesPlaceholders } from './command-template'
import { checkFolders, type CheckResult, type LoadedFilesJob } from './job-check'
import { resolveIn } from './paths'

export function checkFilesJob(loaded: LoadedFilesJob): CheckResult {
  const { job, baseDir } = loaded
  const problems: JobProblem[] = []
  const warnings: string[] = []
  const { files } = checkFolders(loaded, problems, warnings)
  if (job.command !== undefined) {
    problems.push(...templateProblems(job.command))
    if (!usesPlaceholders(job.command)) {
      warnings.push("The command has no placeholder, so each file's path is added as its last argument (as GNU parallel does).")
    } else if (!usesOut(job.command)) {
      warnings.push('The command does not use {out}: only what a command writes into {out} becomes an output (moved into the output folder when the file succeeds).')
    }
    if (Array.isArray(job.command) && !job.shell) {
      const program = job.command[0] as string
      if (program && !/[{}]/.test(program) && !findProgram(program, baseDir)) {
        problems.push({
          path: 'command[0]',
          message: /[/\\]/.test(program)
            ? `the program ${resolveIn(baseDir, program)} does not exist`
            : `the program "${program}" was not found on this computer's PATH (give its full path, or install it)`
        })
      }
    }
  }
  if (job.module !== undefined) {
    const file = resolveIn(baseDir, job.module)
    if (!existsSync(file)) problems.push({ path: 'module', message: `the module file ${file} does not exist` })
  }
  return { problems, warnings, files }
}

/** Where a program would be found: a path (relative to the job's folder) or a name on PATH. */
export function findProgram(program: string, cwd: string): string | null {
  if (/[/\\]/.test(program)) {
    const p = resolveIn(cwd, program)
    return existsSync(p) ? p : null
  }
  const exts = process.platform === 'win32' && !extname(program) ? (process.env.PATHEXT ?? '.EXE;.CMD;.BAT;.COM').split(';') : ['']
  for (const dir of (process.env.PATH ?? '').split(PATH_DELIMITER)) {
    if (!dir) continue
    for (const ext of exts) {
      const candidate = join(dir, program + ext)
      try {
        if (statSync(candidate).isFile()) return candidate
      } catch {
        // not here
      }
    }
  }
  return null
}
