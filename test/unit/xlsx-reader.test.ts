import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { isDateFormatCode, readFirstRows, readSheet, serialToIso, WorkbookError, type SheetRow } from '../../src/workers/formats/xlsx-reader'
import { tempDir } from '../helpers/cli'
import { writeOrdersWorkbook } from '../helpers/xlsx'

describe('xlsx reader', () => {
  it('reads a sheet by name with typed cells, streaming and synchronously alike', async () => {
    const file = join(tempDir(), 'orders.xlsx')
    await writeOrdersWorkbook(file)
    const rows: SheetRow[] = []
    let sheet = ''
    await readSheet(file, 'Orders', { onSheet: (s) => (sheet = s), onRow: (r) => rows.push(r) })
    expect(sheet).toBe('Orders')
    const dense = rows.map((r) => [r.number, Array.from({ length: 6 }, (_, i) => r.cells[i] ?? '')])
    expect(dense[0]).toEqual([1, ['id', 'customer', 'amount', 'ordered', 'paid', 'note']])
    expect(dense[1]).toEqual([2, [1, 'Customer 1', 10.5, '2026-01-01', false, 'note 1']])
    expect(dense[2]).toEqual([3, [2, 'Customer 2', 20.5, '2026-01-02', true, '']])
    expect(dense[4]).toEqual([5, [4, 'Customer 4', 'n/a', '2026-01-04', true, 'note 4']])
    const special = dense.find((d) => d[0] === 9)
    expect(special).toEqual([9, [100, 'Rich Text', 2, '2026-02-03T09:30:00', true, 'merged note']])
    expect(dense.find((d) => d[0] === 10)).toEqual([10, [101, 'Merged below', 7, '', '', '']])
    const first = readFirstRows(file, 'orders', 3)
    expect(first.sheets).toEqual(['Notes', 'Orders', 'Returns'])
    expect(first.sheet).toBe('Orders')
    expect(first.rows.map((r) => r.cells)).toEqual(rows.slice(0, 3).map((r) => r.cells))
    expect(readFirstRows(file, 3, 5).rows.map((r) => r.cells)).toEqual([['id', 'reason'], [1, 'broken']])
    expect(() => readFirstRows(file, 'Orderz', 1)).toThrow(/no sheet named "Orderz"; its sheets are "Notes", "Orders", "Returns"/)
    expect(() => readFirstRows(file, 4, 1)).toThrow(/has 3 sheets/)
  })

  it('a workbook damaged part-way gives its rows up to the damage, then a WorkbookError', async () => {
    const file = join(tempDir(), 'orders.xlsx')
    await writeOrdersWorkbook(file, 3000)
    const bytes = readFileSync(file)
    // The Orders sheet's data: after its local header's name, well into its deflate stream.
    const at = bytes.indexOf('xl/worksheets/sheet2.xml') + 24 + 8000
    bytes.fill(0x55, at, at + 64)
    writeFileSync(file, bytes)
    const rows: number[] = []
    const err = await readSheet(file, 'Orders', { onRow: (r) => rows.push(r.number) }).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(WorkbookError)
    expect((err as Error).message).toMatch(/^is damaged/)
    expect(rows.length).toBeGreaterThan(10)
    expect(rows.length).toBeLessThan(3000)
    expect(rows.slice(0, 3)).toEqual([1, 2, 3])
  })

  it('refuses what is not a workbook with the reason', () => {
    const dir = tempDir()
    writeFileSync(join(dir, 'a.xlsx'), 'id,name\n1,x\n')
    expect(() => readFirstRows(join(dir, 'a.xlsx'), undefined, 1)).toThrow(/^is not an Excel .xlsx workbook/)
    writeFileSync(join(dir, 'b.xlsx'), Buffer.concat([Buffer.from([0xd0, 0xcf, 0x11, 0xe0, 0xa1, 0xb1, 0x1a, 0xe1]), Buffer.alloc(600)]))
    expect(() => readFirstRows(join(dir, 'b.xlsx'), undefined, 1)).toThrow(/old Excel 97-2003 workbook \(.xls\) or a password-protected one/)
  })

  it('knows date formats and turns serials into ISO text', () => {
    expect(isDateFormatCode('yyyy-mm-dd')).toBe(true)
    expect(isDateFormatCode('[$-409]d-mmm-yy;@')).toBe(true)
    expect(isDateFormatCode('[h]:mm:ss')).toBe(true)
    expect(isDateFormatCode('#,##0.00 "days"')).toBe(false)
    expect(isDateFormatCode('0.00E+00')).toBe(false)
    expect(isDateFormatCode('General')).toBe(false)
    expect(isDateFormatCode('[Red]0.00')).toBe(false)
    expect(serialToIso(46023, false)).toBe('2026-01-01')
    expect(serialToIso(46023.5, false)).toBe('2026-01-01T12:00:00')
    expect(serialToIso(0.75, false)).toBe('18:00:00')
    expect(serialToIso(1, false)).toBe('1900-01-01')
    expect(serialToIso(61, false)).toBe('1900-03-01')
    expect(serialToIso(0 + 1, true)).toBe('1904-01-02')
  })
})

describe('dates', () => {
  it('agree with Date for every day from 1900 to 2200 and for times of day', () => {
    for (let serial = 61; serial < 110_000; serial += 17) {
      const ms = Math.round((serial - 25569) * 86400) * 1000
      expect(serialToIso(serial, false)).toBe(new Date(ms).toISOString().slice(0, 10))
      const withTime = serial + 0.3752
      const ms2 = Math.round((withTime - 25569) * 86400) * 1000
      expect(serialToIso(withTime, false)).toBe(new Date(ms2).toISOString().slice(0, 19))
    }
  })
})
