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
 * Asks the engine whether it validates the Java types it deserializes variables into (T31):
 * uploads a binary variable whose `type` part names `java.net.URI` to a process instance that does
 * not exist. The REST layer deserializes the value before it looks the instance up, so an engine
 * with `deserializationTypeValidationEnabled` answers that the class is not allowed, and one
 * without it instantiates a URI and then answers that the execution does not exist. Nothing is
 * written. An engine whose allowlist names `java.net.URI` reads as `disabled` (conservative).
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
  const body =
    `--${BOUNDARY}\r\nContent-Disposition: form-data; name="data"; filename="probe.json"\r\n` +
    `Content-Type: application/json\r\n\r\n"urn:c7auth:probe"\r\n` +
    `--${BOUNDARY}\r\nContent-Disposition: form-data; name="type"\r\n\r\n${PROBE_TYPE}\r\n` +
    `--${BOUNDARY}--\r\n`
  const headers: Record<string, string> = {
    'content-type': `multipart/form-data; boundary=${BOUNDARY}`,
    accept: 'application/json',
  }
  if (options.authorization) headers.authorization = options.authorization
  let status: number
  let text: string
  try {
    const res = await options.endpoint.dispatcher.request({
      path: `${options.endpoint.basePath}/process-instance/${PROBE_INSTANCE}/variables/c7authProbe/data`,
      method: 'POST',
      headers,
      body,
      headersTimeout: options.timeoutMs,
      bodyTimeout: options.timeoutMs,
    })
    status = res.statusCode
    text = (await res.body.text()).slice(0, 2000)
  } catch (err) {
    const failure = upstreamFailure(err)
    return { state: 'unknown', detail: `type validation probe failed: ${failure.code}` }
  }
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
