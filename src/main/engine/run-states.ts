// Run lifecycle: an explicit union and a pure table of allowed moves.

export const RUN_STATUSES = ['queued', 'running', 'paused', 'succeeded', 'partial', 'failed', 'cancelled', 'interrupted'] as const
export type RunStatus = (typeof RUN_STATUSES)[number]

const MOVES: Record<RunStatus, readonly RunStatus[]> = {
  queued: ['running', 'cancelled', 'interrupted', 'failed'],
  running: ['paused', 'succeeded', 'partial', 'failed', 'cancelled', 'interrupted'],
  paused: ['running', 'cancelled', 'interrupted', 'failed'],
  // Resuming an interrupted run: it runs again under a new owner.
  interrupted: ['running', 'cancelled', 'failed'],
  succeeded: [],
  partial: [],
  failed: [],
  cancelled: []
}

export function canMove(from: RunStatus, to: RunStatus): boolean {
  return MOVES[from].includes(to)
}

export function isTerminal(s: RunStatus): boolean {
  return MOVES[s].length === 0
}
