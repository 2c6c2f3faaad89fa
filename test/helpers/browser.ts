// A real browser for UI tests: Debian's Chromium driven by playwright-core, headless, with the
// flags this machine needs (no background networking: the network is closed).
import { mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { chromium, type Browser, type Locator, type Page } from 'playwright-core'
import { ROOT } from './cli'

export const CHROMIUM = process.env.BATCHERY_CHROMIUM ?? '/usr/bin/chromium'
export const SCREENSHOTS = join(ROOT, 'test-results', 'screenshots')

export async function launch(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic']
  })
}

/** Save a screenshot as a test artifact (test-results/screenshots, not in git). */
export async function shot(page: Page, name: string): Promise<string> {
  mkdirSync(SCREENSHOTS, { recursive: true })
  const file = join(SCREENSHOTS, `${name}.png`)
  await page.screenshot({ path: file, fullPage: true })
  return file
}

/** Save a screenshot of one part of a page (a panel, a section) as a test artifact. */
export async function shotOf(locator: Locator, name: string): Promise<string> {
  mkdirSync(SCREENSHOTS, { recursive: true })
  const file = join(SCREENSHOTS, `${name}.png`)
  await locator.screenshot({ path: file })
  return file
}

/**
 * A page at the usual test size whose errors (uncaught exceptions, console errors) are collected
 * into `errors`, so a test can say the page logged none.
 */
export async function openPage(browser: Browser, errors: string[]): Promise<Page> {
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } })
  page.on('pageerror', (e) => errors.push(e.message))
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(m.text())
  })
  return page
}
