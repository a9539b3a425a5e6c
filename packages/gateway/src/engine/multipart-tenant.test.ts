import { Readable } from 'node:stream'
import { describe, expect, it } from 'vitest'
import {
  MultipartTenantStamper,
  TenantReferenceScanner,
  dispositionParameters,
  multipartBoundary,
  multipartContentType,
} from './multipart-tenant.js'

async function run(
  input: string,
  boundary: string,
  resolve: (values: readonly string[]) => string | undefined,
  chunkSize = input.length,
): Promise<string> {
  const bytes = Buffer.from(input, 'latin1')
  const chunks: Buffer[] = []
  for (let i = 0; i < bytes.length; i += chunkSize) chunks.push(bytes.subarray(i, i + chunkSize))
  const out: Buffer[] = []
  const stamper = Readable.from(chunks).pipe(new MultipartTenantStamper(boundary, resolve))
  for await (const c of stamper) out.push(c as Buffer)
  return Buffer.concat(out).toString('latin1')
}

const B = 'b0undary'
const form = (parts: [string, string][], preamble = '') =>
  preamble +
  parts
    .map(
      ([name, value]) =>
        `--${B}\r\nContent-Disposition: form-data; name="${name}"\r\n\r\n${value}\r\n`,
    )
    .join('') +
  `--${B}--\r\nepilogue`

/** Parses the output back into (name, value) pairs, strictly. */
function parse(body: string): [string, string][] {
  expect(body.startsWith(`--${B}\r\n`)).toBe(true)
  expect(body.endsWith(`\r\n--${B}--\r\n`)).toBe(true)
  const inner = body.slice(`--${B}\r\n`.length, -`\r\n--${B}--\r\n`.length)
  return inner.split(`\r\n--${B}\r\n`).map((part) => {
    const [head, value] = part.split('\r\n\r\n') as [string, string]
    return [/name="([^"]*)"/.exec(head)![1]!, value]
  })
}

