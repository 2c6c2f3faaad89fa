// The pure parts of zip input: which entries are read and in what order, which files are zips,
// output names, and the synchronous directory reader the planner and the preview use.
import { writeFileSync } from 'node:fs'
import { randomBytes } from 'node:crypto'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { withoutCompressionSuffix } from '../../src/shared/formats'
import { byName, entryRole, extensionList, isZipInput, noEntryMessage, readZipDirectory, zipEntryPrefix, ZipEntryError, ZipInputError } from '../../src/workers/formats/zip'
import { tempDir } from '../helpers/cli'
import { makeZip } from '../helpers/zip'

describe('entryRole', () => {
  it('reads files of the format by extension, any case, in subfolders', () => {
    for (const n of ['a.csv', 'A.CSV', 'b.tsv', 'c.txt', '2026/jan/orders.csv']) expect(entryRole(n, 'csv'), n).toBe('read')
    for (const n of ['a.csv', 'b.txt']) expect(entryRole(n, 'tsv'), n).toBe('read')
    for (const n of ['a.jsonl', 'b.ndjson', 'c.json']) expect(entryRole(n, 'jsonl'), n).toBe('read')
    expect(entryRole('c.json', 'json')).toBe('read')
    expect(entryRole('c.jsonl', 'json')).toBe('skip')
  })

  it('skips folders, hidden files and macOS resource forks, and files of other kinds', () => {
    for (const n of ['sub/', '__MACOSX/._a.csv', '__MACOSX/sub/a.csv', '.a.csv', 'sub/.hidden/a.csv', 'notes.md', 'a.csv.bak', 'csv', '']) {
      expect(entryRole(n, 'csv'), n).toBe('skip')
    }
  })

  it('reports archives inside the zip rather than skipping them silently', () => {
    expect(entryRole('inner.zip', 'csv')).toBe('nested')
    expect(entryRole('a.csv.gz', 'csv')).toBe('nested')
    expect(entryRole('a.jsonl.gz', 'csv')).toBe('skip')
    expect(entryRole('__MACOSX/inner.zip', 'csv')).toBe('skip')
  })

  it('orders entries by name, the same on every machine', () => {
    expect(byName([{ name: 'b.csv' }, { name: 'B.csv' }, { name: 'a/z.csv' }, { name: 'a.csv' }]).map((e) => e.name)).toEqual(['B.csv', 'a.csv', 'a/z.csv', 'b.csv'])
  })

  it('says what a zip with nothing to read holds', () => {
    expect(extensionList('csv')).toBe('.csv, .tsv or .txt')
    expect(extensionList('json')).toBe('.json')
    expect(noEntryMessage('p.zip', 'csv', ['img/', 'img/a.png', 'b.png'])).toBe('p.zip holds no .csv, .tsv or .txt file to read (it holds img/a.png, b.png)')
    expect(noEntryMessage('p.zip', 'jsonl', [])).toBe('p.zip holds no .jsonl, .ndjson or .json file to read (it holds no files)')
  })
})

describe('which files are zips', () => {
  const dir = tempDir()
  const zip = join(dir, 'export.dat')
  writeFileSync(zip, makeZip([{ name: 'a.csv', data: 'id\n1\n' }]))
  const text = join(dir, 'a.csv')
  writeFileSync(text, 'id\n1\n')

  it('auto: by the name .zip or the zip signature; never a workbook or a .gz name', () => {
    expect(isZipInput(undefined, 'csv', zip)).toBe(true)
    expect(isZipInput('auto', 'jsonl', zip)).toBe(true)
    expect(isZipInput('auto', 'csv', text)).toBe(false)
    expect(isZipInput('auto', 'csv', join(dir, 'missing.zip'))).toBe(true)
    expect(isZipInput('auto', 'csv', join(dir, 'missing.csv'))).toBe(false)
    expect(isZipInput('auto', 'xlsx', zip)).toBe(false)
    expect(isZipInput('auto', 'csv', join(dir, 'orders.csv.gz'))).toBe(false)
  })

  it('zip: every file; gzip and none: none', () => {
    expect(isZipInput('zip', 'csv', text)).toBe(true)
    expect(isZipInput('gzip', 'csv', zip)).toBe(false)
    expect(isZipInput('none', 'csv', zip)).toBe(false)
  })

  it('output names: a zip is named like a data file, a zip named after its data file loses .zip', () => {
    expect(withoutCompressionSuffix('orders.zip')).toBe('orders.zip')
    expect(withoutCompressionSuffix('orders.csv.zip')).toBe('orders.csv')
    expect(withoutCompressionSuffix('orders.csv.gz')).toBe('orders.csv')
    expect(withoutCompressionSuffix('orders.v2.zip')).toBe('orders.v2.zip')
  })
})

describe('readZipDirectory and zipEntryPrefix', () => {
  const dir = tempDir()

  it('lists entries with sizes, and reads the start of a stored or deflated entry', () => {
    const file = join(dir, 'ok.zip')
    // Hex text compresses to about half: the prefix needs more than one read of the deflated data.
    const big = 'id,v\n' + randomBytes(400_000).toString('hex') + '\n'
    writeFileSync(file, makeZip([{ name: 'b.csv', data: big }, { name: 'a.csv', data: 'id\n1\n', method: 0 }, { name: 'sub/' }]))
    const items = readZipDirectory(file)
    expect(items.map((i) => [i.name, i.size, i.method])).toEqual([
      ['b.csv', big.length, 8],
      ['a.csv', 5, 0],
      ['sub/', 0, 0]
    ])
    expect(zipEntryPrefix(file, items[1]!).bytes.toString()).toBe('id\n1\n')
    const p = zipEntryPrefix(file, items[0]!, 1000)
    expect(p.complete).toBe(false)
    expect(p.bytes.length).toBeGreaterThanOrEqual(1000)
    expect(p.bytes.toString()).toBe(big.slice(0, p.bytes.length))
  })

  it('refuses files that are not zips or are cut short, and entries it cannot read, in plain words', () => {
    const notZip = join(dir, 'n.zip')
    writeFileSync(notZip, 'id,amount\n1,2\n')
    expect(() => readZipDirectory(notZip)).toThrow(ZipInputError)
    expect(() => readZipDirectory(notZip)).toThrow(/is not a zip file, or it is cut short/)
    const whole = makeZip([{ name: 'a.csv', data: 'id\n'.repeat(1000) }])
    const cut = join(dir, 'cut.zip')
    writeFileSync(cut, whole.subarray(0, whole.length - 30))
    expect(() => readZipDirectory(cut)).toThrow(ZipInputError)
    const locked = join(dir, 'locked.zip')
    writeFileSync(locked, makeZip([{ name: 'a.csv', data: 'id\n1\n', flags: 1 }]))
    const [item] = readZipDirectory(locked)
    expect(() => zipEntryPrefix(locked, item!)).toThrow(ZipEntryError)
    expect(() => zipEntryPrefix(locked, item!)).toThrow(/is password-protected/)
  })
})
