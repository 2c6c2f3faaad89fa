// Charts load on demand: recharts is most of the bundle, and the screens' text and tables should
// paint without waiting for it. The placeholder keeps the layout still while it loads.
import { lazy, Suspense } from 'react'
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

export function RateChart(props: Parameters<typeof RateChartType>[0]): React.JSX.Element {
  return (
    <Suspense fallback={<figure className="chart-card chart-loading" aria-hidden="true" />}>
      <RateChartLazy {...props} />
    </Suspense>
  )
}
