// The Piscina worker: reads one partition (a byte range of one input file) itself, runs every
// record through the job's steps, writes the staged output itself and returns a small summary
// with the failed records. It never touches SQLite: the engine's main thread records the result.
//
// A task can die half-way (abort, timeout, crash): everything it writes goes to a temporary name
// first and is renamed to the staged name only when complete and fsynced, so a staged file either
// is whole or does not exist.
import { createHash, type Hash } from 'node:crypto'
import { closeSync, fsyncSync, openSync, readSync, renameSync, rmSync, writeSync } from 'node:fs'
import type { Rec } from '../shared/expression'
import { boundRaw, type FailedRecord, type FailureCode } from '../shared/failures'
import type { BatchResult, PartitionResult, PartitionTask } from '../shared/partition-task'
import { PROGRESS_SLOTS } from '../shared/partition-task'
import { CsvParser } from './formats/csv-parser'
import { decoderFor } from './formats/decode'
import { recordEncoder } from './formats/encode'
import { JsonArrayParser } from './formats/json-array-parser'
import { JsonlParser } from './formats/jsonl-parser'
import { readStreamed, streamedKind } from './formats/streamed-input'
import { MAX_ROUTES } from '../shared/step-limits'
import { Aggregator } from './steps/aggregate'
import { compilePipeline, RecordFailure, type Pipeline } from './steps/pipeline'

/**
 * The prototype of every record: empty, frozen and without Object.prototype, so a record has no
 * inherited keys (a column named __proto__ or toString is only data). Sharing one prototype, rather
 * than Object.create(null) per record, lets V8 give records a fast shape: building and encoding a
 * record costs about a third less (scripts/bench/ab-worker.mjs).
 */
const REC_PROTO: Rec = Object.freeze(Object.create(null)) as Rec

/**
 * A function that builds a record from a CSV row's fields, one per header column, in order: a
 * constructor compiled for the header, whose named stores V8 caches (one shape for every record,
 * properties inside the object) where a loop of rec[header[i]] = ... stores through a generic
 * path (worker CPU -6 to -8%, scripts/bench/ab-partition.mjs). Same result as that loop: the keys
 * in header order (a repeated name keeps its last value), REC_PROTO as prototype, so no inherited
 * keys (a column named __proto__ is data like any other: nothing up the chain has a __proto__
 * setter). Column names reach the generated code only as JSON string literals, never as code.
 */
function recordMaker(header: readonly string[]): (fields: readonly string[]) => Rec {
  // Compiled once per header and kept: a folder of many small files shares one header, and a
  // constructor shared across partitions keeps one shape for all their records.
  const key = JSON.stringify(header)
  const known = makers.get(key)
  if (known) return known
  if (makers.size >= MAX_MAKERS) makers.clear()
  const made = compileRecordMaker(header)
  makers.set(key, made)
  return made
}

const MAX_MAKERS = 64
const makers = new Map<string, (fields: readonly string[]) => Rec>()

function compileRecordMaker(header: readonly string[]): (fields: readonly string[]) => Rec {
  const body = header.map((h, i) => `this[${JSON.stringify(h)}] = f[${i}]`).join('\n')
  const Record = new Function('f', body) as unknown as new (f: readonly string[]) => Rec
  Record.prototype = REC_PROTO
  return (fields) => new Record(fields)
}

/** Read size. Larger blocks make each block's garbage outlive V8's young generation (measured in perf-baselines.md). */
const BLOCK_BYTES = 64 * 1024
/** Output is buffered in memory up to about this many characters before a write. */
const FLUSH_CHARS = 256 * 1024

const pipelines = new Map<string, Promise<Pipeline>>()
/** The read block of the last task, free for the next one. */
let spareBlock: Buffer | null = null

function pipelineFor(task: PartitionTask): Promise<Pipeline> {
  let p = pipelines.get(task.pipeline.hash)
  if (!p) {
    p = compilePipeline(task.pipeline)
    pipelines.set(task.pipeline.hash, p)
    p.catch(() => pipelines.delete(task.pipeline.hash))
  }
  return p
}

class BufferedFile {
  private fd: number
  private parts: string[] = []
  private chars = 0
  bytes = 0
  /** Set to hash what is written (a partition that is a whole output). */
  hash: Hash | null = null

  constructor(readonly path: string) {
    this.fd = openSync(path, 'w')
  }

  write(s: string): void {
    this.parts.push(s)
    this.chars += s.length
    if (this.chars >= FLUSH_CHARS) this.flush()
  }

