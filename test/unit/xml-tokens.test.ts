import { describe, expect, it } from 'vitest'
import { decodeEntities, XmlTokenizer } from '../../src/workers/formats/xml-tokens'

function events(pieces: string[]): string[] {
  const out: string[] = []
  const t = new XmlTokenizer({
    open: (name, attrs, selfClosing) => out.push(`<${name} ${JSON.stringify(attrs())}${selfClosing ? '/' : ''}>`),
    close: (name) => out.push(`</${name}>`),
    text: (s) => {
      // text may arrive in pieces: join neighbours
      const last = out.length - 1
      if (last >= 0 && out[last]?.startsWith('T:')) out[last] += s
      else out.push('T:' + s)
    }
  })
  for (const p of pieces) t.write(p)
  t.close()
  return out
}

const XML = `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<!-- a comment with <tags> and > -->
<x:worksheet xmlns:x="urn:x" a='single "quoted"'><x:sheetData>
<row r="1" spans="1:3"><c r="A1" t="s"><v>0</v></c><c r="B1" t="inlineStr"><is><t xml:space="preserve"> a &amp; b &lt;c&gt; &#233;&#x41; </t></is></c><c r="C1" s="2"/></row>
<row r="2"><c r="A2" t="str"><f>IF(A1&gt;0,"x&gt;y","")</f><v><![CDATA[x > <y> & z]]></v></c><c r="B2" attr="has > inside"><v>1.5</v></c></row>
<row r="3" />
</x:sheetData></x:worksheet>
`

describe('XML tokenizer', () => {
  it('gives the same events however the text is cut', () => {
    const whole = events([XML])
    expect(whole).toContain('<c {"r":"C1","s":"2"}/>')
    expect(whole).toContain('T: a & b <c> éA ')
    expect(whole).toContain('T:x > <y> & z')
    expect(whole).toContain('T:IF(A1>0,"x>y","")')
    expect(whole).toContain('<c {"r":"B2","attr":"has > inside"}>')
    expect(whole).toContain('<row {"r":"3"}/>')
    expect(whole.filter((e) => e.startsWith('<x:worksheet'))).toEqual(['<x:worksheet {"xmlns:x":"urn:x","a":"single \\"quoted\\""}>'])
    for (let cut = 1; cut < XML.length; cut++) {
      expect(events([XML.slice(0, cut), XML.slice(cut)]), `cut at ${cut}`).toEqual(whole)
    }
    const pieces: string[] = []
    for (let i = 0; i < XML.length; i += 3) pieces.push(XML.slice(i, i + 3))
    expect(events(pieces)).toEqual(whole)
  })

  it('says when the text ends inside a tag or an element', () => {
    expect(() => events(['<a><b></b>'])).toThrow(/before its elements are closed/)
    expect(() => events(['<a><b x="1"'])).toThrow(/ends inside a tag/)
  })

  it('decodes entities', () => {
    expect(decodeEntities('&lt;&gt;&amp;&quot;&apos;&#10;&#x1F600;&unknown;&')).toBe('<>&"\'\n😀&unknown;&')
  })
})
