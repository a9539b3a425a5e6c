import { createPrivateKey } from 'node:crypto'
import {
  CLIENT_AUTH_CREDENTIALS,
  impliedClientAuthMethod,
  missingCredentials,
} from '../config/client-auth.js'
import type { ClientAuthMethod } from '../config/types.js'
import { refusesPlainHttp } from '../config/url-safety.js'
import { ConfigError } from '../errors.js'
import type { TimingSettings } from './token-timing.js'
import type { TokenClientOptions } from './types.js'

/** {@link TokenClientOptions} checked, with every default applied. */
export interface ResolvedTokenClientOptions extends TimingSettings {
  readonly authMethod: ClientAuthMethod
  /** Plain-http IdP requests must be allowed (loopback, or `allowInsecureHttp`). */
  readonly insecure: boolean
  readonly defaultTtlMs: number
  readonly permanentDelayMs: number
  readonly timeoutMs: number
  /** How long one process may hold the fetch lease of a shared store (discovery + request). */
  readonly leaseMs: number
}

/** Validates the options up front (a {@link ConfigError} lists every problem) and fills defaults. */
export function resolveTokenClientOptions(o: TokenClientOptions): ResolvedTokenClientOptions {
  const authMethod =
    o.authMethod ?? impliedClientAuthMethod((field) => o[field] !== undefined) ?? 'none'
  const insecure = checkOptions(o, authMethod)
  const timeoutMs = o.timeoutMs ?? 10_000
  return {
    authMethod,
    insecure,
    earlyMs: (o.earlyRefreshSeconds ?? 60) * 1000,
    minValidityMs: (o.minValiditySeconds ?? 5) * 1000,
    defaultTtlMs: (o.defaultExpiresInSeconds ?? 60) * 1000,
    minDelayMs: o.retry?.minDelayMs ?? 1000,
    maxDelayMs: o.retry?.maxDelayMs ?? 60_000,
    permanentDelayMs: o.retry?.permanentDelayMs ?? 300_000,
    timeoutMs,
    leaseMs: 2 * timeoutMs + 1000,
  }
}

/** Returns whether plain-http requests must be allowed; throws on any problem. */
function checkOptions(o: TokenClientOptions, method: ClientAuthMethod): boolean {
  const issues: string[] = []
  if (!o.clientId) issues.push('clientId: required')
  if (o.issuer === undefined && o.tokenEndpoint === undefined) {
    issues.push('issuer or tokenEndpoint: one is required')
  }
  let insecure = false
  for (const [name, url] of [
    ['issuer', o.issuer],
    ['tokenEndpoint', o.tokenEndpoint],
  ] as const) {
    if (url === undefined) continue
    let parsed: URL
    try {
      parsed = new URL(url)
    } catch {
      issues.push(`${name}: must be an absolute URL`)
      continue
    }
    if (parsed.protocol === 'http:') {
      if (refusesPlainHttp(url, o.allowInsecureHttp === true)) {
        issues.push(`${name}: must use https (http only on loopback or with allowInsecureHttp)`)
      } else insecure = true
    } else if (parsed.protocol !== 'https:') {
      issues.push(`${name}: must be an http(s) URL`)
    }
  }
  if (missingCredentials(method, o).length > 0) {
    issues.push(`${CLIENT_AUTH_CREDENTIALS[method].join(' and ')}: required for ${method}`)
  }
  if (method === 'private_key_jwt' && o.privateKeyPem) {
    try {
      createPrivateKey(o.privateKeyPem)
    } catch {
      issues.push('privateKeyPem: must be a PEM private key')
    }
  }
  if (issues.length > 0) throw new ConfigError(issues)
  return insecure
}
