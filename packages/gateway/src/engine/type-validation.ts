import type { EngineEndpoint } from './engine-client.js'
import { upstreamFailure } from './engine-client.js'

/** What {@link probeTypeValidation} found out about the engine's `deserializationTypeValidationEnabled`. */
export interface TypeValidationReport {
  /** `enabled`: the engine refused a type outside its allowlist; `disabled`: it instantiated it. */
  readonly state: 'enabled' | 'disabled' | 'unknown'
  /** One line for a readiness or doctor report (never a credential). */
  readonly detail: string
}

/** A process instance id no engine holds (ids are UUIDs or numbers). */
const PROBE_INSTANCE = 'c7authtypevalidationprobe'
/** A harmless JDK class outside the engine's default deserialization allowlist. */
const PROBE_TYPE = 'java.net.URI'
const BOUNDARY = 'c7authTypeValidationProbe'

/**
 * The request of the type validation probe, relative to engine-rest: a binary variable upload
 * whose `type` part names `java.net.URI`, to a process instance that does not exist. The REST
 * layer deserializes the value before it looks the instance up, so nothing is ever written.
 */
export const TYPE_VALIDATION_PROBE = {
  method: 'POST',
  path: `/process-instance/${PROBE_INSTANCE}/variables/c7authProbe/data`,
  contentType: `multipart/form-data; boundary=${BOUNDARY}`,
  body:
    `--${BOUNDARY}\r\nContent-Disposition: form-data; name="data"; filename="probe.json"\r\n` +
    `Content-Type: application/json\r\n\r\n"urn:c7auth:probe"\r\n` +
    `--${BOUNDARY}\r\nContent-Disposition: form-data; name="type"\r\n\r\n${PROBE_TYPE}\r\n` +
    `--${BOUNDARY}--\r\n`,
} as const

/**
 * Reads the engine's answer to {@link TYPE_VALIDATION_PROBE}: with
 * `deserializationTypeValidationEnabled` it says the class is not allowed (Camunda 7 and Operaton:
 * "not whitelisted for deserialization"); without it, it instantiated a URI and then says the
 * execution does not exist. Anything else is `unknown`. An engine whose allowlist names
 * `java.net.URI` reads as `disabled` (conservative).
 */
export function classifyTypeValidation(status: number, text: string): TypeValidationReport {
  if (/not (?:whitelisted|allowed) for deserialization/i.test(text)) {
    return {
      state: 'enabled',
      detail: 'engine deserialization type validation is enabled (java.net.URI refused)',
    }
  }
  if (/doesn't exist|does not exist|execution is null/i.test(text)) {
    return {
      state: 'disabled',
      detail:
        'engine deserialization type validation is OFF: set deserializationTypeValidationEnabled=true (java.net.URI was instantiated)',
    }
  }
  return {
    state: 'unknown',
    detail: `could not tell whether engine deserialization type validation is enabled (HTTP ${status})`,
  }
}

/**
 * Asks the engine whether it validates the Java types it deserializes variables into (T31), with
 * {@link TYPE_VALIDATION_PROBE} read by {@link classifyTypeValidation}. Nothing is written.
 * `authorization` is the header of an account that may call engine-rest (the admin).
 *
 * @example
 * ```ts
 * const report = await probeTypeValidation({ endpoint, authorization: basicAuth(admin, pw), timeoutMs: 5000 })
 * if (report.state !== 'enabled') console.warn(report.detail)
 * ```
 */
export async function probeTypeValidation(options: {
  readonly endpoint: EngineEndpoint
  readonly authorization?: string | undefined
  readonly timeoutMs: number
}): Promise<TypeValidationReport> {
  const headers: Record<string, string> = {
    'content-type': TYPE_VALIDATION_PROBE.contentType,
    accept: 'application/json',
  }
  if (options.authorization) headers.authorization = options.authorization
  try {
    const res = await options.endpoint.dispatcher.request({
      path: options.endpoint.basePath + TYPE_VALIDATION_PROBE.path,
      method: TYPE_VALIDATION_PROBE.method,
      headers,
      body: TYPE_VALIDATION_PROBE.body,
      headersTimeout: options.timeoutMs,
      bodyTimeout: options.timeoutMs,
    })
    return classifyTypeValidation(res.statusCode, (await res.body.text()).slice(0, 2000))
  } catch (err) {
    const failure = upstreamFailure(err)
    return { state: 'unknown', detail: `type validation probe failed: ${failure.code}` }
  }
}
