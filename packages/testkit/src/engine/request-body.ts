import type { IncomingMessage } from 'node:http'
import busboy from 'busboy'
import { EngineError, invalidRequest } from './engine-errors.js'

/** One uploaded part with a file name (a deployment resource). */
export interface MultipartFile {
  readonly fieldName: string
  readonly fileName: string
  readonly contentType: string
  readonly data: Buffer
}

/** A parsed `multipart/form-data` body: text fields (every value, in order) and files. */
export interface MultipartBody {
  readonly kind: 'multipart'
  readonly fields: Readonly<Record<string, readonly string[]>>
  readonly files: readonly MultipartFile[]
}

const JSON_LIMIT = 16 * 1024 * 1024

/** Told the size of every body chunk as it arrives (the simulator's `bodyBytesReceived`). */
export type OnBodyBytes = (bytes: number) => void

const ignoreBytes: OnBodyBytes = () => undefined

/** Reads a JSON request body; an empty body yields `undefined`. */
export async function readJsonBody(
  req: IncomingMessage,
  onBytes: OnBodyBytes = ignoreBytes,
): Promise<unknown> {
  const chunks: Buffer[] = []
  let size = 0
  for await (const chunk of req as AsyncIterable<Buffer>) {
    onBytes(chunk.length)
    size += chunk.length
    if (size > JSON_LIMIT) throw invalidRequest('Request body too large', 413)
    chunks.push(chunk)
  }
  if (size === 0) return undefined
  const text = Buffer.concat(chunks).toString('utf8')
  if (text.trim() === '') return undefined
  try {
    return JSON.parse(text) as unknown
  } catch (err) {
    throw new EngineError(400, 'JsonParseException', (err as Error).message)
  }
}

/** Drains a body we do not interpret. */
export async function discardBody(
  req: IncomingMessage,
  onBytes: OnBodyBytes = ignoreBytes,
): Promise<void> {
  for await (const chunk of req as AsyncIterable<Buffer>) onBytes(chunk.length)
}

/** Streams a `multipart/form-data` body through busboy (multi-MB uploads are fine). */
export function readMultipartBody(
  req: IncomingMessage,
  onBytes: OnBodyBytes = ignoreBytes,
): Promise<MultipartBody> {
  return new Promise((resolve, reject) => {
    let bb: busboy.Busboy
    try {
      bb = busboy({
        headers: req.headers,
        limits: { fileSize: 256 * 1024 * 1024, fieldSize: 1024 * 1024 },
      })
    } catch (err) {
      reject(invalidRequest(`multipart/form-data cannot be processed: ${(err as Error).message}`))
      return
    }
    const fields: Record<string, string[]> = {}
    const files: MultipartFile[] = []
    const pending: Promise<void>[] = []
    bb.on('field', (name, value) => {
      ;(fields[name] ??= []).push(value)
    })
    bb.on('file', (fieldName, stream, info) => {
      pending.push(
        new Promise<void>((done, fail) => {
          const chunks: Buffer[] = []
          stream.on('data', (c: Buffer) => chunks.push(c))
          stream.on('error', fail)
          stream.on('end', () => {
            files.push({
              fieldName,
              fileName: info.filename ?? '',
              contentType: info.mimeType,
              data: Buffer.concat(chunks),
            })
            done()
          })
        }),
      )
    })
    bb.on('error', (err) =>
      reject(invalidRequest(`multipart/form-data cannot be processed: ${(err as Error).message}`)),
    )
    bb.on('close', () => {
      Promise.all(pending).then(
        () => resolve({ kind: 'multipart', fields, files }),
        (err: unknown) => reject(err),
      )
    })
    // attached in the same tick as the pipe: both see every chunk
    req.on('data', (chunk: Buffer) => onBytes(chunk.length))
    req.pipe(bb)
  })
}
