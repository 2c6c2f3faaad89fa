// The job's include and exclude patterns, matched the way the engine matches them closely enough
// to say in the file list which files the job would read by itself: "*.csv" matches files in the
// folder, "**/*.csv" in subfolders too, dot files are skipped.

function patternToRegExp(pattern: string): RegExp {
  let out = ''
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i] as string
    if (c === '*') {
      if (pattern[i + 1] === '*') {
        // "**/" is any number of folders, "**" anything at all
        if (pattern[i + 2] === '/') {
          out += '(?:[^/]+/)*'
          i += 2
        } else {
          out += '.*'
          i += 1
        }
      } else out += '[^/]*'
    } else if (c === '?') out += '[^/]'
    else out += c.replace(/[.+^${}()|[\]\\]/g, '\\$&')
  }
  return new RegExp(`^${out}$`)
}

/** Whether a file (its path relative to the input folder, with "/") is among the job's input files. */
export function isJobFile(relPath: string, include: string[], exclude: string[]): boolean {
  if (relPath.split('/').some((p) => p.startsWith('.'))) return false
  const inc = include.length ? include : ['*']
  if (!inc.some((p) => patternToRegExp(p).test(relPath))) return false
  return !exclude.some((p) => patternToRegExp(p).test(relPath))
}
