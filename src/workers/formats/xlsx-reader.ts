// Excel .xlsx input: one sheet of a workbook, read row by row as it streams, so a big workbook
// needs no more memory than its shared strings (the table of distinct texts that xlsx keeps
// apart from the cells; memory grows with the number of distinct texts, not with rows).
//
// An xlsx file is a zip archive of XML parts. Its central directory (at the end of the file) is
// read first, so each part is read directly from its place in the file, in the order needed:
// workbook and styles, then the shared strings, then the one sheet asked for, inflated and parsed
// as it streams (xml-tokens.ts: a tokenizer for this XML, twice as fast here as a general XML
// parser). Nothing is unpacked to disk. (exceljs's streaming WorkbookReader reads the parts
// in archive order instead, and Excel and exceljs both store sheets before the shared strings,
// so it would first copy every sheet, unpacked, to temporary files; it also turns a formula's
// true/false into 1/0 and can miss date formats stored after the sheets.)
//
// Cells become plain values: numbers as numbers, booleans as true/false, dates (numbers with a
// date format) as ISO text ("2026-01-31", "2026-01-31T09:30:00", "09:30:00" for a time alone),
// formulas as their cached result, rich text as its plain text, errors (#N/A) as their text.
// An empty cell, or a cell covered by a merge other than its top-left one, is "".
import { closeSync, createReadStream, openSync } from 'node:fs'
import { StringDecoder } from 'node:string_decoder'
import { constants, createInflateRaw, inflateRawSync } from 'node:zlib'
import { localName, XmlTokenizer } from './xml-tokens'
import { readAt, readZipDirectory, SIG_LOCAL, ZipInputError, type ZipItem } from './zip'

export type CellValue = string | number | boolean

export interface SheetRow {
  /** The sheet's row number (1-based), as Excel shows it. */
  number: number
  /** Values by column (0 is column A); holes and undefined are empty cells. */
  cells: (CellValue | undefined)[]
}

/** A workbook that cannot be read, or a sheet that is not there; the message follows the file's name ("orders.xlsx has no sheet…"). */
export class WorkbookError extends Error {}

// ---------------------------------------------------------------------------------------------
// The zip container

type ZipEntry = ZipItem

/** A workbook's zip: its entries by lower-case name (from the one central-directory reader, zip.ts). */
class ZipFile {
  readonly entries = new Map<string, ZipEntry>()

  constructor(
    readonly fd: number,
    path: string
  ) {
    let items: ZipItem[]
    try {
      items = readZipDirectory(path)
    } catch (e) {
      if (!(e instanceof ZipInputError)) throw e
      throw new WorkbookError(/^is not a zip/.test(e.message) ? notAWorkbook(fd) : e.message)
    }
    for (const item of items) this.entries.set(item.name.replace(/^\/+/, '').toLowerCase(), item)
  }

  entry(path: string): ZipEntry | undefined {
    return this.entries.get(path.replace(/^\/+/, '').toLowerCase())
  }

  /** Where an entry's compressed data starts. */
  dataStart(e: ZipEntry): number {
    const h = readAt(this.fd, e.localOffset, 30)
    if (h.length < 30 || h.readUInt32LE(0) !== SIG_LOCAL) throw new WorkbookError(`is damaged (its part ${e.name} cannot be found)`)
    if (e.flags & 1) throw new WorkbookError('is encrypted')
    if (e.method !== 0 && e.method !== 8) throw new WorkbookError(`uses a compression method Batchery cannot read (${e.method})`)
    return e.localOffset + 30 + h.readUInt16LE(26) + h.readUInt16LE(28)
  }

  /** A whole small entry (workbook, relationships, styles), inflated. */
  readSmall(e: ZipEntry, limit = 64 << 20): string {
    if (e.size > limit) throw new WorkbookError(`has a part too large to read (${e.name}, ${e.size} bytes)`)
    const raw = readAt(this.fd, this.dataStart(e), e.compressedSize)
    return (e.method === 8 ? inflateRawSync(raw) : raw).toString('utf8')
  }

  /** The start of an entry's content: what its first `compressed` bytes inflate to. */
  readPrefix(e: ZipEntry, compressed: number): { text: string; complete: boolean } {
    const n = Math.min(compressed, e.compressedSize)
    const raw = readAt(this.fd, this.dataStart(e), n)
    const complete = n >= e.compressedSize
    const out = e.method === 8 ? inflateRawSync(raw, { finishFlush: constants.Z_SYNC_FLUSH }) : raw
    // A prefix may end inside a character: the decoder keeps the partial one back.
    return { text: new StringDecoder('utf8').write(out), complete }
  }
}

