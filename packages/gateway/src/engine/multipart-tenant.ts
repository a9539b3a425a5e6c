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

/** Java's `String.trim()` (commons-fileupload trims field names with it): chars up to U+0020. */
function javaTrim(value: string): string {
  let start = 0
  let end = value.length
  while (start < end && value.charCodeAt(start) <= 0x20) start++
  while (end > start && value.charCodeAt(end - 1) <= 0x20) end--
  return value.slice(start, end)
}

/**
 * The parameters of a `Content-Disposition: form-data` header value, parsed like
 * commons-fileupload's `ParameterParser` (`;` separates, quoted strings may hold `;`, names are
 * case-insensitive and trimmed). Refuses what the two parsers could read differently: another
 * disposition type, a duplicate parameter (the engine keeps the last), RFC 2231 `name*=` or
 * RFC 2047 `=?…?=` values (the engine decodes them), an unterminated quote.
 */
export function dispositionParameters(value: string): Map<string, string> {
  const semi = value.indexOf(';')
  const type = javaTrim(semi < 0 ? value : value.slice(0, semi)).toLowerCase()
  if (type !== 'form-data') throw invalid('multipart part that is not form-data')
  const params = new Map<string, string>()
  let i = semi < 0 ? value.length : semi + 1
  while (i < value.length) {
    let j = i
    while (j < value.length && value[j] !== '=' && value[j] !== ';') j++
    const name = javaTrim(value.slice(i, j)).toLowerCase()
    let param = ''
    if (value[j] === '=') {
      j++
      while (j < value.length && (value[j] === ' ' || value[j] === '\t')) j++
      if (value[j] === '"') {
        let k = j + 1
        for (; k < value.length && value[k] !== '"'; k++) if (value[k] === '\\') k++
        if (k >= value.length) throw invalid('unterminated quoted string in Content-Disposition')
        param = value.slice(j + 1, k)
        j = k + 1
        while (j < value.length && (value[j] === ' ' || value[j] === '\t')) j++
        if (j < value.length && value[j] !== ';') throw invalid('malformed Content-Disposition')
      } else {
        let k = j
        while (k < value.length && value[k] !== ';') k++
        param = javaTrim(value.slice(j, k))
        j = k
      }
    }
    i = j + 1
    if (name === '') continue
    if (name.includes('*') || param.includes('=?')) {
      throw invalid('encoded Content-Disposition parameter (RFC 2231 / RFC 2047)')
    }
    if (params.has(name)) throw invalid('duplicate Content-Disposition parameter')
    params.set(name, param)
  }
  return params
}

/** Reads the bytes of one kept part (see {@link MultipartInspection}). */
export interface PartInspector {
  /** The next bytes of the part; `last` at its end. Must not throw. */
  feed(bytes: Buffer, last: boolean): void
}

/**
 * A look at every kept part of a rebuilt multipart body (the deployment scanner): `part` is asked
 * once per part, `finish` once the tenant is resolved; a rejection of `finish` fails the stream
 * before the closing delimiter, so the engine never receives a complete body.
 */
export interface MultipartInspection {
  part(name: string | undefined, filename: string | undefined): PartInspector | undefined
  finish(tenantId: string | undefined): Promise<void>
}

/**
 * The form field name (trimmed) and file name of a part's headers; throws for ambiguous parts
 * and for nested multipart parts, which commons-fileupload would split into further files.
 */
function partName(rawHeaders: string): { name: string | undefined; filename: string | undefined } {
  let name: string | undefined
  let filename: string | undefined
  let dispositions = 0
  for (const line of rawHeaders.split('\r\n')) {
    if (line === '') continue
    if (/^[ \t]/.test(line)) throw invalid('folded multipart header')
    const colon = line.indexOf(':')
    if (colon <= 0) throw invalid('malformed multipart header')
    const header = line.slice(0, colon).trim().toLowerCase()
    const value = line.slice(colon + 1)
    if (header === 'content-type') {
      if (/^multipart\//i.test(javaTrim(value))) throw invalid('nested multipart part')
      continue
    }
    if (header !== 'content-disposition') continue
    dispositions++
    const params = dispositionParameters(value)
    const field = params.get('name')
    name = field === undefined ? undefined : javaTrim(field)
    filename = params.get('filename')
  }
  if (dispositions > 1) throw invalid('multipart part with several Content-Disposition headers')
  return { name, filename }
}

/** Tail kept before a `TenantId` mark (element names). */
const LOOKBEHIND = 128
/** XML whitespace allowed around `=` (more is refused: it could be fed slower than any window). */
const MAX_SPACE = 256
const MAX_VALUE = 256
const MARKS = /TenantId|<!DOCTYPE|<!ENTITY/g
const HTML_DOCTYPE = /^<!DOCTYPE\s+html\s*>/i
const ELEMENT_NAME = /<\/?[\w.:-]*$/
const UTF8_BOM = '\xef\xbb\xbf'
/** The XML 1.0 `XMLDecl` production, exactly (`S` is space, tab, CR, LF). */
const XML_DECLARATION =
  /^<\?xml[ \t\r\n]+version[ \t\r\n]*=[ \t\r\n]*(["'])1\.0\1(?:[ \t\r\n]+encoding[ \t\r\n]*=[ \t\r\n]*(["'])([A-Za-z][A-Za-z0-9._-]*)\2)?(?:[ \t\r\n]+standalone[ \t\r\n]*=[ \t\r\n]*(["'])(?:yes|no)\4)?[ \t\r\n]*\?>$/
