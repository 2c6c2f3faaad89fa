// Charts load on demand: recharts is most of the bundle, and the screens' text and tables should
// paint without waiting for it. The placeholder keeps the layout still while it loads.
import { lazy, memo, Suspense } from 'react'
import type { DurationBars as DurationBarsType } from './DurationBars'
import type { RateChart as RateChartType } from './RateChart'

const DurationBarsLazy = lazy(() => import('./DurationBars').then((m) => ({ default: m.DurationBars })))
const RateChartLazy = lazy(() => import('./RateChart').then((m) => ({ default: m.RateChart })))

export function DurationBars(props: Parameters<typeof DurationBarsType>[0]): React.JSX.Element {
  return (
    <Suspense fallback={<div className="duration-bars" aria-hidden="true" />}>
      <DurationBarsLazy {...props} />
    </Suspense>
  )
}

/** Memoised: a live screen re-renders on every progress event, the chart only when its points change. */
export const RateChart = memo(function RateChart(props: Parameters<typeof RateChartType>[0]): React.JSX.Element {
  return (
    <Suspense fallback={<figure className="chart-card chart-loading" aria-hidden="true" />}>
      <RateChartLazy {...props} />
    </Suspense>
  )
})
