// A files job's command as one line of text and as a list of arguments. Without the shell the
// engine runs a list (each argument reaches the program as it is), so a line typed by the
// analyst is split here the way a POSIX shell splits words: spaces separate, '...' keeps
// everything, "..." keeps spaces, a backslash keeps the next quote, backslash or space. A
// backslash before anything else stays (so a Windows path like C:\tools\zip.exe survives).
// joinCommandLine is its inverse: splitCommandLine(joinCommandLine(args)) gives args back.

export function splitCommandLine(line: string): string[] {
  const args: string[] = []
  let current = ''
  let inWord = false
  let quote: "'" | '"' | null = null
  for (let i = 0; i < line.length; i++) {
    const c = line[i] as string
    if (quote === "'") {
      if (c === "'") quote = null
      else current += c
      continue
    }
    if (quote === '"') {
      if (c === '"') quote = null
      else if (c === '\\' && (line[i + 1] === '"' || line[i + 1] === '\\')) current += line[++i]
      else current += c
      continue
    }
    if (c === "'" || c === '"') {
      quote = c
      inWord = true
    } else if (c === '\\' && i + 1 < line.length && /["'\\\s]/.test(line[i + 1] as string)) {
      current += line[++i]
      inWord = true
    } else if (/\s/.test(c)) {
      if (inWord) args.push(current)
      current = ''
      inWord = false
    } else {
      current += c
      inWord = true
    }
  }
  if (inWord) args.push(current)
  return args
}

/** One argument as it would be typed: bare when nothing in it needs quoting, else in single quotes. */
export function quoteArg(arg: string): string {
  if (arg !== '' && /^[^\s'"\\]+$/.test(arg)) return arg
  return `'${arg.replaceAll("'", `'\\''`)}'`
}

export function joinCommandLine(args: string[]): string {
  return args.map(quoteArg).join(' ')
}

/** A quote left open: the line cannot be split as typed. */
export function unclosedQuote(line: string): boolean {
  let quote: string | null = null
  for (let i = 0; i < line.length; i++) {
    const c = line[i] as string
    if (quote === "'") {
      if (c === "'") quote = null
    } else if (quote === '"') {
      if (c === '\\' && (line[i + 1] === '"' || line[i + 1] === '\\')) i++
      else if (c === '"') quote = null
    } else if (c === '\\' && i + 1 < line.length && /["'\\\s]/.test(line[i + 1] as string)) i++
    else if (c === "'" || c === '"') quote = c
  }
  return quote !== null
}