/** Longest XML declaration read before the encoding rule is applied. */
const MAX_DECLARATION = 1024
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
/** Enough bytes to tell a BOM, a foreign encoding and the start of `<?xml ` apart. */
const SNIFF_BYTES = 9

const WAIT = Symbol('wait')
const NOT_ATTRIBUTE = Symbol('not an attribute')

function skipSpace(text: string, from: number): number {
  let i = from
  while (i < text.length && i - from <= MAX_SPACE) {
    const c = text.charCodeAt(i)
    if (c !== 0x20 && c !== 0x09 && c !== 0x0d && c !== 0x0a) break
    i++
  }
  return i
}

/**
 * What follows a `…TenantId` name ending at `end`: its literal value, `null` (a reference that is
 * not a plain literal, or too much whitespace), not an attribute, or wait for more text.
 */
function attributeAfter(
  text: string,
  end: number,
  last: boolean,
): string | null | typeof WAIT | typeof NOT_ATTRIBUTE {
  let i = skipSpace(text, end)
  if (i - end > MAX_SPACE) return null
  if (i >= text.length) return last ? NOT_ATTRIBUTE : WAIT
  if (text[i] !== '=') return NOT_ATTRIBUTE
  const eq = i + 1
  i = skipSpace(text, eq)
  if (i - eq > MAX_SPACE) return null
  if (i >= text.length) return last ? null : WAIT
  const quote = text[i]
  if (quote !== '"' && quote !== "'") return null
  const close = text.indexOf(quote, i + 1)
  if (close < 0) return last || text.length - i - 1 > MAX_VALUE ? null : WAIT
  const value = text.slice(i + 1, close)
  return value.length > MAX_VALUE || /["'<]/.test(value) ? null : value
}

/**
 * Scans one streamed deployment resource for cross-tenant references (T13): every attribute (or
 * element) whose local name ends in `TenantId` — `camunda:calledElementTenantId`,
 * `decisionRefTenantId`, `caseTenantId`, any prefix — is recorded with its literal value (`null`
 * when it is not a plain quoted value, or when more than 256 whitespace characters stand on either
 * side of its `=`). Also refuses what would hide such a name from a byte scan: entity declarations,
 * DTDs (except `<!DOCTYPE html>`), resources in an encoding that is not ASCII-compatible (the XML
 * declaration is read whole; one over 1 KB, unterminated, malformed or not XML 1.0 is refused).
 * Holds at most a small tail between chunks.
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
      const room = MAX_DECLARATION + 1 - this.head.length
      this.head = Buffer.concat([this.head, bytes.subarray(0, Math.max(0, room))])
      if (sniffEncoding(this.head, last)) this.head = undefined
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
      const value = attributeAfter(this.text, end, last)
      if (value === WAIT) {
        waiting = at
        break
      }
      next = end
      if (value !== NOT_ATTRIBUTE) this.references.push(value)
      else if (ELEMENT_NAME.test(this.text.slice(Math.max(0, at - LOOKBEHIND), at))) {
        this.references.push(null)
      }
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

/**
 * Applies the encoding rule once the head decides it: `true` when done, `false` for more bytes.
 * An XML declaration is read whole (the JDK parser switches to the encoding it names, wherever
 * in the declaration that is); one longer than {@link MAX_DECLARATION} or malformed is refused.
 */
function sniffEncoding(head: Buffer, last: boolean): boolean {
  if (head.length < SNIFF_BYTES && !last) return false
  for (const sig of FOREIGN_ENCODING_HEADS) {
    if (head.length >= sig.length && sig.every((b, i) => head[i] === b)) {
      throw invalid('deployment resource in an encoding that is not ASCII-compatible')
    }
  }
  let text = head.toString('latin1')
  if (text.startsWith(UTF8_BOM)) text = text.slice(UTF8_BOM.length)
  if (!/^<\?xml[ \t\r\n]/.test(text)) return true
  const close = text.indexOf('?>')
  if (close < 0) {
    if (last || head.length > MAX_DECLARATION) {
      throw invalid('XML declaration unterminated or longer than 1 KB')
    }
    return false
  }
  const declaration = XML_DECLARATION.exec(text.slice(0, close + 2))
  if (!declaration) throw invalid('malformed XML declaration (or not XML 1.0)')
  const encoding = declaration[3]
  if (encoding !== undefined && !ASCII_COMPATIBLE.test(encoding)) {
    throw invalid('deployment resource in an encoding that is not ASCII-compatible')
  }
  return true
}

type State = 'preamble' | 'afterDelimiter' | 'headers' | 'content' | 'done'

/** Options of {@link MultipartTenantStamper}. */
export interface MultipartStamperOptions {
  /** The text part that is dropped and rebuilt (lower case). Default `tenant-id`. */
  readonly field?: 'tenant-id' | 'type'
  /** Scan kept parts with {@link TenantReferenceScanner}. Default true (deployments). */
  readonly scanReferences?: boolean
}

/**
 * Streams a `multipart/form-data` body through, dropping every part named `tenant-id` (any case,
 * values collected) and appending exactly one `tenant-id` part with `resolveTenant(values)` at the
 * end (none when it returns undefined). Only a delimiter's length is held back; file contents are
 * never buffered. The boundary is kept, so the `Content-Type` stays valid; the length changes.
 * If `resolveTenant` throws, or a kept part references a tenant other than the resolved one
 * ({@link TenantReferenceScanner}: 403 `C7AUTH_TENANT_FORBIDDEN`), the stream fails before the
 * closing delimiter: the engine never receives a complete body. Parts the engine could read
 * differently are refused (400): nested `multipart/*` parts, and Content-Disposition headers with
 * a duplicate or encoded parameter (see {@link dispositionParameters}); part names are trimmed.
 */
export class MultipartTenantStamper extends Transform {
  private buf: Buffer = CRLF // a virtual CRLF lets the first delimiter match like all others
  private state: State = 'preamble'
  private keep = true
  private emitted = false
  private dropped: Buffer[] = []
  private scanner: TenantReferenceScanner | undefined
  private inspector: PartInspector | undefined
  private readonly references: (string | null)[] = []
  private readonly values: string[] = []
  private readonly delimiter: Buffer
  private readonly boundary: string
  private readonly field: string
  private readonly scanReferences: boolean

  constructor(
    boundary: string,
    private readonly resolveTenant: (values: readonly string[]) => string | undefined,
    private readonly inspection?: MultipartInspection,
    options: MultipartStamperOptions = {},
  ) {
    super()
    this.field = options.field ?? 'tenant-id'
    this.scanReferences = options.scanReferences ?? true
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
    if (tenantId !== undefined && /[\r\n]/.test(tenantId)) {
      cb(invalid(`${this.field} with a line break`))
      return
    }
    if (this.inspection) {
      this.inspection.finish(tenantId).then(
        () => this.close(tenantId, cb),
        (err: unknown) => cb(err as Error),
      )
    } else this.close(tenantId, cb)
  }

  /** Appends the `tenant-id` part and the closing delimiter. */
  private close(tenantId: string | undefined, cb: TransformCallback): void {
    if (tenantId !== undefined) {
      this.push(
        `${this.emitted ? '\r\n' : ''}--${this.boundary}\r\nContent-Disposition: form-data; name="${this.field}"\r\n\r\n${tenantId}`,
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
    if (size > 256 || this.values.length >= 16) throw invalid(`${this.field} part too large`)
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
          const { name, filename } = partName(raw)
          this.keep = name === undefined || name.toLowerCase() !== this.field
          this.scanner = this.keep && this.scanReferences ? new TenantReferenceScanner() : undefined
          this.inspector = this.keep ? this.inspection?.part(name, filename) : undefined
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
                this.inspector?.feed(this.buf.subarray(0, safe), false)
                this.push(this.buf.subarray(0, safe))
              } else this.collect(this.buf.subarray(0, safe), false)
              this.buf = this.buf.subarray(safe)
            }
            return
          }
          this.inspector?.feed(this.buf.subarray(0, i), true)
          this.inspector = undefined
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
