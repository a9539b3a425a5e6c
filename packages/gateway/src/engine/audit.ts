import type { Logger } from 'pino'
import type { Principal } from '@c7auth/core'
import type { AuditOutcome } from './types.js'

/** One audited engine call. Never carries a token or claim set. */
export interface AuditEvent {
  readonly requestId: string
  readonly principal: Principal | undefined
  readonly tenantId: string | undefined
  readonly operationId: string | undefined
  readonly method: string
  readonly status: number
  readonly outcome: AuditOutcome
  readonly durationMs: number
  /** Stable error code when the gateway answered with an error. */
  readonly code?: string | undefined
}

/** Writes audit lines: one structured pino line per mutating (or denied) call. */
export interface AuditLog {
  write(event: AuditEvent): void
}

/**
 * Creates the audit log on a pino logger (child `{ component: 'c7auth-audit' }`).
 *
 * @example
 * ```ts
 * const audit = createAuditLog(pino())
 * audit.write({ requestId, principal, tenantId: 't1', operationId: 'completeTask', method: 'POST',
 *   status: 204, outcome: 'success', durationMs: 12 })
 * ```
 */
export function createAuditLog(logger: Logger): AuditLog {
  const log = logger.child({ component: 'c7auth-audit' })
  return {
    write(e) {
      log.info(
        {
          audit: true,
          requestId: e.requestId,
          userId: e.principal?.userId,
          clientId: e.principal?.clientId,
          kind: e.principal?.kind,
          tenant: e.tenantId,
          operationId: e.operationId,
          method: e.method,
          status: e.status,
          outcome: e.outcome,
          durationMs: e.durationMs,
          ...(e.code ? { code: e.code } : {}),
        },
        'engine call',
      )
    },
  }
}
