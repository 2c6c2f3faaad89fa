// The clock of a running run, the same for both kinds of job: once a second it renews the run's
// heartbeat and records that second's metrics (records or files done, bytes, busy workers, queue,
// peak memory); between commits it asks for a progress report so a live view moves smoothly.
import { errorText, type Logger } from './log'
import type { Store } from './store/store'

const TICK_MS = 1000
const PROGRESS_EVERY_MS = 200

export interface TickSample {
  /** Records (or files) done so far, and bytes read so far: the metrics are the differences. */
  records: number
  bytes: number
  busy: number
  queued: number
}

export class RunTicker {
  /** The highest resident memory seen, in bytes. */
  peakRss = process.memoryUsage.rss()
  private second = 0
  private last = { records: 0, bytes: 0 }
  private readonly tick: NodeJS.Timeout
  private readonly progress: NodeJS.Timeout | null

  constructor(o: { store: Store; runId: string; epoch: number; log: Logger; sample: () => TickSample; onProgress?: () => void }) {
    this.tick = setInterval(() => {
      this.peakRss = Math.max(this.peakRss, process.memoryUsage.rss())
      const s = o.sample()
      try {
        o.store.db.transaction(() => {
          o.store.heartbeat(o.runId, o.epoch)
          o.store.recordMetrics(o.runId, ++this.second, { records: s.records - this.last.records, bytes: s.bytes - this.last.bytes, busy: s.busy, queued: s.queued, rss: this.peakRss })
        })()
      } catch (e) {
        // A metrics second lost (a full disk, a busy database) must not stop the run.
        o.log.warn('could not record metrics', { error: errorText(e) })
      }
      this.last = { records: s.records, bytes: s.bytes }
    }, TICK_MS)
    this.tick.unref()
    this.progress = o.onProgress ? setInterval(o.onProgress, PROGRESS_EVERY_MS) : null
    this.progress?.unref()
  }

  stop(): void {
    clearInterval(this.tick)
    if (this.progress) clearInterval(this.progress)
  }
}