function notAWorkbook(fd: number): string {
  const head = readAt(fd, 0, 8)
  if (head.length >= 4 && head.readUInt32BE(0) === 0xd0cf11e0) {
    return 'is an old Excel 97-2003 workbook (.xls) or a password-protected one; open it in Excel and save it as .xlsx without a password'
  }
  return 'is not an Excel .xlsx workbook (it is not a zip archive, or it is cut short)'
}

// ---------------------------------------------------------------------------------------------
// XML parts

/** Parse a small XML text, calling `open` for each element (`close` for each end). */
function eachElement(xml: string, open: (name: string, attrs: Record<string, string>) => void, close: (name: string) => void = () => {}): void {
  const t = new XmlTokenizer({
    open: (name, attrs) => open(localName(name), attrs()),
    close: (name) => close(localName(name)),
    text: () => {}
  })
  t.write(xml)
  t.close()
}

function attr(attrs: Record<string, string>, local: string): string | undefined {
  if (attrs[local] !== undefined) return attrs[local]
  for (const k of Object.keys(attrs)) if (localName(k) === local) return attrs[k]
  return undefined
}

function dirOf(path: string): string {
  const i = path.lastIndexOf('/')
  return i === -1 ? '' : path.slice(0, i + 1)
}

function resolvePart(base: string, target: string): string {
  if (target.startsWith('/')) return target.slice(1)
  const parts = (dirOf(base) + target).split('/')
  const out: string[] = []
  for (const p of parts) {
    if (p === '..') out.pop()
    else if (p !== '.' && p !== '') out.push(p)
  }
  return out.join('/')
}

function relationships(zip: ZipFile, forPart: string): Map<string, { type: string; target: string }> {
  const relsPath = `${dirOf(forPart)}_rels/${forPart.slice(dirOf(forPart).length)}.rels`
  const e = zip.entry(relsPath)
  const rels = new Map<string, { type: string; target: string }>()
  if (!e) return rels
  eachElement(zip.readSmall(e), (name, a) => {
    if (name === 'Relationship' && a.Id && a.Target) rels.set(a.Id, { type: a.Type ?? '', target: resolvePart(forPart, a.Target) })
  })
  return rels
}

// Number formats that show a date or a time: Excel's built-in ones by id, and custom codes
// with date or time letters outside quotes, brackets and escapes.
const BUILTIN_DATE_FORMATS = new Set([14, 15, 16, 17, 18, 19, 20, 21, 22, 27, 28, 29, 30, 31, 32, 33, 34, 35, 36, 45, 46, 47, 50, 51, 52, 53, 54, 55, 56, 57, 58])

export function isDateFormatCode(code: string): boolean {
  const bare = code
    .replace(/"[^"]*"/g, '')
    .replace(/\\./g, '')
    .replace(/[_*]./g, '')
    .replace(/\[(?![hms]+\])[^\]]*\]/gi, '')
  // The first section decides (positive numbers); "General" and numeric codes have none of these.
  const first = bare.split(';')[0] ?? ''
  return /[ymdhs]/i.test(first.replace(/General/gi, '').replace(/E[+-]/g, ''))
}

export interface WorkbookInfo {
  /** Worksheets (not chart sheets), in tab order. */
  sheets: { name: string; part: string; hidden: boolean }[]
  date1904: boolean
  sharedStringsPart: string | null
  /** By cell style index (the s attribute): whether its number format is a date or a time. */
  dateStyles: boolean[]
}

