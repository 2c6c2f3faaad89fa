import { StringDecoder } from 'node:string_decoder'
import iconv from 'iconv-lite'

export type Encoding = 'utf8' | 'latin1' | 'windows-1252' | 'utf16le' | 'utf16be'

/** An incremental decoder: a block may end inside a multi-byte character, which is carried over. */
export function decoderFor(encoding: Encoding): { write(b: Buffer): string; end(): string } {
  if (encoding === 'utf8') return new StringDecoder('utf8')
  if (encoding === 'latin1') return { write: (b) => b.toString('latin1'), end: () => '' }
  if (encoding === 'utf16le' || encoding === 'utf16be') {
    // Not iconv-lite or Buffer's 'utf16le': they pass a lone surrogate through as it is, which
    // comes out as a silent replacement in the UTF-8 output. TextDecoder turns it, and an odd byte
    // at the end, into U+FFFD, which fails the row as ENCODING_ERROR. It also drops the BOM.
    const d = new TextDecoder(encoding === 'utf16le' ? 'utf-16le' : 'utf-16be', { fatal: false })
    return { write: (b) => d.decode(b, { stream: true }), end: () => d.decode() }
  }
  const d = iconv.getDecoder(encoding)
  return { write: (b) => d.write(b), end: () => d.end() ?? '' }
}
