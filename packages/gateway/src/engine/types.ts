import type { IncomingHttpHeaders } from 'node:http'
import type { DeployProfile, Principal } from '@c7auth/core'
import type { DelegationEvent } from './delegation-capture.js'

/**
 * What the proxy needs from the policy for one request. The policy module's `decide()` result is
 * adapted to this shape in `policy-adapter.ts`, so the proxy does not depend on the policy's internals.
 */
export interface PolicyInput {
  readonly method: string
  /** Engine-relative path, still percent-encoded, e.g. `/task/abc/complete`. */
  readonly path: string
  /** Raw query string without `?` (may be empty). */
  readonly query: string
  readonly headers: IncomingHttpHeaders
  readonly principal: Principal
}

/**
 * Calls the engine as the caller (owner checks, form references, missing-id probes); resolves
 * `{ status, body }`. `GET` unless `init` names another method (a probe of a `POST` route).
 */
export type EngineLookup = (
  path: string,
  init?: { readonly method: 'GET' | 'POST'; readonly body?: unknown },
) => Promise<{ status: number; body: unknown }>

/** The result of a JSON body rewrite: forward this JSON, or answer without calling the engine. */
export type JsonOutcome =
  | { readonly kind: 'forward'; readonly json: unknown }
  | { readonly kind: 'respond'; readonly status: number; readonly body: unknown }

/** How the request body is forwarded. */
export type BodyMode =
  | { readonly kind: 'none' }
  /** Streamed as it comes, never buffered. */
  | { readonly kind: 'stream' }
  /** Read (size-capped), parsed (`undefined` when empty), rewritten, re-serialised. */
  | {
      readonly kind: 'json'
      readonly rewrite?: (body: unknown) => JsonOutcome | Promise<JsonOutcome>
    }
  /**
   * A streamed multipart upload: every part named `tenant-id` (any case) is dropped and one
   * `tenant-id` part with `resolveTenant(dropped values)` is added (none when it returns undefined;
   * it throws a `C7AuthError` to refuse, which aborts the upload before the engine sees its end).
   */
  | {
      readonly kind: 'multipart'
      /** The part rebuilt from `resolveTenant`. Default `tenant-id`. */
      readonly field?: 'tenant-id' | 'type' | undefined
      /** Scan kept parts for `…TenantId` references and DTDs. Default true. */
      readonly scanReferences?: boolean | undefined
      readonly resolveTenant: (values: readonly string[]) => string | undefined
      /** When set, the body is a deployment: the scanner applies the resolved tenant's profile. */
      readonly profileOf?: ((tenantId: string | undefined) => DeployProfile) | undefined
    }

/** The policy's verdict the proxy executes. Denials are thrown as `C7AuthError`s. */
export type ProxyDecision =
  | {
      readonly action: 'forward'
      /** The OpenAPI operation id (`fetchAndLock`, `completeTask`, …) for audit and metrics. */
      readonly operationId: string
      /** The tenant the call acts in, for audit (undefined for admin / shared reads). */
      readonly tenantId: string | undefined
      /** True when the call changes engine state (audit logs exactly these). */
      readonly mutating: boolean
      /** Engine-relative path to send upstream (canonical, percent-encoded). */
      readonly path: string
      /** Query string to send upstream, without `?`. */
      readonly query: string
      readonly body: BodyMode
    }
  | {
      /** Answer without calling upstream (e.g. the engine's own 404 body for a foreign id). */
      readonly action: 'respond'
      readonly operationId: string
      readonly tenantId: string | undefined
      readonly mutating: boolean
      readonly status: number
      readonly body: unknown
    }

/** A policy as the proxy consumes it. */
export interface ProxyPolicy {
  decide(input: PolicyInput, lookup: EngineLookup): Promise<ProxyDecision>
}

/** Events for metrics (prom-client) and tests; every hook is optional and must not throw. */
export interface GatewayHooks {
  /** One client request finished (any outcome). */
  onRequest?(event: {
    operationId: string | undefined
    method: string
    status: number
    durationMs: number
    outcome: AuditOutcome
    /** The `C7AUTH_*` code of a refusal or gateway error; undefined when the engine answered. */
    code?: string | undefined
    /** The tenant the request acted in, when the policy settled on one. */
    tenantId?: string | undefined
  }): void
  /** One upstream call for a client request finished (headers received or failed). */
  onUpstream?(event: {
    operationId: string
    method: string
    status: number | undefined
    durationMs: number
    error?: string
  }): void
  /** One call the gateway made with the engine admin account. */
  onAdminCall?(event: { method: string; path: string; status: number | undefined }): void
  /** A principal was provisioned (or re-provisioned) in the engine. */
  onProvision?(event: { userId: string; created: boolean; adminCalls: number }): void
  /** A bridged user's credentials were repaired after an engine 401. */
  onRepair?(event: { userId: string; ok: boolean }): void
  /** An on-behalf-of grant was stored or deleted, or could not be stored (docs/on-behalf-of.md). */
  onDelegation?(event: DelegationEvent): void
}

/** Audit outcome of one call. */
export type AuditOutcome = 'success' | 'failure' | 'denied' | 'error' | 'aborted'