function workbookInfo(zip: ZipFile): WorkbookInfo {
  let workbookPart = 'xl/workbook.xml'
  for (const r of relationships(zip, '').values()) {
    if (r.type.endsWith('/officeDocument')) workbookPart = r.target
  }
  const wb = zip.entry(workbookPart)
  if (!wb) throw new WorkbookError('is not an Excel .xlsx workbook (it has no workbook part; is it a Word or PowerPoint file?)')
  const rels = relationships(zip, workbookPart)
  const sheets: WorkbookInfo['sheets'] = []
  let date1904 = false
  eachElement(zip.readSmall(wb), (name, a) => {
    if (name === 'workbookPr') {
      const v = a.date1904
      date1904 = v === '1' || v === 'true'
    } else if (name === 'sheet') {
      const rel = rels.get(attr(a, 'id') ?? '')
      if (rel && rel.type.endsWith('/worksheet')) sheets.push({ name: a.name ?? `Sheet${sheets.length + 1}`, part: rel.target, hidden: a.state === 'hidden' || a.state === 'veryHidden' })
    }
  })
  let sharedStringsPart: string | null = null
  let stylesPart: string | null = null
  for (const r of rels.values()) {
    if (r.type.endsWith('/sharedStrings')) sharedStringsPart = r.target
    else if (r.type.endsWith('/styles')) stylesPart = r.target
  }
  const dateStyles: boolean[] = []
  const stylesEntry = stylesPart ? zip.entry(stylesPart) : undefined
  if (stylesEntry) {
    const custom = new Map<number, string>()
    let inCellXfs = false
    eachElement(
      zip.readSmall(stylesEntry),
      (name, a) => {
        if (name === 'numFmt') custom.set(Number(a.numFmtId), a.formatCode ?? '')
        else if (name === 'cellXfs') inCellXfs = true
        else if (name === 'xf' && inCellXfs) {
          const id = Number(a.numFmtId ?? 0)
          const code = custom.get(id)
          dateStyles.push(code !== undefined ? isDateFormatCode(code) : BUILTIN_DATE_FORMATS.has(id))
        }
      },
      (name) => {
        if (name === 'cellXfs') inCellXfs = false
      }
    )
  }
  return { sheets, date1904, sharedStringsPart: sharedStringsPart && zip.entry(sharedStringsPart) ? sharedStringsPart : null, dateStyles }
}

function pickSheet(info: WorkbookInfo, sheet: string | number | undefined): { name: string; part: string } {
  const names = info.sheets.map((s) => `"${s.name}"`).join(', ')
  if (info.sheets.length === 0) throw new WorkbookError('holds no sheet of cells')
  if (sheet === undefined) return info.sheets[0] as { name: string; part: string }
  if (typeof sheet === 'number') {
    const s = info.sheets[sheet - 1]
    if (!s) throw new WorkbookError(`has ${info.sheets.length} sheet${info.sheets.length === 1 ? '' : 's'} (${names}), so there is no sheet ${sheet}`)
    return s
  }
  const s = info.sheets.find((x) => x.name === sheet) ?? info.sheets.find((x) => x.name.toLowerCase() === sheet.toLowerCase())
  if (!s) throw new WorkbookError(`has no sheet named "${sheet}"; its sheets are ${names}`)
  return s
}

// ---------------------------------------------------------------------------------------------
// Shared strings

/** Collects the shared strings table: each <si>'s text, rich text runs joined, phonetic hints left out. */
class SharedStringsCollector {
  readonly strings: string[] = []
  private inT = false
  private inPhonetic = 0
  private current = ''
  readonly parser = new XmlTokenizer({
    open: (tag, _attrs, selfClosing) => {
      const name = localName(tag)
      if (name === 'si') {
        this.current = ''
        if (selfClosing) this.strings.push('')
      } else if (name === 't') this.inT = !selfClosing
      else if (name === 'rPh' && !selfClosing) this.inPhonetic++
    },
    close: (tag) => {
      const name = localName(tag)
      if (name === 'si') this.strings.push(this.current)
      else if (name === 't') this.inT = false
      else if (name === 'rPh') this.inPhonetic--
    },
    text: (s) => {
      if (this.inT && this.inPhonetic === 0) this.current += s
    }
  })
}

// ---------------------------------------------------------------------------------------------
// Sheets

/** A cell that refers to the shared strings table, resolved once the table is read. */
class SharedRef {
  constructor(readonly index: number) {}
}

