// Parquet output, written from an assembled output once assembly is done. The assembled file
// holds a header line (a JSON array of the column names), then one JSON array of the columns'
// values per record, in input order (encode.ts stages them so).
//
// Two passes over that file:
//   1. decide each column's type from every value it holds: whole numbers within ±2^53 -> INT64,
//      other numbers -> DOUBLE, true/false -> BOOLEAN, text -> UTF-8 string. A column that mixes
//      kinds (numbers and text, say) is written as text, each value as it would read in CSV; a
//      column with no value at all is text too. Every column is optional: null stays null.
//   2. write the rows in row groups of at most ROW_GROUP_ROWS records (fewer for wide or long
//      rows, see below), so memory stays bounded whatever the number of rows.
//
// The same rows give the same bytes: the writer (hyparquet-writer, pure JavaScript) embeds no
// time and no random id, `created_by` is a fixed "Batchery", and row groups are cut by the data
// alone. So a resumed run writes the same file as an uninterrupted one.
import { createHash } from 'node:crypto'
import { closeSync, fsyncSync, openSync, renameSync, rmSync, writeSync } from 'node:fs'
import { open } from 'node:fs/promises'
import { StringDecoder } from 'node:string_decoder'
import { crashPoint } from './crash-points'
// hyparquet-writer is loaded when a Parquet file is written, not whenever Batchery starts.
import type { ColumnSource, SchemaElement, Writer } from 'hyparquet-writer'

/** At most this many records per row group: big enough for readers, small enough to hold in memory. */
export const ROW_GROUP_ROWS = 100_000
/**
 * A row group is held in memory as values before it is encoded, so wide or long rows make smaller
 * groups: at most this many values (records x columns), and this much staged text (characters of
 * the JSON lines). 100,000 records of 20 columns fit; 500 columns make groups of 4,000 records.
 */
export const ROW_GROUP_VALUES = 2_000_000
export const ROW_GROUP_TEXT_CHARS = 32 * 1024 * 1024

type Kind = 'none' | 'int' | 'double' | 'boolean' | 'string'
type Value = string | number | boolean | null

interface Output {
  tmp: string
  bytes: number
  sha256: string
}

/** The kind a column has once it also holds `v`. */
function widen(kind: Kind, v: Value): Kind {
  if (v === null || kind === 'string') return kind
  let k: Kind
  if (typeof v === 'number') k = Number.isSafeInteger(v) ? 'int' : 'double'
  else if (typeof v === 'boolean') k = 'boolean'
  else return 'string'
  if (kind === 'none' || kind === k) return k
  // Whole numbers and fractions together are all numbers; anything else mixed is text.
  if ((kind === 'int' && k === 'double') || (kind === 'double' && k === 'int')) return 'double'
  return 'string'
}

function schemaElement(name: string, kind: Kind): SchemaElement {
  if (kind === 'int') return { name, type: 'INT64', repetition_type: 'OPTIONAL' }
  if (kind === 'double') return { name, type: 'DOUBLE', repetition_type: 'OPTIONAL' }
  if (kind === 'boolean') return { name, type: 'BOOLEAN', repetition_type: 'OPTIONAL' }
  return { name, type: 'BYTE_ARRAY', converted_type: 'UTF8', repetition_type: 'OPTIONAL' }
}

/** A value as its column's type takes it. */
function columnValue(kind: Kind, v: Value): Value | bigint {
  if (v === null) return null
  if (kind === 'int') return BigInt(v as number)
  if (kind === 'string') return typeof v === 'string' ? v : String(v)
  return v
}

/** The lines of a UTF-8 file (staged JSON never holds a raw line break), read in 1 MiB blocks. */
async function* lines(path: string): AsyncGenerator<string> {
  const fh = await open(path, 'r')
  const buf = Buffer.allocUnsafe(1 << 20)
  const decoder = new StringDecoder('utf8')
  let carry = ''
  try {
    for (;;) {
      const { bytesRead } = await fh.read(buf, 0, buf.length, null)
      if (bytesRead === 0) break
      const text = carry + decoder.write(buf.subarray(0, bytesRead))
      let start = 0
      for (let nl = text.indexOf('\n'); nl !== -1; nl = text.indexOf('\n', start)) {
        if (nl > start) yield text.slice(start, nl)
        start = nl + 1
      }
      carry = text.slice(start)
    }
    carry += decoder.end()
    if (carry !== '') yield carry
  } finally {
    await fh.close()
  }
}

