// Deterministic order data for tests (seeded), with quoted commas, doubled quotes and quoted
// newlines, plus the expected result computed independently of the engine.
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

export const ORDER_HEADER = 'id,customer,country,amount,quantity,status,note'
const COUNTRIES = ['de', 'Fr', 'GB', 'us', 'nl']
const STATUSES = ['paid', 'shipped', 'cancelled', 'pending']

export interface OrderRow {
  id: number
  customer: string
  country: string
  amount: string
  quantity: string
  status: string
  note: string
}

function csvCell(s: string): string {
  return /[",\n\r]/.test(s) ? '"' + s.replaceAll('"', '""') + '"' : s
}

/** Rows with ids drawn from a range smaller than the row count, so ids repeat (dedupe has work). */
export function orderRows(n: number, seed: number, idRange = Math.ceil(n * 0.8)): OrderRow[] {
  const rnd = mulberry32(seed)
  const rows: OrderRow[] = []
  for (let i = 0; i < n; i++) {
    const r = rnd()
    const note = r < 0.05 ? `line one\nline two ${i}` : r < 0.1 ? `says "hi", twice` : r < 0.15 ? '' : `note ${i}`
    rows.push({
      id: 1 + Math.floor(rnd() * idRange),
      customer: rnd() < 0.2 ? `Smith, J${i}` : `Customer ${i}`,
      country: COUNTRIES[Math.floor(rnd() * COUNTRIES.length)] as string,
      amount: (Math.floor(rnd() * 100000) / 100).toFixed(2),
      quantity: String(1 + Math.floor(rnd() * 20)),
      status: STATUSES[Math.floor(rnd() * STATUSES.length)] as string,
      note
    })
  }
  return rows
}

export function ordersCsv(rows: OrderRow[], eol = '\n'): string {
  return (
    ORDER_HEADER +
    eol +
    rows.map((r) => [String(r.id), r.customer, r.country, r.amount, r.quantity, r.status, r.note].map(csvCell).join(',')).join(eol) +
    eol
  )
}

/** The steps of the documented example job (README, resources/examples/orders-clean/job.json). */
export function exampleSteps(): unknown[] {
  return [
    { validate: { id: { type: 'integer', required: true }, amount: { type: 'number', min: 0 }, quantity: { type: 'integer' } } },
    { filter: "status != 'cancelled'" },
    { derive: { total: 'round(amount * quantity, 2)', country: 'upper(country)' } },
    { dedupe: ['id'] }
  ]
}

/** Orders with broken rows (a short row, a quote never closed, a bad number). */
export function brokenOrders(n: number, seed: number): string {
  return ordersCsv(orderRows(n, seed)) + '77,short row\n"never closed,x,1,2,paid,\n88,Ok,de,1.00,x,paid,n\n'
}

/** The example job over the CSV files of "in" matching `include`, JSON lines into "out". */
export const csvJob = (include: string[], output: Record<string, unknown> = {}, policy: Record<string, unknown> = {}) => ({
  name: 'orders',
  kind: 'records',
  input: { folder: 'in', include, format: 'csv' },
  steps: exampleSteps(),
  output: { folder: 'out', format: 'jsonl', ...output },
  policy: { concurrency: 2, ...policy }
})
