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

/** The boundary of a `multipart/form-data` content type, or undefined. */
export function multipartBoundary(contentType: string | undefined): string | undefined {
  if (!contentType || !/^multipart\/form-data\s*(;|$)/i.test(contentType)) return undefined
  const m = /;\s*boundary\s*=\s*(?:"([^"]{1,70})"|([^;\s"]{1,70}))/i.exec(contentType)
  return m ? (m[1] ?? m[2]) : undefined
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

type State = 'preamble' | 'afterDelimiter' | 'headers' | 'content' | 'done'

/**
 * Streams a `multipart/form-data` body through, dropping every part named `tenant-id` (any case,
 * values collected) and appending exactly one `tenant-id` part with `resolveTenant(values)` at the
 * end (none when it returns undefined). Only a delimiter's length is held back; file contents are
 * never buffered. The boundary is kept, so the `Content-Type` stays valid; the length changes.
 * If `resolveTenant` throws, the stream fails before the closing delimiter: the engine never
 * receives a complete body.
 */
export class MultipartTenantStamper extends Transform {
  private buf: Buffer = CRLF // a virtual CRLF lets the first delimiter match like all others
  private state: State = 'preamble'
  private keep = true
  private emitted = false
  private dropped: Buffer[] = []
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
              if (this.keep) this.push(this.buf.subarray(0, safe))
              else this.collect(this.buf.subarray(0, safe), false)
              this.buf = this.buf.subarray(safe)
            }
            return
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