/** An Excel date serial as ISO text. Excel's dates have no time zone; neither has the text. */
export function serialToIso(serial: number, date1904: boolean): string {
  if (serial >= 0 && serial < 1) {
    const secs = Math.round(serial * 86400) % 86400
    const hh = String(Math.floor(secs / 3600)).padStart(2, '0')
    const mm = String(Math.floor((secs % 3600) / 60)).padStart(2, '0')
    const ss = String(secs % 60).padStart(2, '0')
    return `${hh}:${mm}:${ss}`
  }
  // Day 25569 is 1970-01-01. In the 1900 system Excel counts a 29 February 1900 that never was,
  // so serials before it (1 = 1900-01-01) are one day later than the arithmetic says.
  let secs = Math.round((serial + (date1904 ? 1462 : 0) - 25569) * 86400)
  if (!date1904 && serial < 60) secs += 86400
  const days = Math.floor(secs / 86400)
  const tod = secs - days * 86400
  const date = civilDate(days)
  if (tod === 0) return date
  return `${date}T${pad2(Math.floor(tod / 3600))}:${pad2(Math.floor((tod % 3600) / 60))}:${pad2(tod % 60)}`
}

function pad2(n: number): string {
  return n < 10 ? `0${n}` : String(n)
}

/** YYYY-MM-DD of a day counted from 1970-01-01 (proleptic Gregorian; H. Hinnant's civil_from_days). */
function civilDate(z: number): string {
  z += 719468
  const era = Math.floor(z / 146097)
  const doe = z - era * 146097
  const yoe = Math.floor((doe - Math.floor(doe / 1460) + Math.floor(doe / 36524) - Math.floor(doe / 146096)) / 365)
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100))
  const mp = Math.floor((5 * doy + 2) / 153)
  const d = doy - Math.floor((153 * mp + 2) / 5) + 1
  const m = mp < 10 ? mp + 3 : mp - 9
  const y = yoe + era * 400 + (m <= 2 ? 1 : 0)
  const yyyy = y >= 0 && y <= 9999 ? String(y).padStart(4, '0') : String(y)
  return `${yyyy}-${pad2(m)}-${pad2(d)}`
}

/** Column number (0 for A) from a cell reference like "AB12"; -1 without letters. */
function columnOf(ref: string): number {
  let col = 0
  let i = 0
  for (; i < ref.length; i++) {
    const c = ref.charCodeAt(i)
    if (c >= 65 && c <= 90) col = col * 26 + (c - 64)
    else if (c >= 97 && c <= 122) col = col * 26 + (c - 96)
    else break
  }
  return i === 0 ? -1 : col - 1
}

export function columnLetter(col: number): string {
  let s = ''
  for (let n = col + 1; n > 0; n = Math.floor((n - 1) / 26)) s = String.fromCharCode(65 + ((n - 1) % 26)) + s
  return s
}

type RawValue = CellValue | SharedRef

/** Turns a sheet's XML, pushed in pieces, into rows. */
class SheetParser {
  readonly parser: XmlTokenizer
  private row: SheetRow | null = null
  private lastRow = 0
  private col = -1
  private cellType: string | undefined
  private cellStyle = 0
  private value = ''
  private inline = ''
  private hasValue = false
  /** Where text goes: 0 nowhere, 1 the cell's <v>, 2 an inline string's <t>. */
  private capture = 0
  private inInline = false
  private inPhonetic = 0

  constructor(
    info: WorkbookInfo,
    resolve: (index: number) => RawValue,
    onRow: (row: SheetRow) => void
  ) {
    const { dateStyles, date1904 } = info
    this.parser = new XmlTokenizer({
      open: (tag, attrs, selfClosing) => {
        switch (localName(tag)) {
          case 'row': {
            const r = Number(attrs().r)
            this.lastRow = Number.isInteger(r) && r > 0 ? r : this.lastRow + 1
            this.row = { number: this.lastRow, cells: [] }
            this.col = -1
            if (selfClosing) this.endRow(onRow)
            break
          }
          case 'c': {
            const a = attrs()
            const c = a.r ? columnOf(a.r) : -1
            this.col = c >= 0 ? c : this.col + 1
            this.cellType = a.t
            this.cellStyle = Number(a.s ?? 0)
            this.value = ''
            this.inline = ''
            this.hasValue = false
            if (selfClosing) this.endCell(dateStyles, date1904, resolve)
            break
          }
          case 'v':
            this.hasValue = true
            if (!selfClosing) this.capture = 1
            break
          case 'is':
            this.hasValue = true
            if (!selfClosing) this.inInline = true
            break
          case 't':
            if (this.inInline && !selfClosing) this.capture = 2
            break
          case 'rPh':
            if (!selfClosing) this.inPhonetic++
            break
        }
      },
      close: (tag) => {
        switch (localName(tag)) {
          case 'row':
            this.endRow(onRow)
            break
          case 'c':
            this.endCell(dateStyles, date1904, resolve)
            break
          case 'v':
          case 't':
            this.capture = 0
            break
          case 'is':
            this.inInline = false
            break
          case 'rPh':
            this.inPhonetic--
            break
        }
      },
      text: (s) => {
        if (this.capture === 1) this.value += s
        else if (this.capture === 2 && this.inPhonetic === 0) this.inline += s
      }
    })
  }

