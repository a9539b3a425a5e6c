import type { DelegationEvent } from './delegation-capture.js'

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
