import { Transform } from 'node:stream'
import type { TransformCallback } from 'node:stream'
import { C7AuthError } from '@c7auth/core'

const CRLF = Buffer.from('\r\n')
const HEADER_END = Buffer.from('\r\n\r\n')
const MAX_HEADER_BYTES = 16 * 1024
const MAX_PREAMBLE_BYTES = 64 * 1024

function invalid(detail: string): C7AuthError {
  return new C7AuthError('C7AUTH_BODY_INVALID', { detail })
}

function badContentType(detail: string): C7AuthError {
  return new C7AuthError('C7AUTH_BODY_INVALID', {
    message: 'The Content-Type must be multipart/form-data with exactly one valid boundary.',
    detail,
  })
}

/** RFC 2046 `bcharsnospace` minus `,` (refused in the whole header), and a token-safe subset. */
const QUOTED_BOUNDARY = /^[0-9A-Za-z'()+_\-./:=? ]{0,69}[0-9A-Za-z'()+_\-./:=?]$/
const TOKEN_BOUNDARY = /^[0-9A-Za-z'+_\-.]{1,70}$/
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/

/**
 * The boundary of a `multipart/form-data` content type, parsed strictly, or a
 * `C7AUTH_BODY_INVALID` error. The engine (commons-fileupload) splits parameters on `;` and `,`
 * and takes the last `boundary`; any header on which two parsers could disagree is refused:
 * a `,` anywhere, a second `boundary`, another media type, a malformed parameter, a boundary
 * outside RFC 2046's charset or longer than 70. The caller must forward
 * {@link multipartContentType}`(boundary)`, never the client's string.
 */
export function multipartBoundary(contentType: string | undefined): string {
  if (
    contentType === undefined ||
    contentType.includes(',') ||
    /[\\]|[^\t -~]/.test(contentType) // backslash escapes, controls, non-ASCII
  )
    throw badContentType('missing, or a comma, backslash, control or non-ASCII character')
  const [type = '', ...params] = contentType.split(';')
  if (type.trim().toLowerCase() !== 'multipart/form-data') throw badContentType('media type')
  const boundaries: string[] = []
  for (const raw of params) {
    const param = raw.replace(/^[ \t]+|[ \t]+$/g, '')
    if (param === '') continue
    const eq = param.indexOf('=')
    const name = eq < 0 ? param : param.slice(0, eq)
    const value = eq < 0 ? '' : param.slice(eq + 1)
    if (eq <= 0 || !TOKEN.test(name)) throw badContentType('malformed parameter')
    if (name.toLowerCase() !== 'boundary') {
      if (!TOKEN.test(value)) throw badContentType('malformed parameter')
      continue
    }
    if (value.length >= 2 && value.startsWith('"') && value.endsWith('"')) {
      const inner = value.slice(1, -1)
      if (!QUOTED_BOUNDARY.test(inner)) throw badContentType('boundary charset or length')
      boundaries.push(inner)
    } else {
      if (!TOKEN_BOUNDARY.test(value)) throw badContentType('boundary charset or length')
      boundaries.push(value)
    }
  }
  if (boundaries.length !== 1) throw badContentType('not exactly one boundary')
  return boundaries[0] as string
}

/** The `Content-Type` the gateway sends upstream for a checked `boundary`. */
export function multipartContentType(boundary: string): string {
  return `multipart/form-data; boundary=${TOKEN_BOUNDARY.test(boundary) ? boundary : `"${boundary}"`}`
}

/** The form field name of a part's headers; throws for ambiguous parts (fail closed). */
function partName(rawHeaders: string): string | undefined {
  let name: string | undefined
  let dispositions = 0
  for (const line of rawHeaders.split('\r\n')) {
    if (line === '') continue
    if (/^[ \t]/.test(line)) throw invalid('folded multipart header')
    const colon = line.indexOf(':')
    if (colon <= 0) throw invalid('malformed multipart header')
    if (line.slice(0, colon).trim().toLowerCase() !== 'content-disposition') continue
    dispositions++
    const m = /(?:^|;)\s*name\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^;\s]+))/i.exec(line.slice(colon + 1))
    name = m ? (m[1] ?? m[2]) : undefined
  }
  if (dispositions > 1) throw invalid('multipart part with several Content-Disposition headers')
  return name
}

