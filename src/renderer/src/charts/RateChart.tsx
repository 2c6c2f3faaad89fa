import { memo, startTransition, useEffect, useState } from 'react'
import { CartesianGrid, Line, LineChart, Tooltip, XAxis, YAxis } from 'recharts'
import { formatDecimal, formatRate } from '../components/format'

export interface RateSeriesPoint {
  second: number
  value: number
}

const HEIGHT_PX = 170
const MARGIN = { top: 8, right: 12, bottom: 0, left: 0 }
const CHART_STYLE = { width: '100%', height: '100%' }
const TOOLTIP_STYLE = { background: 'var(--surface)', border: '1px solid var(--border)', color: 'var(--text)', fontSize: 12 }

/** One rate over run time (records/s or MB/s), drawn without animation so live updates stay smooth. */
export function RateChart(props: {
  title: string
  unit: string
  points: RateSeriesPoint[]
  color?: string
  testId?: string
  /** Shown instead of the chart while there are fewer than two points. */
  emptyText?: string
  /**
   * Redraw the line this long after new points arrive. Two charts on one screen are given
   * different lags so that their redraws fall in different frames.
   */
  lagMs?: number
}): React.JSX.Element {
  const latest = props.points.length ? props.points[props.points.length - 1]?.value : undefined
  // The caption shows the newest rate at once. The line is redrawn afterwards, in a background
  // render that yields to the page between its parts: a chart redraw costs tens of milliseconds
  // on a CPU that the run keeps busy, and must not hold up a frame.
  const [points, setPoints] = useState(props.points)
  const { lagMs = 0 } = props
  useEffect(() => {
    if (points === props.points) return
    const t = setTimeout(() => startTransition(() => setPoints(props.points)), lagMs)
    return () => clearTimeout(t)
  }, [points, props.points, lagMs])
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
        <ChartBody points={points} title={props.title} unit={props.unit} color={props.color} />
      )}
    </figure>
  )
}

/** The chart itself; memoised so that only a new series (not a new caption) redraws it. */
const ChartBody = memo(function ChartBody(props: { points: RateSeriesPoint[]; title: string; unit: string; color?: string }): React.JSX.Element {
  const { points } = props
  const latest = points[points.length - 1]?.value
  return (
    <div style={{ height: HEIGHT_PX }} role="img" aria-label={`${props.title} over time; latest ${latest === undefined ? 'none' : formatRate(latest)} ${props.unit}`}>
      <LineChart data={points} margin={MARGIN} responsive style={CHART_STYLE}>
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
          contentStyle={TOOLTIP_STYLE}
        />
        <Line type="monotone" dataKey="value" stroke={props.color ?? 'var(--accent)'} strokeWidth={2} dot={false} isAnimationActive={false} />
      </LineChart>
    </div>
  )
})
