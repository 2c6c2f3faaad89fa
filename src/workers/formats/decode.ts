import { StringDecoder } from 'node:string_decoder'
import iconv from 'iconv-lite'

export type Encoding = 'utf8' | 'latin1' | 'windows-1252'

/** An incremental decoder: a block may end inside a multi-byte character, which is carried over. */
export function decoderFor(encoding: Encoding): { write(b: Buffer): string; end(): string } {
  if (encoding === 'utf8') return new StringDecoder('utf8')
  if (encoding === 'latin1') return { write: (b) => b.toString('latin1'), end: () => '' }
  const d = iconv.getDecoder(encoding)
  return { write: (b) => d.write(b), end: () => d.end() ?? '' }
}