/** Tail kept after a `TenantId` mark (value and whitespace) and before it (element names). */
const LOOKAHEAD = 1024
const LOOKBEHIND = 128
const MARKS = /TenantId|<!DOCTYPE|<!ENTITY/g
const HTML_DOCTYPE = /^<!DOCTYPE\s+html\s*>/i
const ATTRIBUTE_VALUE = /\s*=\s*(?:"([^"'<]{0,256})"|'([^"'<]{0,256})')/y
const ASSIGNMENT = /\s*=/y
const ELEMENT_NAME = /<\/?[\w.:-]*$/
const XML_DECLARED_ENCODING = /^(?:\xef\xbb\xbf)?<\?xml[^>]*?\sencoding\s*=\s*["']([^"']*)["']/
const ASCII_COMPATIBLE =
  /^(?:utf-?8|us-ascii|ascii|iso-?8859-\d{1,2}|iso8859_\d{1,2}|latin-?1|windows-125\d|cp125\d)$/i
/** XML 1.0 Appendix F: first bytes of UTF-16/32 (with or without BOM) and EBCDIC documents. */
const FOREIGN_ENCODING_HEADS = [
  [0xfe, 0xff],
  [0xff, 0xfe],
  [0x00, 0x00, 0xfe, 0xff],
  [0x00, 0x3c, 0x00, 0x3f],
  [0x3c, 0x00, 0x3f, 0x00],
  [0x00, 0x00, 0x00, 0x3c],
  [0x3c, 0x00, 0x00, 0x00],
  [0x4c, 0x6f, 0xa7, 0x94],
]
const SNIFF_BYTES = 256

/**
 * Scans one streamed deployment resource for cross-tenant references (T13): every attribute (or
 * element) whose local name ends in `TenantId` — `camunda:calledElementTenantId`,
 * `decisionRefTenantId`, `caseTenantId`, any prefix — is recorded with its literal value (`null`
 * when it is not a plain quoted value). Also refuses what would hide such a name from a byte scan:
 * entity declarations, DTDs (except `<!DOCTYPE html>`), and resources in an encoding that is not
 * ASCII-compatible. Holds at most a small tail between chunks.
 */
export class TenantReferenceScanner {
  /** Literal values of `…TenantId` attributes; `null` for anything not a plain literal. */
  readonly references: (string | null)[] = []
  private text = ''
  private from = 0
  private head: Buffer | undefined = Buffer.alloc(0)

  /** Feeds the next bytes of the resource; `last` at its end. Throws `C7AUTH_BODY_INVALID`. */
  feed(bytes: Buffer, last: boolean): void {
    if (this.head !== undefined) {
      this.head = Buffer.concat([this.head, bytes.subarray(0, SNIFF_BYTES - this.head.length)])
      if (this.head.length >= SNIFF_BYTES || last) {
        sniffEncoding(this.head)
        this.head = undefined
      }
    }
    this.text += bytes.toString('latin1')
    let next = this.from
    let waiting: number | undefined
    MARKS.lastIndex = this.from
    for (let m = MARKS.exec(this.text); m !== null; m = MARKS.exec(this.text)) {
      const at = m.index
      const end = at + m[0].length
      if (m[0] === '<!ENTITY') throw invalid('deployment resource with an entity declaration')
      if (m[0] === '<!DOCTYPE') {
        if (!last && this.text.length - at < 32) {
          waiting = at
          break
        }
        if (!HTML_DOCTYPE.test(this.text.slice(at, at + 32))) {
          throw invalid('deployment resource with a DTD')
        }
        next = end
        continue
      }
      if (!last && this.text.length - end < LOOKAHEAD) {
        waiting = at
        break
      }
      next = end
      ATTRIBUTE_VALUE.lastIndex = end
      const value = ATTRIBUTE_VALUE.exec(this.text)
      if (value) {
        this.references.push(value[1] ?? value[2] ?? '')
        continue
      }
      ASSIGNMENT.lastIndex = end
      const before = this.text.slice(Math.max(0, at - LOOKBEHIND), at)
      if (ASSIGNMENT.test(this.text) || ELEMENT_NAME.test(before)) this.references.push(null)
    }
    if (last) {
      this.text = ''
      this.from = 0
      return
    }
    // a mark split across chunks is at most 8 characters long at the end
    const resume = waiting ?? Math.max(next, this.text.length - 8)
    const cut = Math.max(0, resume - LOOKBEHIND)
    this.text = this.text.slice(cut)
    this.from = resume - cut
  }
}

function sniffEncoding(head: Buffer): void {
  for (const sig of FOREIGN_ENCODING_HEADS) {
    if (head.length >= sig.length && sig.every((b, i) => head[i] === b)) {
      throw invalid('deployment resource in an encoding that is not ASCII-compatible')
    }
  }
  const declared = XML_DECLARED_ENCODING.exec(head.toString('latin1'))
  if (declared && !ASCII_COMPATIBLE.test(declared[1] ?? '')) {
    throw invalid('deployment resource in an encoding that is not ASCII-compatible')
  }
}

type State = 'preamble' | 'afterDelimiter' | 'headers' | 'content' | 'done'

/**
 * Streams a `multipart/form-data` body through, dropping every part named `tenant-id` (any case,
 * values collected) and appending exactly one `tenant-id` part with `resolveTenant(values)` at the
 * end (none when it returns undefined). Only a delimiter's length is held back; file contents are
 * never buffered. The boundary is kept, so the `Content-Type` stays valid; the length changes.
 * If `resolveTenant` throws, or a kept part references a tenant other than the resolved one
 * ({@link TenantReferenceScanner}: 403 `C7AUTH_TENANT_FORBIDDEN`), the stream fails before the
 * closing delimiter: the engine never receives a complete body.
 */
export class MultipartTenantStamper extends Transform {
  private buf: Buffer = CRLF // a virtual CRLF lets the first delimiter match like all others
  private state: State = 'preamble'
  private keep = true
  private emitted = false
  private dropped: Buffer[] = []
  private scanner: TenantReferenceScanner | undefined
  private readonly references: (string | null)[] = []
  private readonly values: string[] = []
  private readonly delimiter: Buffer
  private readonly boundary: string

  constructor(
    boundary: string,
    private readonly resolveTenant: (values: readonly string[]) => string | undefined,
  ) {
    super()
    this.boundary = boundary
    this.delimiter = Buffer.from(`\r\n--${boundary}`)
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    try {
      this.buf = this.buf.length === 0 ? chunk : Buffer.concat([this.buf, chunk])
      this.process()
      cb()
    } catch (err) {
      cb(err as Error)
    }
  }

  override _flush(cb: TransformCallback): void {
    if (this.state !== 'done') {
      cb(invalid('truncated multipart body'))
      return
    }
    let tenantId: string | undefined
    try {
      tenantId = this.resolveTenant(this.values)
    } catch (err) {
      cb(err as Error)
      return
    }
    const foreign = this.references.find((ref) => ref === null || ref !== tenantId)
    if (foreign !== undefined) {
      cb(
        new C7AuthError('C7AUTH_TENANT_FORBIDDEN', {
          message:
            'A deployment resource may not reference another tenant (an attribute ending in TenantId).',
          detail: 'cross-tenant reference in a deployment resource',
        }),
      )
      return
    }
    if (tenantId !== undefined) {
      if (/[\r\n]/.test(tenantId)) {
        cb(invalid('tenant id with a line break'))
        return
      }
      this.push(
        `${this.emitted ? '\r\n' : ''}--${this.boundary}\r\nContent-Disposition: form-data; name="tenant-id"\r\n\r\n${tenantId}`,
      )
      this.emitted = true
    }
    this.push(this.emitted ? `\r\n--${this.boundary}--\r\n` : `--${this.boundary}--\r\n`)
    cb()
  }

  /** Keeps a dropped `tenant-id` part's value (small: a tenant id). */
  private collect(bytes: Buffer, last: boolean): void {
    this.dropped.push(Buffer.from(bytes))
    const size = this.dropped.reduce((n, b) => n + b.length, 0)
    if (size > 256 || this.values.length >= 16) throw invalid('tenant-id part too large')
    if (last) {
      this.values.push(Buffer.concat(this.dropped).toString('utf8'))
      this.dropped = []
    }
  }

  private process(): void {
    const d = this.delimiter
    for (;;) {
      switch (this.state) {
        case 'preamble': {
          const i = this.buf.indexOf(d)
          if (i < 0) {
            if (this.buf.length > MAX_PREAMBLE_BYTES) throw invalid('multipart boundary not found')
            return
          }
          this.buf = this.buf.subarray(i + d.length)
          this.state = 'afterDelimiter'
          continue
        }
        case 'afterDelimiter': {
          if (this.buf.length < 2) return
          if (this.buf[0] === 0x2d && this.buf[1] === 0x2d) {
            this.state = 'done'
            continue
          }
          const i = this.buf.indexOf(CRLF)
          if (i < 0) {
            if (this.buf.length > 1024) throw invalid('malformed multipart delimiter')
            return
          }
          if (!/^[ \t]*$/.test(this.buf.subarray(0, i).toString('latin1'))) {
            throw invalid('malformed multipart delimiter')
          }
          this.buf = this.buf.subarray(i + 2)
          this.state = 'headers'
          continue
        }
        case 'headers': {
          let raw: string
          if (this.buf.length >= 2 && this.buf[0] === 0x0d && this.buf[1] === 0x0a) {
            raw = ''
            this.buf = this.buf.subarray(2)
          } else {
            const i = this.buf.indexOf(HEADER_END)
            if (i < 0) {
              if (this.buf.length > MAX_HEADER_BYTES) throw invalid('multipart headers too large')
              return
            }
            raw = this.buf.subarray(0, i).toString('latin1')
            this.buf = this.buf.subarray(i + 4)
          }
          const name = partName(raw)
          this.keep = name === undefined || name.toLowerCase() !== 'tenant-id'
          this.scanner = this.keep ? new TenantReferenceScanner() : undefined
          if (this.keep) {
            this.push(
              Buffer.from(
                `${this.emitted ? '\r\n' : ''}--${this.boundary}\r\n${raw}${raw ? '\r\n' : ''}\r\n`,
                'latin1',
              ),
            )
            this.emitted = true
          }
          this.state = 'content'
          continue
        }
        case 'content': {
          const i = this.buf.indexOf(d)
          if (i < 0) {
            const safe = this.buf.length - (d.length - 1)
            if (safe > 0) {
              if (this.keep) {
                this.scanner?.feed(this.buf.subarray(0, safe), false)
                this.push(this.buf.subarray(0, safe))
              } else this.collect(this.buf.subarray(0, safe), false)
              this.buf = this.buf.subarray(safe)
            }
            return
          }
          if (this.scanner) {
            this.scanner.feed(this.buf.subarray(0, i), true)
            this.references.push(...this.scanner.references)
            this.scanner = undefined
          }
          if (this.keep && i > 0) this.push(this.buf.subarray(0, i))
          if (!this.keep) this.collect(this.buf.subarray(0, i), true)
          this.buf = this.buf.subarray(i + d.length)
          this.state = 'afterDelimiter'
          continue
        }
        case 'done':
          this.buf = Buffer.alloc(0) // the epilogue is dropped
          return
      }
    }
  }
}
