import type { IncomingMessage, ServerResponse } from 'node:http'
import type { Logger } from 'pino'
import { REFRESH_TOKEN_TYPE, createTokenClient } from '@c7auth/core'
import type {
  DelegationGrant,
  IssuedToken,
  OnBehalfOfVault,
  Principal,
  TenantConfig,
  TokenClient,
} from '@c7auth/core'
import type { JsonResult } from './engine-client.js'

/** Calls engine-rest as `principal` (GET); resolves `{ status, body }`. */
export type EngineLookupAs = (principal: Principal, path: string) => Promise<JsonResult>

/** What a capture did, for metrics and tests. Never carries a token. */
export interface DelegationEvent {
  /** `skipped`: the instance's process definition key is not opted in. */
  readonly type: 'stored' | 'deleted' | 'skipped' | 'failed'
  readonly tenantId: string
  readonly processInstanceId: string
  /** `failed`: what failed (`exchange`, `vault`, `lookup`). */
  readonly stage?: 'exchange' | 'vault' | 'lookup'
}

/** Options of {@link createDelegationCapture}. */
export interface DelegationCaptureOptions {
  readonly tenants: readonly TenantConfig[]
  /** The vault; opened on first use. */
  readonly vault: () => Promise<OnBehalfOfVault>
  readonly lookupAs: EngineLookupAs
  readonly logger?: Logger | undefined
  readonly onEvent?: ((event: DelegationEvent) => void) | undefined
  /** The token client that obtains a tenant's grants. Default: one per tenant app's credentials. */
  readonly tokenClientOf?: ((tenant: TenantConfig) => TokenClient) | undefined
}

/** One request that may capture a grant: `before` runs ahead of the proxy, `after` once it answered. */
export interface PendingCapture {
  before(): Promise<void>
  after(res: ServerResponse): Promise<void>
}

/**
 * After-response seam of the gateway for on-behalf-of calls (docs/on-behalf-of.md): when a user
 * starts an instance or completes a user task of an opted-in tenant and process definition key,
 * and the engine answered 2xx, the user's token is exchanged for a delegation grant of the tenant
 * app, stored in the vault; a deleted instance's grants are purged. Nothing reaches the engine.
 */
export interface DelegationCapture {
  /** Undefined (after one cheap check) for every request that cannot capture or delete. */
  match(
    req: IncomingMessage,
    res: ServerResponse,
    principal: Principal,
    path: string,
  ): PendingCapture | undefined
  close(): void
}

const START_BY_KEY =
  /^\/process-definition\/key\/([^/]+)(?:\/tenant-id\/([^/]+))?\/(?:start|submit-form)$/
const START_BY_ID = /^\/process-definition\/([^/]+)\/(?:start|submit-form)$/
const COMPLETE_TASK = /^\/task\/([^/]+)\/(?:complete|submit-form)$/
const INSTANCE = /^\/process-instance\/([^/]+)$/
const END_EXTERNAL_TASK = /^\/external-task\/([^/]+)\/(?:complete|bpmnError)$/

interface Target {
  tenantId: string
  processInstanceId: string
  processDefinitionKey: string | undefined
  processDefinitionId: string | undefined
}

