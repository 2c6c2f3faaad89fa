import { describe, expect, it } from 'vitest'
import { OutputBusyError, renameWithRetry } from '../../src/main/engine/runner'

function failing(codes: string[]): { rename: (a: string, b: string) => void; calls: number } {
  const state = { calls: 0, rename: (_a: string, _b: string): void => {} }
  state.rename = () => {
    const code = codes[state.calls++]
    if (code) throw Object.assign(new Error(code), { code })
  }
  return state
}

describe('renaming an output into place', () => {
  it('retries while another program briefly holds the file (EBUSY, EPERM, EACCES)', () => {
    const r = failing(['EBUSY', 'EPERM', 'EACCES'])
    renameWithRetry('a', 'b', r.rename)
    expect(r.calls).toBe(4)
  })

  it('gives up with a plain, resumable reason when the file stays locked', () => {
    const r = failing(Array(20).fill('EBUSY'))
    expect(() => renameWithRetry('a', '/out/report.csv', r.rename)).toThrow(OutputBusyError)
    expect(() => renameWithRetry('a', '/out/report.csv', failing(Array(20).fill('EPERM')).rename)).toThrow(/report\.csv is held open by another program .*resume the run/)
  }, 30_000)

  it('does not retry other errors', () => {
    const r = failing(['ENOENT'])
    expect(() => renameWithRetry('a', 'b', r.rename)).toThrow('ENOENT')
    expect(r.calls).toBe(1)
  })
})