  private flush(): void {
    if (!this.parts.length) return
    const text = this.parts.join('')
    this.hash?.update(text)
    this.bytes += writeSync(this.fd, text)
    this.parts = []
    this.chars = 0
  }

  /** Flush, fsync and close, then rename to the final name. */
  commit(finalPath: string): void {
    this.flush()
    fsyncSync(this.fd)
    closeSync(this.fd)
    renameSync(this.path, finalPath)
  }

  /** Close and delete the temporary file: a failed attempt leaves nothing behind (a full disk least of all). */
  abandon(): void {
    try {
      closeSync(this.fd)
    } catch {
      // already closed
    }
    rmSync(this.path, { force: true })
  }
}

/**
 * Several small partitions in one task (a folder of many small files): each is run as its own
 * task would be, in order, and its result returned in the same place. The first that throws ends
 * the batch: its error is returned in its place and the rest are not started, so the engine
 * commits what finished and runs the others one by one, with their own retries.
 */
export async function runBatch(tasks: PartitionTask[]): Promise<BatchResult[]> {
  const results: BatchResult[] = []
  for (const task of tasks) {
    try {
      results.push(await runPartition(task))
    } catch (e) {
      const err = e as NodeJS.ErrnoException
      results.push({ error: String(err?.message ?? e), ...(err?.code ? { code: err.code } : {}) })
      break
    }
  }
  return results
}