/**
 * A hyparquet-writer sink that writes to a file descriptor in blocks of about 1 MiB (hashing the
 * bytes as they go), instead of keeping the whole file in memory as its ByteWriter does.
 */
function fileSink(ByteWriter: new (size?: number) => Writer, fd: number): { writer: Writer; digest(): { sha256: string; bytes: number } } {
  const FLUSH_AT = 1 << 20
  const w = new ByteWriter(2 * FLUSH_AT) as Writer & { index: number }
  const hash = createHash('sha256')
  let bytes = 0
  const flush = (): void => {
    const chunk = new Uint8Array(w.buffer, 0, w.index)
    let off = 0
    while (off < chunk.length) off += writeSync(fd, chunk, off, chunk.length - off)
    hash.update(chunk)
    bytes += chunk.length
    w.index = 0
  }
  const ensure = w.ensure.bind(w)
  w.ensure = (size: number): void => {
    if (w.index > FLUSH_AT) flush()
    ensure(size)
  }
  w.flush = flush
  w.finish = flush
  return { writer: w, digest: () => ({ sha256: hash.digest('hex'), bytes }) }
}

/**
 * Turn an assembled output (the header line, then the records, each a JSON array of values on one
 * line, at `out.tmp`) into a Parquet file at the same temporary name, fsynced, and update its size
 * and hash. No records gives a valid file with the columns (as text) and no row group.
 */
export async function writeParquetOutput(out: Output, tmpOutputs: string[]): Promise<void> {
  // Pass 1: the columns, and the type of each.
  let columns: string[] | null = null
  let kinds: Kind[] = []
  for await (const line of lines(out.tmp)) {
    if (columns === null) {
      columns = JSON.parse(line) as string[]
      kinds = columns.map(() => 'none')
      continue
    }
    const values = JSON.parse(line) as Value[]
    for (let c = 0; c < kinds.length; c++) kinds[c] = widen(kinds[c] as Kind, values[c] ?? null)
  }
  columns ??= []
  const names = columns
  const schema: SchemaElement[] = [{ name: 'schema', num_children: names.length }, ...names.map((n, c) => schemaElement(n, kinds[c] as Kind))]

  const { ByteWriter, ParquetWriter } = await import('hyparquet-writer')
  const file = out.tmp.replace(/\.partial$/, '') + '.parquet.partial'
  tmpOutputs.push(file)
  const fd = openSync(file, 'w')
  let digest: { sha256: string; bytes: number }
  try {
    const sink = fileSink(ByteWriter as unknown as new (size?: number) => Writer, fd)
    const pq = new ParquetWriter({ writer: sink.writer, schema, codec: 'SNAPPY', createdBy: 'Batchery' })
    let group: (Value | bigint)[][] = names.map(() => [])
    let rows = 0
    let chars = 0
    const writeGroup = async (): Promise<void> => {
      if (rows === 0) return
      const columnData: ColumnSource[] = names.map((name, c) => ({ name, data: group[c] as ColumnSource['data'] }))
      await pq.write({ columnData, rowGroupSize: rows })
      // For the tests that kill a run in the middle of writing a Parquet file, then resume it.
      crashPoint('after-parquet-row-group')
      group = names.map(() => [])
      rows = 0
      chars = 0
    }
    // Pass 2: the rows, a row group at a time.
    let header = true
    for await (const line of lines(out.tmp)) {
      if (header) {
        header = false
        continue
      }
      const values = JSON.parse(line) as Value[]
      for (let c = 0; c < names.length; c++) (group[c] as (Value | bigint)[]).push(columnValue(kinds[c] as Kind, values[c] ?? null))
      rows++
      chars += line.length
      if (rows >= ROW_GROUP_ROWS || rows * names.length >= ROW_GROUP_VALUES || chars >= ROW_GROUP_TEXT_CHARS) await writeGroup()
    }
    await writeGroup()
    await pq.finish()
    digest = sink.digest()
    fsyncSync(fd)
  } finally {
    closeSync(fd)
  }
  rmSync(out.tmp, { force: true })
  renameSync(file, out.tmp)
  out.bytes = digest.bytes
  out.sha256 = digest.sha256
}