  private endRow(onRow: (row: SheetRow) => void): void {
    const row = this.row
    this.row = null
    if (row) onRow(row)
  }

  private endCell(dateStyles: boolean[], date1904: boolean, resolve: (index: number) => RawValue): void {
    if (!this.row || !this.hasValue || this.col < 0) return
    const v = this.value
    let out: RawValue | undefined
    switch (this.cellType) {
      case 's': {
        const i = Number(v)
        out = Number.isInteger(i) && i >= 0 ? resolve(i) : ''
        break
      }
      case 'inlineStr':
        out = this.inline
        break
      case 'str':
      case 'e':
      case 'd':
        out = v
        break
      case 'b':
        out = v.trim() === '1' || v.trim().toLowerCase() === 'true'
        break
      default: {
        if (v.trim() === '') break
        const n = Number(v)
        if (!Number.isFinite(n)) out = v
        else out = dateStyles[this.cellStyle] ? serialToIso(n, date1904) : n
      }
    }
    if (out !== undefined) (this.row.cells as RawValue[])[this.col] = out
  }
}

// ---------------------------------------------------------------------------------------------
// Reading

function openWorkbook(path: string): { zip: ZipFile; info: WorkbookInfo } {
  const fd = openSync(path, 'r')
  try {
    const zip = new ZipFile(fd, path)
    return { zip, info: workbookInfo(zip) }
  } catch (e) {
    closeSync(fd)
    throw asWorkbookError(e)
  }
}

/** Errors from reading a workbook: damage (bad zip data, bad XML) for the analyst; disk errors as they are. */
function asWorkbookError(e: unknown): Error {
  if (e instanceof WorkbookError) return e
  const code = (e as NodeJS.ErrnoException)?.code
  if (typeof code === 'string' && !code.startsWith('Z_')) return e as Error
  return new WorkbookError(`is damaged (${e instanceof Error ? e.message : String(e)})`)
}

export function isBlankRow(cells: readonly (CellValue | undefined)[]): boolean {
  for (const v of cells) if (v !== undefined && v !== '') return false
  return true
}

/** The sheets of a workbook (worksheets, in tab order). */
export function listSheets(path: string): string[] {
  const { zip, info } = openWorkbook(path)
  closeSync(zip.fd)
  return info.sheets.map((s) => s.name)
}

/**
 * The first rows of a sheet, read synchronously from the start of its data (for the header, a
 * check and a preview): until `nonBlank` rows that are not blank were found or the sheet ends.
 */
export function readFirstRows(
  path: string,
  sheet: string | number | undefined,
  nonBlank: number
): { sheets: string[]; sheet: string; rows: SheetRow[]; complete: boolean } {
  const { zip, info } = openWorkbook(path)
  try {
    const chosen = pickSheet(info, sheet)
    const entry = zip.entry(chosen.part)
    if (!entry) throw new WorkbookError(`is damaged (its sheet "${chosen.name}" is missing)`)
    let rows: SheetRow[] = []
    let complete = false
    for (let compressed = 64 * 1024; ; compressed *= 4) {
      const { text, complete: whole } = zip.readPrefix(entry, compressed)
      rows = []
      let found = 0
      const sp = new SheetParser(info, (i) => new SharedRef(i), (r) => {
        rows.push(r)
        if (!isBlankRow(r.cells)) found++
      })
      try {
        sp.parser.write(text)
        if (whole) sp.parser.close()
      } catch (e) {
        throw asWorkbookError(e)
      }
      complete = whole
      if (whole || found >= nonBlank || compressed >= 4 << 20) break
    }
    if (rows.length) {
      // Keep the rows up to the last one asked for.
      const kept: SheetRow[] = []
      let k = 0
      for (const r of rows) {
        if (k >= nonBlank) break
        kept.push(r)
        if (!isBlankRow(r.cells)) k++
      }
      rows = kept
    }
    // Shared strings: read as far as the highest index the rows use.
    let need = -1
    for (const r of rows) for (const v of r.cells as (RawValue | undefined)[]) if (v instanceof SharedRef && v.index > need) need = v.index
    let strings: string[] = []
    const ssEntry = info.sharedStringsPart ? zip.entry(info.sharedStringsPart) : undefined
    if (need >= 0 && ssEntry) {
      for (let compressed = 64 * 1024; ; compressed *= 4) {
        const { text, complete: whole } = zip.readPrefix(ssEntry, compressed)
        const c = new SharedStringsCollector()
        try {
          c.parser.write(text)
        } catch (e) {
          throw asWorkbookError(e)
        }
        strings = c.strings
        if (whole || strings.length > need) break
      }
    }
    for (const r of rows) {
      r.cells = (r.cells as (RawValue | undefined)[]).map((v) => (v instanceof SharedRef ? (strings[v.index] ?? '') : v))
    }
    return { sheets: info.sheets.map((s) => s.name), sheet: chosen.name, rows, complete }
  } finally {
    closeSync(zip.fd)
  }
}