export default async function runPartition(task: PartitionTask): Promise<PartitionResult> {
  const t0 = performance.now()
  const pipeline = await pipelineFor(task)
  const counts = { in: 0, out: 0, filtered: 0, failed: 0 }
  const failures: FailedRecord[] = []
  const encode = recordEncoder(task.output.format, task.output.columns, task.output.delimiter, task.output.quoting)
  const preview = task.preview ? { records: [] as Rec[], keys: [] as (string | null)[], routes: [] as (string | null)[] } : null
  const out = preview ? null : new BufferedFile(task.stagedPath + '.tmp')
  // The index: one line per output record with its byte length, its route and its dedupe key, for
  // the assembly to route, split and dedupe records without parsing them again.
  const keys = task.indexPath && !preview ? new BufferedFile(task.indexPath + '.tmp') : null
  if (out && task.wholeOutput) {
    out.hash = createHash('sha256')
    if (task.wholeOutput.head) out.write(task.wholeOutput.head)
  }
  // An aggregate job stages its partition's partial summary instead of records.
  const aggregator = pipeline.aggregate ? new Aggregator(pipeline.aggregate.spec, pipeline.aggregate.label) : null
  const routesSeen = pipeline.routes ? new Set<string>() : null
  const progress = new BigInt64Array(task.progress)
  /** Where a failed record is, added to its message when the line alone does not say (a sheet's row). */
  let where: ((line: number) => string) | null = null
  const fail = (line: number, step: string, code: FailureCode, message: string, raw: string): void => {
    counts.failed++
    failures.push({ line, step, code, message: where ? message + where(line) : message, raw: boundRaw(raw) })
  }
  // Set once a block decoded with replacement characters (invalid bytes somewhere): from then on each row is checked.
  let suspectEncoding = false

  // A dry run stops counting at its limit, even mid-block.
  const limit = task.preview?.limit ?? Infinity
  const handle = (rec: Rec, line: number, raw: () => string): void => {
    if (counts.in >= limit) return
    counts.in++
    if (suspectEncoding && (hasReplacementChar(rec) || raw().includes('\uFFFD'))) {
      const message =
        task.input.encoding === 'utf8'
          ? 'the row holds bytes that are not valid UTF-8 (if the file was saved as Latin-1 or Windows-1252, set input.encoding)'
          : `the row holds bytes that have no character in ${task.input.encoding} (is the file in another encoding?)`
      fail(line, 'read', 'ENCODING_ERROR', message, raw())
      return
    }
    let result: Rec | null
    try {
      result = pipeline.apply(rec)
    } catch (e) {
      if (e instanceof RecordFailure) {
        fail(line, e.step, e.code, e.message, raw())
        return
      }
      throw e
    }
    if (result === null) {
      counts.filtered++
      return
    }
    if (aggregator) {
      try {
        aggregator.add(result)
      } catch (e) {
        if (e instanceof RecordFailure) {
          fail(line, e.step, e.code, e.message, raw())
          return
        }
        throw e
      }
      counts.out++
      return
    }
    if (routesSeen && !routesSeen.has(pipeline.lastRoute as string)) {
      if (routesSeen.size >= MAX_ROUTES) {
        fail(line, 'route', 'TOO_MANY_OUTPUTS', `the route step sends this record to "${pipeline.lastRoute}", which would be output number ${MAX_ROUTES + 1}; a run writes at most ${MAX_ROUTES} outputs (route by a column with fewer values)`, raw())
        return
      }
      routesSeen.add(pipeline.lastRoute as string)
    }
    let text: string
    try {
      text = encode(result)
    } catch (e) {
      // JSON nested too deep to write, a value that cannot be serialised...
      fail(line, 'write', 'UNWRITABLE', `the record cannot be written as ${task.output.format}: ${(e as Error)?.message ?? e}`, raw())
      return
    }
    counts.out++
    if (preview) {
      preview.records.push(result)
      preview.keys.push(pipeline.dedupes ? pipeline.lastKey : null)
      preview.routes.push(routesSeen ? pipeline.lastRoute : null)
      return
    }
    ;(out as BufferedFile).write(text)
    if (keys) keys.write(`${Buffer.byteLength(text)}\t${routesSeen ? JSON.stringify(pipeline.lastRoute) : ''}\t${pipeline.dedupes ? pipeline.lastKey : ''}\n`)
  }

  let parser: { push(text: string, final: boolean): void; readonly endedInsideQuotes?: boolean; readonly resumeLine?: number | null; reopen?(): void }
  const recordLimit = { maxRecordBytes: task.maxRecordBytes, utf8: task.input.encoding === 'utf8' }
  if (task.input.format === 'jsonl' || task.input.format === 'json' || task.input.format === 'xlsx') {
    const sink = {
      record: (rec: Rec, line: number, raw: string) => handle(rec, line, () => raw),
      malformed: (line: number, raw: string, message: string, code: FailureCode) => {
        if (counts.in >= limit) return
        counts.in++
        fail(line, 'read', code, message, raw)
      }
    }
    parser =
      task.input.format === 'json'
        ? new JsonArrayParser(sink, task.firstLine, { ...recordLimit, continued: task.start > 0, last: task.lastOfFile })
        : task.input.format === 'xlsx'
          ? { push: () => {} } // rows come from the sheet reader below
          : new JsonlParser(sink, task.firstLine, recordLimit)
  } else {
    const header = task.header ?? []
    const width = header.length
    const makeRecord = recordMaker(header)
    const csv: CsvParser = new CsvParser(
      { delimiter: task.input.delimiter, quote: task.input.quote },
      {
        record: (fields, line) => {
          if (fields.length !== width) {
            if (counts.in >= limit) return
            counts.in++
            fail(line, 'read', 'FIELD_COUNT', `expected ${width} fields (as in the header), found ${fields.length}`, csv.lastRaw())
            return
          }
          handle(makeRecord(fields), line, () => csv.lastRaw())
        },
        malformed: (line, raw, message, code) => {
          if (counts.in >= limit) return
          counts.in++
          fail(line, 'read', code, message, raw)
        }
      },
      task.firstLine,
      recordLimit
    )
    parser = csv
  }

  const fd = openSync(task.file, 'r')
  // One read block kept between tasks: a batch of small files would allocate one per file.
  const block = spareBlock ?? Buffer.allocUnsafe(BLOCK_BYTES)
  spareBlock = null
  let decoder = decoderFor(task.input.encoding)
  let pos = task.start
  let bytesRead = 0
  /** Reading a second time from a line (see resumeLine below): those bytes were counted already. */
  let again = false
  try {
    // Compressed files and workbooks are read whole, as they stream, not by byte range.
    const streamed = streamedKind(task)
    if (streamed) {
      bytesRead = await readStreamed(streamed, task, {
        pushText: (text, final) => {
          // Once set it stays set: a row can begin in the block that held the bad byte and end in a later one.
          if (!suspectEncoding) suspectEncoding = task.input.encoding !== 'latin1' && text.includes('\uFFFD')
          const before = counts.in
          parser.push(text, final)
          Atomics.add(progress, PROGRESS_SLOTS.records, BigInt(counts.in - before))
        },
        record: (rec, line, raw) => {
          handle(rec, line, raw)
          Atomics.add(progress, PROGRESS_SLOTS.records, 1n)
        },
        failed: (line, code, message, raw) => {
          if (counts.in >= limit) return
          counts.in++
          fail(line, 'read', code, message, raw)
          Atomics.add(progress, PROGRESS_SLOTS.records, 1n)
        },
        bytes: (n) => Atomics.add(progress, PROGRESS_SLOTS.bytes, BigInt(n)),
        stop: () => preview !== null && counts.in >= limit,
        where: (describe) => (where = describe),
        parser
      })
      pos = task.end
    }
    while (pos < task.end) {
      const n = readSync(fd, block, 0, Math.min(BLOCK_BYTES, task.end - pos), pos)
      if (n === 0) throw new Error(`the file ${task.file} is shorter than when the run started (it changed during the run)`)
      pos += n
      if (!again) bytesRead += n
      const final = pos >= task.end
      let text = decoder.write(block.subarray(0, n))
      if (final) text += decoder.end()
      // Latin-1 maps every byte; UTF-8 and Windows-1252 decode what they cannot map as U+FFFD. The
      // flag stays set once raised: a row can begin in this block and end in a later one.
      if (!suspectEncoding) suspectEncoding = task.input.encoding !== 'latin1' && text.includes('\uFFFD')
      const before = counts.in
      parser.push(text, final)
      Atomics.add(progress, PROGRESS_SLOTS.records, BigInt(counts.in - before))
      if (!again) Atomics.add(progress, PROGRESS_SLOTS.bytes, BigInt(n))
      if (preview && counts.in >= (task.preview?.limit ?? 0)) break
      // A quote never closed, in a record too large to keep: the parser reported its first line
      // and must go on from the next line, which it did not keep, so the rest is read again from
      // there. Not where the partition ends before its file does: that boundary was misplaced.
      const resume = final && task.lastOfFile ? (parser.resumeLine ?? null) : null
      if (resume !== null) {
        pos = lineStart(fd, task.start, task.firstLine, resume, task.end)
        decoder = decoderFor(task.input.encoding)
        parser.reopen?.()
        again = true
        if (pos >= task.end) parser.push('', true)
      }
    }
    if (task.start === task.end) parser.push('', true)
  } catch (e) {
    out?.abandon()
    keys?.abandon()
    throw e
  } finally {
    closeSync(fd)
    spareBlock = block
  }

  if (preview && aggregator) {
    // A dry run shows the summary of the sample, as the output would hold it; the engine merges
    // the partial summaries of a merged output's files.
    preview.records = [...aggregator.rows()]
    preview.keys = preview.records.map(() => null)
    ;(preview as { partial?: string }).partial = aggregator.serialize()
  }
  if (preview) {
    return { counts, failures, stagedBytes: 0, keysBytes: 0, bytesRead, durationMs: performance.now() - t0, boundaryBroken: false, preview }
  }
  const staged = out as BufferedFile
  if (!task.lastOfFile && parser.endedInsideQuotes) {
    staged.abandon()
    keys?.abandon()
    return { counts, failures: [], stagedBytes: 0, keysBytes: 0, bytesRead, durationMs: performance.now() - t0, boundaryBroken: true }
  }
  if (aggregator) staged.write(aggregator.serialize())
  // The index first: the staged output's presence is what marks the partition's files complete.
  try {
    keys?.commit(task.indexPath as string)
    staged.commit(task.stagedPath)
  } catch (e) {
    staged.abandon()
    keys?.abandon()
    throw e
  }
  return {
    counts,
    failures,
    stagedBytes: staged.bytes,
    keysBytes: keys?.bytes ?? 0,
    bytesRead,
    durationMs: performance.now() - t0,
    boundaryBroken: false,
    ...(staged.hash ? { wholeSha256: staged.hash.digest('hex') } : {})
  }
}

/** Offset of the start of 1-based `line` in [start, end), where `start` is on `firstLine`: after the right number of '\n' bytes (one in every encoding read). */
function lineStart(fd: number, start: number, firstLine: number, line: number, end: number): number {
  const buf = Buffer.allocUnsafe(BLOCK_BYTES)
  let left = line - firstLine
  let pos = start
  while (left > 0 && pos < end) {
    const n = readSync(fd, buf, 0, Math.min(BLOCK_BYTES, end - pos), pos)
    if (n === 0) break
    const v = buf.subarray(0, n)
    let i = -1
    while (left > 0 && (i = v.indexOf(10, i + 1)) !== -1) left--
    pos += left === 0 ? i + 1 : n
  }
  return Math.min(pos, end)
}

function hasReplacementChar(rec: Rec): boolean {
  for (const k in rec) {
    const v = rec[k]
    if (typeof v === 'string' && v.includes('\uFFFD')) return true
  }
  return false
}