describe('MultipartTenantStamper', () => {
  it('drops every tenant-id part (any case), passes the dropped values, appends exactly one', async () => {
    const input = form([
      ['deployment-name', 'd1'],
      ['Tenant-Id', 'evil'],
      ['x.bpmn', '<xml>--b0undar not quite</xml>'],
      ['tenant-id', 'tenantA'],
    ])
    let seen: readonly string[] = []
    for (const size of [1, 3, 7, 64, 100_000]) {
      const out = await run(
        input,
        B,
        (values) => {
          seen = values
          return 'tenantA'
        },
        size,
      )
      expect(parse(out)).toEqual([
        ['deployment-name', 'd1'],
        ['x.bpmn', '<xml>--b0undar not quite</xml>'],
        ['tenant-id', 'tenantA'],
      ])
      expect(seen).toEqual(['evil', 'tenantA'])
    }
  })

  it('adds the tenant when the client sent none, and drops a preamble and epilogue', async () => {
    const out = await run(form([['a', '1']], 'preamble text\r\n'), B, (values) => {
      expect(values).toEqual([])
      return 'tenantA'
    })
    expect(parse(out)).toEqual([
      ['a', '1'],
      ['tenant-id', 'tenantA'],
    ])
  })

  it('emits no tenant part when resolution answers undefined', async () => {
    const out = await run(
      form([
        ['tenant-id', 'x'],
        ['a', '1'],
      ]),
      B,
      () => undefined,
    )
    expect(parse(out)).toEqual([['a', '1']])
  })

  it('fails closed on truncated bodies, ambiguous parts and a throwing resolution', async () => {
    await expect(
      run(`--${B}\r\nContent-Disposition: form-data; name="a"\r\n\r\n1`, B, () => 't'),
    ).rejects.toMatchObject({
      code: 'C7AUTH_BODY_INVALID',
    })
    await expect(
      run(
        `--${B}\r\nContent-Disposition: form-data; name="a"\r\nContent-Disposition: form-data; name="tenant-id"\r\n\r\n1\r\n--${B}--\r\n`,
        B,
        () => 't',
      ),
    ).rejects.toMatchObject({ code: 'C7AUTH_BODY_INVALID' })
    await expect(
      run(form([['a', '1']]), B, () => {
        throw new Error('refused')
      }),
    ).rejects.toThrow('refused')
  })

  it('reads the boundary from the content type', () => {
    expect(multipartBoundary('multipart/form-data; boundary=abc')).toBe('abc')
    expect(multipartBoundary('Multipart/Form-Data; charset=x; boundary="a b"')).toBe('a b')
    expect(multipartBoundary('multipart/form-data;boundary=----WebKitFormBoundaryX1')).toBe(
      '----WebKitFormBoundaryX1',
    )
    expect(multipartBoundary('multipart/form-data; BOUNDARY="x:y/z?"')).toBe('x:y/z?')
    expect(multipartContentType('abc')).toBe('multipart/form-data; boundary=abc')
    expect(multipartContentType('a b')).toBe('multipart/form-data; boundary="a b"')
  })

  it('refuses every content type two parsers could read differently (400 C7AUTH_BODY_INVALID)', () => {
    const refused = [
      undefined,
      'application/json',
      'multipart/form-data',
      'multipart/mixed; boundary=abc',
      'multipart/form-data; boundary=AAA; boundary=BBB', // commons-fileupload: last one wins
      'multipart/form-data; boundary=AAA; Boundary="BBB"',
      'multipart/form-data; boundary=AAA, boundary=BBB', // `,` is a separator there too
      'multipart/form-data; boundary=AAA,BBB',
      'multipart/form-data, text/plain; boundary=AAA',
      'multipart/form-data; boundary=',
      'multipart/form-data; boundary=""',
      'multipart/form-data; boundary="abc',
      'multipart/form-data; boundary="a b "', // may not end with a space
      'multipart/form-data; boundary = abc',
      'multipart/form-data; boundary=a"b',
      'multipart/form-data; boundary=a\\b',
      `multipart/form-data; boundary=${'x'.repeat(71)}`,
      `multipart/form-data; boundary="${'x'.repeat(71)}"`,
      'multipart/form-data; boundary=ab{c}',
      'multipart/form-data; charset="x; boundary=BBB"; boundary=AAA',
      'multipart/form-data; junk; boundary=AAA',
    ]
    for (const ct of refused) {
      expect(() => multipartBoundary(ct), String(ct)).toThrow(
        expect.objectContaining({ code: 'C7AUTH_BODY_INVALID', status: 400 }),
      )
    }
    expect(multipartBoundary(`multipart/form-data; boundary=${'x'.repeat(70)}`)).toHaveLength(70)
  })
})

/** The boundary-confusion attack: one AAA part whose content is a complete BBB multipart body. */
function boundaryConfusionBody(bpmn: string): string {
  const inner =
    `--BBB\r\nContent-Disposition: form-data; name="tenant-id"\r\n\r\ntenantB\r\n` +
    `--BBB\r\nContent-Disposition: form-data; name="x.bpmn"; filename="x.bpmn"\r\n\r\n${bpmn}\r\n` +
    `--BBB--\r\n`
  return `--AAA\r\nContent-Disposition: form-data; name="data"\r\n\r\n${inner}\r\n--AAA--\r\n`
}

describe('boundary confusion (first vs last boundary parameter)', () => {
  it('refuses the attack content type, so the stamper never runs with a boundary the engine ignores', async () => {
    const ct = 'multipart/form-data; boundary=AAA; boundary=BBB'
    expect(() => multipartBoundary(ct)).toThrow(
      expect.objectContaining({ code: 'C7AUTH_BODY_INVALID' }),
    )
    // Why it matters: stamped with AAA the inner BBB body (tenantB) would pass untouched, and an
    // engine reading boundary=BBB would deploy into tenantB.
    const out = await run(boundaryConfusionBody('<definitions/>'), 'AAA', () => 'tenantA')
    expect(out).toContain('name="tenant-id"\r\n\r\ntenantB')
  })
})

const OWN = 'tenantA'
async function scan(text: string, chunkSize = text.length): Promise<(string | null)[]> {
  const s = new TenantReferenceScanner()
  const bytes = Buffer.from(text, 'latin1')
  if (bytes.length === 0) s.feed(bytes, true)
  for (let i = 0; i < bytes.length; i += chunkSize) {
    s.feed(bytes.subarray(i, i + chunkSize), i + chunkSize >= bytes.length)
  }
  return s.references
}

