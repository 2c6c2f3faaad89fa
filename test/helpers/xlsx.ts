// Workbooks for tests, built with exceljs in a temp folder (never binary fixtures in git).
import ExcelJS from 'exceljs'

/**
 * A workbook of orders with what real exports hold: two sheets before the one a job reads, dates
 * and date-times, numbers, booleans, a formula, rich text, an empty cell, a merged cell, a blank
 * row, and one bad row (amount "n/a") for a validate step to reject.
 */
export async function writeOrdersWorkbook(path: string, rows = 6): Promise<void> {
  const wb = new ExcelJS.Workbook()
  // Fixed, so two workbooks written from the same rows are the same file.
  wb.created = new Date(Date.UTC(2026, 0, 1))
  wb.modified = wb.created
  const notes = wb.addWorksheet('Notes')
  notes.addRow(['These are the January orders.'])
  const orders = wb.addWorksheet('Orders')
  orders.addRow(['id', 'customer', 'amount', 'ordered', 'paid', 'note'])
  for (let i = 1; i <= rows; i++) {
    const r = orders.addRow([i, `Customer ${i}`, i === 4 ? 'n/a' : i * 10 + 0.5, new Date(Date.UTC(2026, 0, i)), i % 2 === 0, i === 2 ? null : `note ${i}`])
    r.getCell(4).numFmt = 'yyyy-mm-dd'
  }
  // Row 1 + rows data rows, then a blank row, then rows that test cell kinds.
  const base = rows + 3
  orders.getCell(`A${base}`).value = 100
  orders.getCell(`B${base}`).value = { richText: [{ text: 'Rich ', font: { bold: true } }, { text: 'Text' }] }
  orders.getCell(`C${base}`).value = { formula: 'A2*2', result: 2 }
  orders.getCell(`D${base}`).value = new Date(Date.UTC(2026, 1, 3, 9, 30, 0))
  orders.getCell(`D${base}`).numFmt = 'yyyy-mm-dd hh:mm'
  orders.getCell(`E${base}`).value = { formula: 'TRUE()', result: true }
  orders.getCell(`F${base}`).value = 'merged note'
  orders.mergeCells(`F${base}:F${base + 1}`)
  orders.getCell(`A${base + 1}`).value = 101
  orders.getCell(`B${base + 1}`).value = 'Merged below'
  orders.getCell(`C${base + 1}`).value = 7
  const other = wb.addWorksheet('Returns')
  other.addRow(['id', 'reason'])
  other.addRow([1, 'broken'])
  await wb.xlsx.writeFile(path)
}

/** Read a workbook's sheet back as rows of values (exceljs, not Batchery's reader). */
export async function readWorkbookRows(path: string, sheet?: string): Promise<{ sheets: string[]; rows: unknown[][] }> {
  const wb = new ExcelJS.Workbook()
  await wb.xlsx.readFile(path)
  const ws = sheet ? wb.getWorksheet(sheet) : wb.worksheets[0]
  const rows: unknown[][] = []
  ws?.eachRow({ includeEmpty: false }, (row) => {
    const values = row.values as unknown[]
    rows.push(values.slice(1))
  })
  return { sheets: wb.worksheets.map((w) => w.name), rows }
}
