import { CartesianGrid, Line, LineChart, ResponsiveContainer, Tooltip, XAxis, YAxis } from 'recharts'
import { formatDecimal, formatRate } from '../components/format'

export interface RateSeriesPoint {
  second: number
  value: number
}

const HEIGHT_PX = 170

/** One rate over run time (records/s or MB/s), drawn without animation so live updates stay smooth. */
export function RateChart(props: {
  title: string
  unit: string
  points: RateSeriesPoint[]
  color?: string
  testId?: string
  /** Shown instead of the chart while there are fewer than two points. */
  emptyText?: string
}): React.JSX.Element {
  const { points } = props
  const latest = points.length ? points[points.length - 1]?.value : undefined
  return (
    <figure className="chart-card" data-testid={props.testId}>
      <figcaption>
        <span>{props.title}</span>
        <strong>{latest === undefined ? '—' : `${formatRate(latest)} ${props.unit}`}</strong>
      </figcaption>
      {points.length < 2 ? (
        <div className="chart-empty muted" style={{ height: HEIGHT_PX }}>
          {props.emptyText ?? (points.length === 0 ? 'No measurements yet.' : 'Measuring…')}
        </div>
      ) : (
        <div style={{ height: HEIGHT_PX }} role="img" aria-label={`${props.title} over time; latest ${latest === undefined ? 'none' : formatRate(latest)} ${props.unit}`}>
          <ResponsiveContainer width="100%" height="100%">
            <LineChart data={points} margin={{ top: 8, right: 12, bottom: 0, left: 0 }}>
              <CartesianGrid stroke="var(--grid)" vertical={false} />
              <XAxis
                dataKey="second"
                type="number"
                domain={['dataMin', 'dataMax']}
                tickFormatter={(s: number) => `${formatDecimal(s)} s`}
                stroke="var(--text-muted)"
                fontSize={12}
                tickLine={false}
              />
              <YAxis stroke="var(--text-muted)" fontSize={12} width={56} tickLine={false} tickFormatter={(v: number) => formatRate(v)} />
              <Tooltip
                isAnimationActive={false}
                formatter={(v) => [`${formatRate(Number(v))} ${props.unit}`, props.title]}
                labelFormatter={(s) => `${formatDecimal(Number(s))} s into the run`}
                contentStyle={{ background: 'var(--surface)', border: '1px solid var(--border)', color: 'var(--text)', fontSize: 12 }}
              />
              <Line type="monotone" dataKey="value" stroke={props.color ?? 'var(--accent)'} strokeWidth={2} dot={false} isAnimationActive={false} />
            </LineChart>
          </ResponsiveContainer>
        </div>
      )}
    </figure>
  )
}
