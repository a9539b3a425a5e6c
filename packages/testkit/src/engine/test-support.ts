/** Small HTTP helpers for the simulator's own tests (not exported from the package). */
import { linearProcessXml } from './bpmn-builder.js'

export interface HttpResult {
  readonly status: number
  readonly contentType: string | null
  readonly headers: Headers
  readonly body: unknown
}

export const basic = (user: string, password: string): string =>
  'Basic ' + Buffer.from(`${user}:${password}`, 'utf8').toString('base64')

/** A fetch wrapper bound to one base URL and one set of credentials. */
export function client(baseUrl: string, credentials?: { user: string; password: string }) {
  const request = async (
    method: string,
    path: string,
    body?: unknown,
    init: RequestInit = {},
  ): Promise<HttpResult> => {
    const headers = new Headers(init.headers)
    if (credentials !== undefined)
      headers.set('authorization', basic(credentials.user, credentials.password))
    let payload: string | FormData | undefined
    if (body instanceof FormData) payload = body
    else if (body !== undefined) {
      headers.set('content-type', 'application/json')
      payload = JSON.stringify(body)
    }
    const res = await fetch(`${baseUrl}${path}`, {
      ...init,
      method,
      headers,
      ...(payload === undefined ? {} : { body: payload }),
    })
    const text = await res.text()
    const contentType = res.headers.get('content-type')
    return {
      status: res.status,
      contentType,
      headers: res.headers,
      body:
        text === ''
          ? undefined
          : contentType === 'application/json'
            ? (JSON.parse(text) as unknown)
            : text,
    }
  }
  return {
    get: (path: string, init?: RequestInit) => request('GET', path, undefined, init),
    post: (path: string, body?: unknown, init?: RequestInit) => request('POST', path, body, init),
    put: (path: string, body?: unknown) => request('PUT', path, body),
    delete: (path: string) => request('DELETE', path),
  }
}

/** user task `approve` → external task `charge` (topic `charge`). */
export const approveThenCharge = (key = 'invoice'): string =>
  linearProcessXml({
    key,
    name: 'Invoice',
    steps: [
      { type: 'userTask', id: 'approve', name: 'Approve', candidateGroups: ['accounting'] },
      { type: 'externalTask', id: 'charge', topic: 'charge' },
    ],
  })

/** Builds a deployment form like the REST client of a modeller would. */
export function deploymentForm(
  fields: Record<string, string>,
  files: { name: string; content: string | Uint8Array }[],
): FormData {
  const fd = new FormData()
  for (const [k, v] of Object.entries(fields)) fd.append(k, v)
  for (const f of files) fd.append(f.name, new Blob([f.content]), f.name)
  return fd
}