describe('TenantReferenceScanner (T13: cross-tenant references in deployed resources)', () => {
  const pad = 'x'.repeat(3000)
  const cases: [string, (string | null)[]][] = [
    ['<callActivity camunda:calledElementTenantId="tenantB" calledElement="p"/>', ['tenantB']],
    ["<bpmn:businessRuleTask camunda:decisionRefTenantId='${t}' />", ['${t}']],
    ['<caseTask c:caseTenantId = "tenantB" />', ['tenantB']],
    ['<x operaton:calledElementTenantId\n=\n"tenantA"/>', ['tenantA']],
    ['<x calledElementTenantId="tenantB"/>', ['tenantB']],
    ['<x foo:TenantId="a"/><y bar:someOtherTenantId="b"/>', ['a', 'b']],
    ['<x c:calledElementTenantId=tenantB/>', [null]],
    ['<x c:calledElementTenantId="ten\'antB"/>', [null]],
    ['<camunda:calledElementTenantId>tenantB</camunda:calledElementTenantId>', [null, null]],
    ['<!-- calledElementTenantId is documented here --><x tenantId="a" t="tenantid"/>', []],
    ['<script>execution.getTenantId()</script>', []],
  ]
  it('finds every attribute whose local name ends in TenantId, whatever the chunking', async () => {
    for (const [xml, expected] of cases) {
      for (const size of [1, 2, 5, 9, 64, 4096]) {
        expect(await scan(`${pad}${xml}${pad}`, size), `${xml} / ${size}`).toEqual(expected)
        expect(await scan(xml, size), `${xml} / ${size} unpadded`).toEqual(expected)
      }
    }
  })

  it('keeps only a small tail between chunks', () => {
    const s = new TenantReferenceScanner()
    const chunk = Buffer.alloc(64 * 1024, 0x20)
    for (let i = 0; i < 64; i++) s.feed(chunk, false)
    expect((s as unknown as { text: string }).text.length).toBeLessThan(200)
    s.feed(Buffer.from('TenantId="x"'), false) // waiting for look-ahead: still bounded
    s.feed(chunk, true)
    expect(s.references).toEqual(['x'])
  })

  it('refuses what would hide a name from a byte scan: entities, DTDs, non-ASCII-compatible encodings', async () => {
    const refused = [
      '<?xml version="1.0"?><!DOCTYPE d [<!ENTITY e "x">]><d>&e;</d>',
      '<!DOCTYPE definitions SYSTEM "http://evil.example/d.dtd"><definitions/>',
      '<?xml version="1.0" encoding="UTF-16"?><d/>',
      '<?xml version="1.0" encoding=\'IBM037\'?><d/>',
      Buffer.from('\ufeff<d c:calledElementTenantId="tenantB"/>', 'utf16le').toString('latin1'),
      Buffer.from(
        '<?xml version="1.0"?><d c:calledElementTenantId="tenantB"/>',
        'utf16le',
      ).toString('latin1'),
      Buffer.from('\ufeff<d c:calledElementTenantId="tenantB"/>', 'utf16le')
        .swap16()
        .toString('latin1'),
    ]
    for (const text of refused) {
      for (const size of [1, 7, 100_000]) {
        await expect(scan(text, size), text).rejects.toMatchObject({ code: 'C7AUTH_BODY_INVALID' })
      }
    }
    expect(await scan('<!DOCTYPE html>\n<html><form/></html>', 3)).toEqual([])
    expect(await scan('\ufeff<?xml version="1.0" encoding="utf-8"?><d/>')).toEqual([])
    expect(await scan('<?xml version="1.0" encoding="ISO-8859-1"?><d/>')).toEqual([])
  })
})

