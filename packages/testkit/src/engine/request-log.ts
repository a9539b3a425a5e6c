import type { IncomingHttpHeaders } from 'node:http'
import type { AuthContext } from './auth-context.js'
import { IDENTITY_WRITES } from './routes/identity-routes.js'
import type { EngineSimulatorStats, RecordedRequest, ValidationIssue } from './simulator-types.js'

/** Route templates that count as provisioning: the identity writes, and unlocking a user. */
const PROVISIONING: ReadonlySet<string> = new Set([...IDENTITY_WRITES, 'POST /user/{id}/unlock'])

/** One request as the HTTP shell saw it, before it is recorded. */
export interface RequestFacts {
  readonly method: string
  readonly path: string
  readonly rawPath: string
  readonly searchParams: URLSearchParams
  readonly headers: IncomingHttpHeaders
  readonly user: string | null
  readonly auth: AuthContext
  readonly body: unknown
  readonly operationId: string | null
}

/** What the simulator saw: every request, the counters, and every OpenAPI violation. */
export class RequestLog {
  readonly requests: RecordedRequest[] = []
  readonly validationErrors: ValidationIssue[] = []
  readonly stats: EngineSimulatorStats = RequestLog.#zero()

  /** Records one answered request. */
  record(facts: RequestFacts, status: number): void {
    const { stats } = this
    stats.requests += 1
    if (facts.user === null) stats.anonymousCalls += 1
    else stats.callsPerUser[facts.user] = (stats.callsPerUser[facts.user] ?? 0) + 1
    if (facts.auth.admin) stats.adminCalls += 1
    this.requests.push({
      method: facts.method,
      path: facts.path,
      rawPath: facts.rawPath,
      query: Object.fromEntries(facts.searchParams),
      queryAll: [...facts.searchParams],
      headers: facts.headers,
      user: facts.user,
      body: summarize(facts.body),
      operationId: facts.operationId,
      status,
    })
  }

  /** Counts a call of a provisioning route (by its template). */
  routed(method: string, template: string): void {
    if (PROVISIONING.has(`${method} ${template}`)) this.stats.provisioningCalls += 1
  }

  /** Throws with every recorded OpenAPI violation. */
  assertNoValidationErrors(): void {
    const issues = this.validationErrors
    if (issues.length === 0) return
    const lines = issues.map(
      (v) =>
        `${v.method} ${v.path} (${v.operationId ?? 'unknown operation'}): ${v.errors.map((e) => e.message).join('; ')}`,
    )
    throw new Error(
      `Engine simulator saw ${issues.length} invalid request(s):\n${lines.join('\n')}`,
    )
  }

  /** Forgets everything (the arrays and the stats object keep their identity). */
  clear(): void {
    this.requests.length = 0
    this.validationErrors.length = 0
    Object.assign(this.stats, RequestLog.#zero())
  }

  static #zero(): EngineSimulatorStats {
    return {
      requests: 0,
      authFailures: 0,
      adminCalls: 0,
      anonymousCalls: 0,
      provisioningCalls: 0,
      callsPerUser: {},
      connections: 0,
      bodyBytesReceived: 0,
    }
  }
}

/** A multipart body as `{ fields, files: [{ fieldName, fileName, size }] }`; JSON as it is. */
function summarize(body: unknown): unknown {
  if (
    body !== null &&
    typeof body === 'object' &&
    (body as { kind?: unknown }).kind === 'multipart'
  ) {
    const mp = body as {
      fields: Record<string, readonly string[]>
      files: readonly { fieldName: string; fileName: string; data: Buffer }[]
    }
    return {
      fields: mp.fields,
      files: mp.files.map((f) => ({
        fieldName: f.fieldName,
        fileName: f.fileName,
        size: f.data.length,
      })),
    }
  }
  return body
}