/** The capture seam, or undefined when no tenant opted in. */
export function createDelegationCapture(
  options: DelegationCaptureOptions,
): DelegationCapture | undefined {
  const optedIn = new Map(
    options.tenants.flatMap((t) => (t.onBehalfOf && t.client ? [[t.id, t] as const] : [])),
  )
  if (optedIn.size === 0) return undefined
  const clients = new Map<string, TokenClient>()
  const clientOf = (tenant: TenantConfig): TokenClient => {
    let client = clients.get(tenant.id)
    if (client === undefined) {
      const { params, ...creds } = tenant.client!
      client = options.tokenClientOf?.(tenant) ?? createTokenClient({ ...creds, params })
      clients.set(tenant.id, client)
    }
    return client
  }
  const emit = (event: DelegationEvent) => {
    try {
      options.onEvent?.(event)
    } catch {
      // a metrics hook must not break the capture
    }
  }
  const warn = (event: DelegationEvent, err: unknown) => {
    emit(event)
    options.logger?.warn(
      {
        tenantId: event.tenantId,
        processInstanceId: event.processInstanceId,
        stage: event.stage,
        // The error's code or name only: an IdP answer may echo what it was sent.
        err: (err as { code?: string } | undefined)?.code ?? (err as Error | undefined)?.name,
      },
      'on-behalf-of grant not stored',
    )
  }

  const keyOf = async (principal: Principal, target: Target): Promise<string | undefined> => {
    if (target.processDefinitionKey !== undefined) return target.processDefinitionKey
    if (target.processDefinitionId === undefined) return undefined
    const res = await options.lookupAs(
      principal,
      `/process-definition/${encodeURIComponent(target.processDefinitionId)}`,
    )
    const key = (res.body as { key?: unknown } | undefined)?.key
    return res.status === 200 && typeof key === 'string' ? key : undefined
  }

  async function store(principal: Principal, bearer: string, target: Target): Promise<void> {
    const tenant = optedIn.get(target.tenantId)
    if (tenant === undefined || !principal.tenantIds.includes(target.tenantId)) return
    const keys = tenant.onBehalfOf!.processDefinitionKeys
    const base = { tenantId: target.tenantId, processInstanceId: target.processInstanceId }
    let key: string | undefined
    try {
      key = await keyOf(principal, target)
    } catch (err) {
      return warn({ type: 'failed', stage: 'lookup', ...base }, err)
    }
    if (!keys.includes('*') && (key === undefined || !keys.includes(key))) {
      return emit({ type: 'skipped', ...base })
    }
    let grant: { grant: DelegationGrant; expiresAt: number | undefined }
    try {
      grant = grantOf(
        await clientOf(tenant).exchangeToken({
          subjectToken: bearer,
          requestedTokenType: REFRESH_TOKEN_TYPE,
        }),
      )
    } catch (err) {
      return warn({ type: 'failed', stage: 'exchange', ...base }, err)
    }
    try {
      const vault = await options.vault()
      await vault.put(
        {
          tenant: target.tenantId,
          processInstanceId: target.processInstanceId,
          user: principal.userId,
        },
        grant.grant,
        {
          maxLifetimeMs: tenant.onBehalfOf!.maxLifetimeSeconds * 1000,
          ...(grant.expiresAt === undefined ? {} : { grantExpiresAt: grant.expiresAt }),
          ...(key === undefined ? {} : { processDefinitionKey: key }),
        },
      )
      emit({ type: 'stored', ...base })
    } catch (err) {
      warn({ type: 'failed', stage: 'vault', ...base }, err)
    }
  }

  async function purge(tenantIds: readonly string[], processInstanceId: string): Promise<void> {
    const vault = await options.vault()
    for (const tenantId of tenantIds) {
      const deleted = await vault.purge({ tenant: tenantId, processInstanceId })
      if (deleted > 0) emit({ type: 'deleted', tenantId, processInstanceId })
    }
  }

  /** Purges the instance's grants when the engine no longer runs it (404 as the caller). */
  async function purgeIfEnded(principal: Principal, tenantId: string, processInstanceId: string) {
    const found = await options.lookupAs(
      principal,
      `/process-instance/${encodeURIComponent(processInstanceId)}`,
    )
    if (found.status === 404) await purge([tenantId], processInstanceId)
  }

  /** The process instance and tenant of a task (`/task/…` or `/external-task/…`), as the caller sees it. */
  async function taskTarget(principal: Principal, path: string): Promise<Target | undefined> {
    const found = await options
      .lookupAs(principal, path)
      .catch(() => ({ status: 0, body: undefined }))
    const body = found.body as Record<string, unknown> | undefined
    if (found.status !== 200 || typeof body?.['processInstanceId'] !== 'string') return undefined
    if (typeof body['tenantId'] !== 'string' || !optedIn.has(body['tenantId'])) return undefined
    return {
      tenantId: body['tenantId'],
      processInstanceId: body['processInstanceId'],
      processDefinitionKey: undefined,
      processDefinitionId:
        typeof body['processDefinitionId'] === 'string' ? body['processDefinitionId'] : undefined,
    }
  }

  function match(
    req: IncomingMessage,
    res: ServerResponse,
    principal: Principal,
    path: string,
  ): PendingCapture | undefined {
    const method = req.method
    if (method !== 'POST' && method !== 'DELETE') return undefined
    if (!principal.tenantIds.some((t) => optedIn.has(t))) return undefined
    if (method === 'DELETE') {
      const id = INSTANCE.exec(path)?.[1]
      if (id === undefined) return undefined
      const processInstanceId = decodeURIComponent(id)
      return {
        before: () => Promise.resolve(),
        async after(done) {
          if (done.statusCode < 200 || done.statusCode >= 300) return
          await purge(
            principal.tenantIds.filter((t) => optedIn.has(t)),
            processInstanceId,
          )
        },
      }
    }
    const externalTask = END_EXTERNAL_TASK.exec(path)?.[1]
    if (externalTask !== undefined) {
      // A worker's last step may end the instance: its grants go with it.
      let target: Target | undefined
      return {
        async before() {
          target = await taskTarget(principal, `/external-task/${externalTask}`)
        },
        async after(done) {
          if (target === undefined || done.statusCode < 200 || done.statusCode >= 300) return
          await purgeIfEnded(principal, target.tenantId, target.processInstanceId)
        },
      }
    }
    if (principal.kind !== 'user') return undefined
    const bearer = /^bearer +(\S+)/i.exec(String(req.headers.authorization ?? ''))?.[1]
    if (bearer === undefined) return undefined

    const task = COMPLETE_TASK.exec(path)?.[1]
    if (task !== undefined) {
      let target: Target | undefined
      return {
        // Stored before the engine is called: the next step's worker may run the moment the
        // engine commits, and must find the grant.
        async before() {
          target = await taskTarget(principal, `/task/${task}`)
          if (target !== undefined) await store(principal, bearer, target)
        },
        async after(done) {
          if (target === undefined) return
          if (done.statusCode >= 200 && done.statusCode < 300) {
            // The user's task may have been the last step.
            return purgeIfEnded(principal, target.tenantId, target.processInstanceId)
          }
          // Refused or failed: the grant was never needed.
          const binding = {
            tenant: target.tenantId,
            processInstanceId: target.processInstanceId,
            user: principal.userId,
          }
          if (await (await options.vault()).delete(binding)) {
            emit({
              type: 'deleted',
              tenantId: target.tenantId,
              processInstanceId: target.processInstanceId,
            })
          }
        },
      }
    }
    const byKey = START_BY_KEY.exec(path)
    if (byKey === null && !START_BY_ID.test(path)) return undefined
    let answer: () => unknown = () => undefined
    return {
      before() {
        answer = tapJsonAnswer(res)
        return Promise.resolve()
      },
      async after(done) {
        if (done.statusCode < 200 || done.statusCode >= 300) return
        const body = answer() as Record<string, unknown> | undefined
        if (typeof body?.['id'] !== 'string' || typeof body['tenantId'] !== 'string') return
        await store(principal, bearer, {
          tenantId: body['tenantId'],
          processInstanceId: body['id'],
          processDefinitionKey: byKey?.[1] === undefined ? undefined : decodeURIComponent(byKey[1]),
          processDefinitionId:
            typeof body['definitionId'] === 'string' ? body['definitionId'] : undefined,
        })
      },
    }
  }

  return {
    match,
    close() {
      for (const c of clients.values()) c.close()
      clients.clear()
    },
  }
}