describe('MultipartTenantStamper with cross-tenant references', () => {
  const bpmn = (attr: string) =>
    `<definitions><process id="p"><callActivity id="c" calledElement="q" ${attr}/></process></definitions>`
  const deployment = (xml: string) =>
    form([
      ['deployment-name', 'd'],
      ['p.bpmn', xml],
      ['tenant-id', OWN],
    ])

  it('refuses a reference to another tenant with 403 before the closing delimiter is emitted', async () => {
    for (const attr of [
      'camunda:calledElementTenantId="tenantB"',
      'camunda:calledElementTenantId="${tenant}"',
      'camunda:calledElementTenantId=""',
      'xx:caseTenantId="tenantB"',
    ]) {
      for (const size of [1, 13, 100_000]) {
        const out: Buffer[] = []
        const stamper = new MultipartTenantStamper(B, () => OWN)
        stamper.on('data', (c: Buffer) => out.push(c))
        const bytes = Buffer.from(deployment(bpmn(attr)), 'latin1')
        const done = new Promise((resolve, reject) => {
          stamper.on('end', resolve)
          stamper.on('error', reject)
        })
        for (let i = 0; i < bytes.length; i += size) stamper.write(bytes.subarray(i, i + size))
        stamper.end()
        await expect(done, attr).rejects.toMatchObject({
          code: 'C7AUTH_TENANT_FORBIDDEN',
          status: 403,
        })
        expect(Buffer.concat(out).toString('latin1')).not.toContain(`--${B}--`)
      }
    }
  })

  it('lets a reference to the deployer’s own tenant (literally) through, bytes unchanged', async () => {
    const xml = bpmn('camunda:calledElementTenantId="tenantA"')
    const out = await run(deployment(xml), B, () => OWN, 5)
    expect(parse(out)).toEqual([
      ['deployment-name', 'd'],
      ['p.bpmn', xml],
      ['tenant-id', OWN],
    ])
  })

  it('does not scan the dropped tenant-id parts', async () => {
    const out = await run(form([['tenant-id', 'xTenantId="b"']]), B, () => OWN)
    expect(parse(out)).toEqual([['tenant-id', OWN]])
  })
})

