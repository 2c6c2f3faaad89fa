// The dedupe keys of a run: the same answers as a plain set of keys, per route, whether the keys
// stay in memory or move to the scratch file past the bound.
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { DedupeIndex } from '../../src/main/engine/dedupe-index'
import { tempDir } from '../helpers/cli'
import { mulberry32 } from '../helpers/orders'

describe('dedupe keys', () => {
  it('answers as a plain set would, per route, before and after the keys move to disk', () => {
    const rnd = mulberry32(3)
    const file = join(tempDir(), 'keys.db')
    const index = new DedupeIndex(file, 500)
    const reference = new Map<string, Set<string>>()
    let spilledAt = -1
    for (let i = 0; i < 20_000; i++) {
      const route = ['', 'DE', 'de'][Math.floor(rnd() * 3)] as string
      const key = JSON.stringify([String(Math.floor(rnd() * 4000))])
      const set = reference.get(route) ?? reference.set(route, new Set()).get(route)!
      const expected = !set.has(key)
      set.add(key)
      expect(index.isNew(route, key), `record ${i}`).toBe(expected)
      if (spilledAt === -1 && index.spilled) spilledAt = i
    }
    expect(spilledAt).toBeGreaterThan(400)
    expect(existsSync(file)).toBe(true)
    index.close()
    expect(existsSync(file)).toBe(false)
  })

  it('keeps everything in memory below the bound', () => {
    const file = join(tempDir(), 'keys.db')
    const index = new DedupeIndex(file, 100)
    for (let i = 0; i < 100; i++) expect(index.isNew('', String(i))).toBe(true)
    expect(index.isNew('', '5')).toBe(false)
    expect(index.spilled).toBe(false)
    expect(existsSync(file)).toBe(false)
    index.close()
  })
})
