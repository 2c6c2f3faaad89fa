// A small streaming XML tokenizer for the parts of an xlsx workbook: element starts and ends,
// attributes, and text with its entities decoded. It is several times faster than a general
// XML parser on sheet data (hundreds of thousands of <row> and <c> elements), because it only
// cuts the text at "<" with indexOf and reads attributes when asked. It checks what reading a
// workbook needs (tags close, the text ends outside a tag), not that the XML is fully valid.
// Text pushed in pieces may be cut anywhere: what is incomplete is kept for the next piece.

export interface XmlHandler {
  /** An element starts; `attrs` reads its attributes (on demand); `selfClosing` for <x/> (no close call follows). */
  open(name: string, attrs: () => Record<string, string>, selfClosing: boolean): void
  close(name: string): void
  /** Character data between tags, entities decoded (CDATA as it is). */
  text(text: string): void
}

export class XmlError extends Error {}

const ENTITIES: Record<string, string> = { lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" }

/** Text with its entities (&amp; &#10; &#x41;) replaced. */
export function decodeEntities(s: string): string {
  if (s.indexOf('&') === -1) return s
  return s.replace(/&(#x[0-9a-fA-F]+|#[0-9]+|[a-zA-Z]+);/g, (m, e: string) => {
    if (e.charCodeAt(0) === 35) {
      const code = e.charCodeAt(1) === 120 || e.charCodeAt(1) === 88 ? parseInt(e.slice(2), 16) : parseInt(e.slice(1), 10)
      return Number.isFinite(code) && code >= 0 && code <= 0x10ffff ? String.fromCodePoint(code) : m
    }
    return ENTITIES[e] ?? m
  })
}

/** The local part of a name: "x:row" is "row". */
export function localName(name: string): string {
  const i = name.indexOf(':')
  return i === -1 ? name : name.slice(i + 1)
}

/** The attributes in s[from, to): name="value" or name='value', separated by white space. */
function parseAttributes(s: string, from: number, to: number): Record<string, string> {
  const out: Record<string, string> = Object.create(null)
  let i = from
  while (i < to) {
    let c = s.charCodeAt(i)
    if (c <= 32) {
      i++
      continue
    }
    const nameStart = i
    while (i < to && (c = s.charCodeAt(i)) > 32 && c !== 61) i++
    const name = s.slice(nameStart, i)
    while (i < to && s.charCodeAt(i) <= 32) i++
    if (s.charCodeAt(i) !== 61) continue // a name without a value: not XML, skipped
    i++
    while (i < to && s.charCodeAt(i) <= 32) i++
    const quote = s.charCodeAt(i)
    if (quote !== 34 && quote !== 39) continue
    const end = s.indexOf(quote === 34 ? '"' : "'", i + 1)
    if (end === -1 || end > to) break
    out[name] = decodeEntities(s.slice(i + 1, end))
    i = end + 1
  }
  return out
}

/** Where the ">" that ends a tag starting at `from` is, outside quoted attribute values; -1 if not in `s`. */
function tagEnd(s: string, from: number): number {
  let i = from
  for (;;) {
    const gt = s.indexOf('>', i)
    if (gt === -1) return -1
    // Most tags have no quote before their ">", or their quotes are balanced: check the span.
    let quote = 0
    let k = i
    for (; k < gt; k++) {
      const c = s.charCodeAt(k)
      if (quote === 0) {
        if (c === 34 || c === 39) quote = c
      } else if (c === quote) quote = 0
    }
    if (quote === 0) return gt
    // The ">" is inside a quoted value: go on after the value closes.
    const close = s.indexOf(String.fromCharCode(quote), gt + 1)
    if (close === -1) return -1
    i = close + 1
  }
}

export class XmlTokenizer {
  private rest = ''
  private depth = 0

  constructor(private readonly handler: XmlHandler) {}

  write(chunk: string): void {
    const s = this.rest ? this.rest + chunk : chunk
    const h = this.handler
    const n = s.length
    let pos = 0
    while (pos < n) {
      const lt = s.indexOf('<', pos)
      if (lt === -1) break // text that may go on in the next piece (an entity may be cut)
      if (lt > pos) {
        if (this.depth > 0) h.text(decodeEntities(s.slice(pos, lt)))
        pos = lt
      }
      const next = s.charCodeAt(lt + 1)
      if (Number.isNaN(next)) break
      if (next === 33) {
        // <!-- comment -->, <![CDATA[ text ]]>, <!DOCTYPE ...>
        if (s.startsWith('<!--', lt)) {
          const end = s.indexOf('-->', lt + 4)
          if (end === -1) break
          pos = end + 3
        } else if (s.startsWith('<![CDATA[', lt)) {
          const end = s.indexOf(']]>', lt + 9)
          if (end === -1) break
          if (this.depth > 0) h.text(s.slice(lt + 9, end))
          pos = end + 3
        } else if (n - lt < 9 && '<![CDATA['.startsWith(s.slice(lt))) {
          break
        } else {
          const end = tagEnd(s, lt + 2)
          if (end === -1) break
          pos = end + 1
        }
        continue
      }
      if (next === 63) {
        // <?xml ... ?>
        const end = s.indexOf('?>', lt + 2)
        if (end === -1) break
        pos = end + 2
        continue
      }
      const gt = tagEnd(s, lt + 1)
      if (gt === -1) break
      if (next === 47) {
        let e = gt
        while (e > lt + 2 && s.charCodeAt(e - 1) <= 32) e--
        h.close(s.slice(lt + 2, e))
        this.depth--
      } else {
        const selfClosing = s.charCodeAt(gt - 1) === 47
        const bodyEnd = selfClosing ? gt - 1 : gt
        let e = lt + 1
        while (e < bodyEnd) {
          const c = s.charCodeAt(e)
          if (c <= 32 || c === 47) break
          e++
        }
        const name = s.slice(lt + 1, e)
        if (name === '') throw new XmlError(`a tag without a name: ${s.slice(lt, Math.min(gt + 1, lt + 40))}`)
        const attrStart = e
        h.open(name, () => parseAttributes(s, attrStart, bodyEnd), selfClosing)
        if (!selfClosing) this.depth++
      }
      pos = gt + 1
    }
    this.rest = pos < n ? s.slice(pos) : ''
  }

  /** The end of the text: nothing may be left inside a tag or an element. */
  close(): void {
    if (this.rest.trim() !== '' && this.rest.includes('<')) throw new XmlError(`the XML ends inside a tag: ${this.rest.slice(0, 40)}`)
    if (this.depth > 0) throw new XmlError('the XML ends before its elements are closed (is it cut short?)')
  }
}