describe('security review, second round', () => {
  const refusedAt = async (text: string, sizes: number[]) => {
    for (const size of sizes) {
      await expect(scan(text, size), `${text.slice(0, 60)} / ${size}`).rejects.toMatchObject({
        code: 'C7AUTH_BODY_INVALID',
      })
    }
  }

  it('reads the whole XML declaration: an encoding after 300 spaces still switches nothing', async () => {
    const utf16 = Buffer.from('<d c:calledElementTenantId="tenantB"/>', 'utf16le')
      .swap16()
      .toString('latin1')
    await refusedAt(
      `<?xml version="1.0"${' '.repeat(300)}encoding="UTF-16BE"?>${utf16}`,
      [1, 7, 256, 100_000],
    )
    await refusedAt(
      `\xef\xbb\xbf<?xml version="1.0"${' '.repeat(300)}encoding='IBM037'?><d/>`,
      [3, 4096],
    )
    // longer than 1 KB, unterminated, not XML 1.0 (1.1 turns NEL into whitespace), malformed
    await refusedAt(`<?xml version="1.0"${' '.repeat(1100)}?><d/>`, [1, 64, 100_000])
    await refusedAt(`<?xml version="1.0" encoding="UTF-8"`, [1, 100])
    await refusedAt(`<?xml version="1.0" encoding="UTF-8"${'x'.repeat(5000)}`, [512, 100_000])
    await refusedAt('<?xml version="1.1"?><d/>', [1, 100])
    await refusedAt('<?xml encoding="UTF-8" version="1.0"?><d/>', [100])
    for (const ok of [
      `<?xml version="1.0"${' '.repeat(300)}encoding="UTF-8"?><d c:xTenantId="tenantA"/>`,
      `<?xml version='1.0' encoding='ISO-8859-1' standalone='yes' ?><d/>`,
      '<?xml-stylesheet href="a"?><d/>',
      '<d/>',
      'x',
    ]) {
      for (const size of [1, 5, 100_000]) expect(await scan(ok, size), ok).not.toContain(null)
    }
  })

  it('treats more than 256 whitespace characters around `=` as a reference, across chunks', async () => {
    const padded = (before: number, after: number) =>
      `<x c:calledElementTenantId${' '.repeat(before)}=${'\n'.repeat(after)}"tenantB"/>`
    for (const size of [100, 1024, 64 * 1024, 1 << 20]) {
      expect(await scan(padded(300_000, 0), size), `before / ${size}`).toEqual([null])
      expect(await scan(padded(0, 300_000), size), `after / ${size}`).toEqual([null])
      expect(await scan(padded(257, 0), size)).toEqual([null])
      expect(await scan(padded(256, 256), size)).toEqual(['tenantB'])
    }
    expect(await scan(padded(200, 200), 1)).toEqual(['tenantB'])
    // only a bounded tail is held while whitespace streams in
    const s = new TenantReferenceScanner()
    s.feed(Buffer.from('<x c:calledElementTenantId'), false)
    for (let i = 0; i < 100; i++) s.feed(Buffer.alloc(1024, 0x20), false)
    expect((s as unknown as { text: string }).text.length).toBeLessThan(2048)
    s.feed(Buffer.from('="tenantB"/>'), true)
    expect(s.references).toEqual([null])
  })

  it('refuses a whitespace-padded cross-tenant reference in a multi-chunk deployment (403)', async () => {
    const xml = `<callActivity c:calledElementTenantId${' '.repeat(300_000)}="tenantB"/>`
    for (const size of [4096, 64 * 1024]) {
      await expect(
        run(form([['p.bpmn', xml]]), B, () => OWN, size),
        String(size),
      ).rejects.toMatchObject({ code: 'C7AUTH_TENANT_FORBIDDEN' })
    }
  })

  it('refuses nested multipart parts (commons-fileupload splits them into more files)', async () => {
    for (const type of [
      'multipart/mixed; boundary=IN',
      ' MULTIPART/Mixed;boundary="IN"',
      'multipart/x',
    ]) {
      const body =
        `--${B}\r\nContent-Disposition: form-data; name="files"\r\nContent-Type:${type}\r\n\r\n` +
        `--IN\r\nContent-Disposition: file; filename="x.bpmn"\r\n\r\n<d/>\r\n--IN--\r\n--${B}--\r\n`
      for (const size of [1, 100_000]) {
        await expect(
          run(body, B, () => OWN, size),
          type,
        ).rejects.toMatchObject({
          code: 'C7AUTH_BODY_INVALID',
        })
      }
    }
    const text = `--${B}\r\nContent-Disposition: form-data; name="a"\r\nContent-Type: text/multipart\r\n\r\n1\r\n--${B}--\r\n`
    expect(await run(text, B, () => OWN)).toContain('name="tenant-id"')
  })

  it('parses Content-Disposition like the engine and refuses what it could read differently', async () => {
    expect(
      dispositionParameters(' form-data; filename="a; name=tenant-id.bpmn" ; NAME = x '),
    ).toEqual(
      new Map([
        ['filename', 'a; name=tenant-id.bpmn'],
        ['name', 'x'],
      ]),
    )
    expect(dispositionParameters('Form-Data;name="a\\"b";x')).toEqual(
      new Map([
        ['name', 'a\\"b'],
        ['x', ''],
      ]),
    )
    for (const value of [
      'form-data; name="a"; name="tenant-id"',
      'form-data; name="a"; Name=b',
      'form-data; name="a"; filename="x"; FILENAME="y"',
      "form-data; name*=UTF-8''tenant-id",
      'form-data; name="=?UTF-8?B?dGVuYW50LWlk?="',
      'form-data; name="a',
      'form-data; name="a"b',
      'attachment; name="a"',
      'form-datax; name="a"',
    ]) {
      expect(() => dispositionParameters(value), value).toThrow(
        expect.objectContaining({ code: 'C7AUTH_BODY_INVALID', status: 400 }),
      )
    }
    const part = (disposition: string, value: string) =>
      `--${B}\r\nContent-Disposition: ${disposition}\r\n\r\n${value}\r\n`
    let seen: readonly string[] = []
    const out = await run(
      part('form-data; name=" tenant-id\t"', 'padded') +
        part('form-data; NAME="Tenant-ID"', 'upper') +
        part('form-data; filename="x; name=tenant-id"; name="file"', 'kept') +
        `--${B}--\r\n`,
      B,
      (values) => {
        seen = values
        return OWN
      },
    )
    expect(seen).toEqual(['padded', 'upper'])
    // the quoted `;` separates nothing: the part is "file", not "tenant-id"
    expect(out).toContain('filename="x; name=tenant-id"; name="file"\r\n\r\nkept\r\n')
    expect(parse(out).map(([, value]) => value)).toEqual(['kept', OWN])
    await expect(
      run(part('form-data; name="x"; name="tenant-id"', 'b') + `--${B}--\r\n`, B, () => OWN),
    ).rejects.toMatchObject({ code: 'C7AUTH_BODY_INVALID' })
  })
})
