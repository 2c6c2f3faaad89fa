// One output of a run as it is assembled: written under a temporary name next to its final name,
// hashed as it goes, fsynced, and, when the job splits its output, cut into numbered parts of at
// most N records or bytes (orders-part-0001.csv, orders-part-0002.csv...), each a whole file of
// its format: the CSV header on top, a JSON array's brackets around its records.
//
// The runner renames every part into place only after all outputs are assembled and the records
// add up, so a run stopped anywhere leaves no part under a final name.
import { createHash, type Hash } from 'node:crypto'
import { closeSync, fsyncSync, mkdirSync, openSync, writeSync } from 'node:fs'
import { basename, dirname, join } from 'node:path'
import { bodyWriter } from './assemble-formats'
import { crashPoint } from './crash-points'

export interface AssembledOutput {
  path: string
  tmp: string
  records: number
  bytes: number
  sha256: string
}

export interface SinkOptions {
  /** The output's final path; with a split, the parts are named after it. */
  path: string
  runId: string
  format: string
  /** What each file starts with (the CSV header line, a workbook's staged header row), or null. */
  head: Buffer | null
  split?: { records?: number; bytes?: number }
  /** Temporary files made, so that a run that stops removes them. */
  tmpOutputs: string[]
  /** Writes are gathered up to this many bytes. */
  bufferBytes: number
  /**
   * A buffer to gather writes in, shared by outputs assembled one after another (thousands of
   * per-input outputs would otherwise allocate a megabyte each). Never share one between sinks
   * open at the same time.
   */
  buffer?: Buffer
}

/** The name of part `n` (from 1) of an output: orders.csv → orders-part-0001.csv. */
export function partPath(path: string, n: number): string {
  const name = basename(path)
  const dot = name.lastIndexOf('.')
  const stem = dot > 0 ? name.slice(0, dot) : name
  const ext = dot > 0 ? name.slice(dot) : ''
  return join(dirname(path), `${stem}-part-${String(n).padStart(4, '0')}${ext}`)
}

class Part {
  readonly tmp: string
  private fd: number
  private hash: Hash = createHash('sha256')
  private used = 0
  bytes = 0
  records = 0
  readonly body: { write(b: Buffer): void; end(): void }

  constructor(
    readonly path: string,
    runId: string,
    format: string,
    head: Buffer | null,
    private readonly pending: Buffer
  ) {
    mkdirSync(dirname(path), { recursive: true })
    this.tmp = join(dirname(path), `.${basename(path)}.${runId}.partial`)
    this.fd = openSync(this.tmp, 'w')
    if (head) this.write(head)
    // A JSON array's brackets and commas; other formats' records as they are.
    this.body = bodyWriter(format, (b) => this.write(b))
  }

  private flush(): void {
    let off = 0
    while (off < this.used) off += writeSync(this.fd, this.pending, off, this.used - off)
    this.used = 0
  }

  write(b: Buffer): void {
    this.hash.update(b)
    this.bytes += b.length
    if (this.used + b.length > this.pending.length) this.flush()
    if (b.length >= this.pending.length) {
      let off = 0
      while (off < b.length) off += writeSync(this.fd, b, off, b.length - off)
    } else {
      b.copy(this.pending, this.used)
      this.used += b.length
    }
  }

  close(): AssembledOutput {
    try {
      this.body.end()
      this.flush()
      fsyncSync(this.fd)
    } finally {
      closeSync(this.fd)
    }
    return { path: this.path, tmp: this.tmp, records: this.records, bytes: this.bytes, sha256: this.hash.digest('hex') }
  }

  /** Close without keeping (an error stopped the assembly). */
  abandon(): void {
    try {
      closeSync(this.fd)
    } catch {
      // closed already
    }
  }
}

export class OutputSink {
  private part!: Part
  private n = 1
  private done: AssembledOutput[] = []
  private readonly pending: Buffer
  private readonly maxRecords: number
  private readonly maxBytes: number
  /** Bytes a record may add beyond its own: a JSON array's comma and closing bracket. */
  private readonly framing: number

  constructor(private readonly opts: SinkOptions) {
    this.pending = opts.buffer ?? Buffer.allocUnsafe(opts.bufferBytes)
    this.maxRecords = opts.split?.records ?? Infinity
    this.maxBytes = opts.split?.bytes ?? Infinity
    this.framing = opts.format === 'json' ? 4 : 0
    opts.tmpOutputs.push(this.open().tmp)
  }

  get split(): boolean {
    return this.opts.split !== undefined
  }

  private open(): Part {
    const path = this.split ? partPath(this.opts.path, this.n) : this.opts.path
    this.part = new Part(path, this.opts.runId, this.opts.format, this.opts.head, this.pending)
    return this.part
  }

  /** One whole record, with its line end. A part always takes at least one record, however large. */
  record(b: Buffer): void {
    const p = this.part
    if (p.records > 0 && (p.records >= this.maxRecords || p.bytes + b.length + this.framing > this.maxBytes)) {
      this.next()
    }
    this.part.body.write(b)
    this.part.records++
  }

  /** Records as staged bytes, `records` of them, without looking at their boundaries (no split). */
  raw(b: Buffer): void {
    if (this.split) throw new Error('a split output takes its records one at a time')
    this.part.body.write(b)
  }

  addRecords(n: number): void {
    this.part.records += n
  }

  private next(): void {
    this.done.push(this.part.close())
    crashPoint('after-output-staged')
    this.n++
    this.opts.tmpOutputs.push(this.open().tmp)
  }

  /** Close the last part: every part of this output, in order. */
  finish(): AssembledOutput[] {
    this.done.push(this.part.close())
    crashPoint('after-output-staged')
    return this.done
  }

  abandon(): void {
    this.part.abandon()
  }
}