export interface SheetReadHandlers {
  /** The sheet being read, once known. */
  onSheet?(name: string): void
  onRow(row: SheetRow): void
  /** Compressed bytes of the sheet read so far, for progress. */
  onBytes?(n: number): void
  shouldStop?(): boolean
}

/** Wraps an error thrown by a handler, so that it is not taken for damage in the workbook. */
class HandlerError extends Error {
  constructor(readonly inner: unknown) {
    super('handler failed')
  }
}

/**
 * Read one sheet, row by row, as it streams. Rows arrive in sheet order. A workbook that cannot
 * be read, or that breaks part-way, rejects with a WorkbookError; errors thrown by the handlers
 * reject unchanged.
 */
export async function readSheet(path: string, sheet: string | number | undefined, handlers: SheetReadHandlers): Promise<void> {
  const { zip, info } = openWorkbook(path)
  try {
    const chosen = pickSheet(info, sheet)
    handlers.onSheet?.(chosen.name)
    const entry = zip.entry(chosen.part)
    if (!entry) throw new WorkbookError(`is damaged (its sheet "${chosen.name}" is missing)`)
    let strings: string[] = []
    const ssEntry = info.sharedStringsPart ? zip.entry(info.sharedStringsPart) : undefined
    if (ssEntry) {
      const c = new SharedStringsCollector()
      await streamEntry(path, zip, ssEntry, (text) => c.parser.write(text), () => {}, () => false)
      c.parser.close()
      strings = c.strings
    }
    const sp = new SheetParser(
      info,
      (i) => strings[i] ?? '',
      (row) => {
        try {
          handlers.onRow(row)
        } catch (e) {
          throw new HandlerError(e)
        }
      }
    )
    const stopped = await streamEntry(path, zip, entry, (text) => sp.parser.write(text), (n) => handlers.onBytes?.(n), () => handlers.shouldStop?.() ?? false)
    if (!stopped) sp.parser.close()
  } catch (e) {
    if (e instanceof HandlerError) throw e.inner
    throw asWorkbookError(e)
  } finally {
    closeSync(zip.fd)
  }
}

/** Stream one entry's inflated text to `write`; resolves true when stopped early. */
async function streamEntry(
  path: string,
  zip: ZipFile,
  e: ZipEntry,
  write: (text: string) => void,
  onBytes: (n: number) => void,
  shouldStop: () => boolean
): Promise<boolean> {
  const start = zip.dataStart(e)
  if (e.compressedSize === 0) return false
  const src = createReadStream(path, { start, end: start + e.compressedSize - 1, highWaterMark: 64 * 1024 })
  src.on('data', (chunk) => onBytes(chunk.length))
  const inflate = e.method === 8 ? createInflateRaw({ chunkSize: 64 * 1024 }) : null
  let readError: Error | null = null
  src.on('error', (err) => {
    readError = err
    inflate?.destroy(err)
  })
  const stream = inflate ? src.pipe(inflate) : src
  const decoder = new StringDecoder('utf8')
  try {
    for await (const chunk of stream) {
      write(decoder.write(chunk as Buffer))
      if (shouldStop()) return true
    }
    const rest = decoder.end()
    if (rest) write(rest)
    return false
  } catch (err) {
    throw readError ?? err
  } finally {
    src.destroy()
    inflate?.destroy()
  }
}
