// JSON lines: one JSON object per line. Incremental like the CSV parser: text arrives in blocks.

export interface JsonlSink {
  record(rec: Record<string, unknown>, line: number, raw: string): void
  malformed(line: number, raw: string, message: string): void
}

export class JsonlParser {
  private carry = ''
  line: number

  constructor(
    private readonly sink: JsonlSink,
    firstLine: number
  ) {
    this.line = firstLine
  }

  push(text: string, final: boolean): void {
    const s = this.carry ? this.carry + text : text
    let pos = 0
    for (;;) {
      const nl = s.indexOf('\n', pos)
      if (nl === -1) break
      this.one(s, pos, nl)
      pos = nl + 1
    }
    this.carry = s.slice(pos)
    if (final && this.carry) {
      this.one(this.carry, 0, this.carry.length)
      this.carry = ''
    }
  }

  private one(s: string, start: number, nl: number): void {
    const line = this.line++
    let end = nl
    if (end > start && s.charCodeAt(end - 1) === 13) end--
    if (end === start) return
    const raw = s.slice(start, end)
    if (raw.trim() === '') return
    let value: unknown
    try {
      value = JSON.parse(raw)
    } catch (e) {
      this.sink.malformed(line, raw, `not valid JSON: ${(e as Error).message}`)
      return
    }
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      const what = Array.isArray(value) ? 'an array' : value === null ? 'null' : `a ${typeof value}`
      this.sink.malformed(line, raw, `each line must hold a JSON object ({...}); this one holds ${what}`)
      return
    }
    this.sink.record(value as Record<string, unknown>, line, raw)
  }
}
