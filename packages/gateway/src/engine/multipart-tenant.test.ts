import { Readable } from 'node:stream'
import { describe, expect, it } from 'vitest'
import { MultipartTenantStamper, multipartBoundary } from './multipart-tenant.js'

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
    expect(multipartBoundary('application/json')).toBeUndefined()
    expect(multipartBoundary('multipart/form-data')).toBeUndefined()
  })
})