/**
 * The answer the proxy sends, as JSON, once sent. Start operations' answers are buffered by the
 * proxy (links rewrite) and end in one `res.end(buffer)`; anything else reads as undefined.
 */
function tapJsonAnswer(res: ServerResponse): () => unknown {
  let sent: Buffer | string | undefined
  const end = res.end.bind(res) as (...args: unknown[]) => ServerResponse
  res.end = ((...args: unknown[]) => {
    const chunk = args[0]
    if (Buffer.isBuffer(chunk) || typeof chunk === 'string') sent = chunk
    return end(...args)
  }) as ServerResponse['end']
  return () => {
    if (sent === undefined) return undefined
    try {
      return JSON.parse(sent.toString()) as unknown
    } catch {
      return undefined
    }
  }
}

/**
 * The delegation grant in a token-exchange answer: a `refresh_token` beside the issued token when
 * there is one (Keycloak answers `issued_token_type` = refresh token with an access token in
 * `access_token` and the refresh token beside it); else, as RFC 8693 has it, the refresh token in
 * `access_token` when `issued_token_type` says so.
 */
function grantOf(issued: IssuedToken): { grant: DelegationGrant; expiresAt: number | undefined } {
  if (issued.refreshToken !== undefined) {
    return {
      grant: { token: issued.refreshToken, tokenType: REFRESH_TOKEN_TYPE },
      expiresAt: undefined,
    }
  }
  if (issued.issuedTokenType === REFRESH_TOKEN_TYPE) {
    return {
      grant: { token: issued.accessToken, tokenType: REFRESH_TOKEN_TYPE },
      expiresAt: issued.expiresAt,
    }
  }
  throw Object.assign(new Error('the IdP issued no refresh-capable grant'), {
    code: 'NO_DELEGATION_GRANT',
  })
}
