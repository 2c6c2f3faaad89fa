import { Bar, BarChart, Tooltip, YAxis } from 'recharts'
import { formatDuration } from '../components/format'

const WIDTH_PX = 110
const HEIGHT_PX = 30
const SLOTS = 10

/** A job's recent run durations, oldest first, as a tiny bar chart. */
export function DurationBars(props: { durationsMs: number[] }): React.JSX.Element {
  const { durationsMs } = props
  if (durationsMs.length === 0) return <span className="muted">—</span>
  // Always the same number of slots, newest on the right, so one run draws one thin bar.
  const pad = Math.max(0, SLOTS - durationsMs.length)
  const data = [...Array.from({ length: pad }, (_, i) => ({ i, ms: null as number | null })), ...durationsMs.slice(-SLOTS).map((ms, i) => ({ i: pad + i, ms }))]
  const label = `Recent durations, oldest first: ${durationsMs.map((ms) => formatDuration(ms)).join(', ')}`
  return (
    <div className="duration-bars" role="img" aria-label={label} title={label}>
      <BarChart width={WIDTH_PX} height={HEIGHT_PX} data={data} margin={{ top: 2, right: 0, bottom: 0, left: 0 }} barCategoryGap={2}>
        <YAxis hide domain={[0, 'dataMax']} />
        <Tooltip
          cursor={false}
          isAnimationActive={false}
          wrapperStyle={{ zIndex: 10 }}
          formatter={(v) => (v === null || v === undefined ? ['', ''] : [formatDuration(Number(v)), 'Duration'])}
          labelFormatter={() => ''}
          contentStyle={{ background: 'var(--surface)', border: '1px solid var(--border)', color: 'var(--text)', fontSize: 12, padding: '2px 8px' }}
        />
        <Bar dataKey="ms" fill="var(--accent)" isAnimationActive={false} radius={[2, 2, 0, 0]} />
      </BarChart>
    </div>
  )
}
