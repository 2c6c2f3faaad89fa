// Path text on the user's machine, handled without Node: both separators, Windows drive letters.

export function isAbsolutePath(p: string): boolean {
  return p.startsWith('/') || p.startsWith('\\\\') || /^[A-Za-z]:[\\/]/.test(p)
}

function separatorOf(p: string): '/' | '\\' {
  return p.includes('\\') && !p.includes('/') ? '\\' : '/'
}

export function trimTrailingSeparators(p: string): string {
  const trimmed = p.replace(/[\\/]+$/, '')
  // Keep a root ("/" or "C:\") whole.
  if (trimmed === '') return p.slice(0, 1)
  if (/^[A-Za-z]:$/.test(trimmed)) return trimmed + (p[2] ?? '\\')
  return trimmed
}

/** `rel` against `base` when it is relative, with "." and ".." resolved. */
export function resolvePath(base: string, rel: string): string {
  if (isAbsolutePath(rel)) return rel
  const sep = separatorOf(base)
  const parts = trimTrailingSeparators(base).split(/[\\/]/)
  for (const part of rel.split(/[\\/]/)) {
    if (part === '' || part === '.') continue
    if (part === '..') {
      if (parts.length > 1) parts.pop()
    } else parts.push(part)
  }
  const joined = parts.join(sep)
  return joined === '' ? sep : joined
}

export function parentPath(p: string): string {
  const t = trimTrailingSeparators(p)
  const i = Math.max(t.lastIndexOf('/'), t.lastIndexOf('\\'))
  if (i < 0) return t
  if (i === 0) return t.slice(0, 1)
  return t.slice(0, i)
}

/** The default output folder: a sibling of the input folder, so outputs never mix with inputs. */
export function defaultOutputFolder(inputFolder: string): string {
  const t = trimTrailingSeparators(inputFolder)
  return t ? `${t}-clean` : ''
}

/** A file or folder `name` inside `parent`, with the separator the parent uses. */
export function joinChild(parent: string, name: string): string {
  const sep = separatorOf(parent)
  return parent.endsWith('/') || parent.endsWith('\\') ? parent + name : parent + sep + name
}
