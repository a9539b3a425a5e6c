import type { Tracer } from '@opentelemetry/api'
import { pino } from 'pino'
import type { Logger } from 'pino'
import {
  ConfigError,
  DEFAULT_TRACE_VARIABLE,
  UpstreamError,
  createOnBehalfOfVaultFromConfig,
} from '@c7auth/core'
import type { C7AuthConfig, EngineAuthMode, OnBehalfOfVault } from '@c7auth/core'
import { authenticatorOptionsFromConfig, createAuthenticator } from '../auth/index.js'
import { withLookup } from '../auth/auth-source.js'
import type { Authenticator } from '../auth/index.js'
import { createPolicy } from '../policy/index.js'
import type { Policy } from '../policy/index.js'
import { createAuditLog } from './audit.js'
import { probeHistoryLevel } from './history-level.js'
import { createAdminClient, createEngineEndpoint, engineJson } from './engine-client.js'
import type { EngineEndpoint } from './engine-client.js'
import { createIdentityBridge } from './identity-bridge.js'
import type { CanaryReport, IdentityBridge } from './identity-bridge.js'
import { createDelegationCapture } from './delegation-capture.js'
import { endedFromHistory, sweepDelegations } from './delegation-sweep.js'
import { createEngineProxy, stripMount } from './proxy.js'
import type { EngineProxy } from './proxy.js'
import { bootstrapTenants, configuredAuthorizations } from './tenant-bootstrap.js'
import type { AuthorizationGrant, TenantBootstrapReport } from './tenant-bootstrap.js'
import type { GatewayHooks } from './types.js'
import { createUpstreamCredentials } from './upstream-credentials.js'
import { createAssertionSigner } from './assertion-signer.js'
import type { AssertionJwks, AssertionSigner } from './assertion-signer.js'
import { engineGroupsOf, engineIdCheck } from './engine-groups.js'
import { createSharedSignalProbe, tenantSafetySettingsOf } from '../deploy/engine-checks.js'
import type { EngineGroupRules } from './engine-groups.js'

/** Options of {@link createGateway}. */
export interface CreateGatewayOptions {
  /** The loaded configuration (`loadConfigFromEnv`). */
  readonly config: C7AuthConfig
  /** Default: `pino({ level: config.logLevel })`. */
  readonly logger?: Logger
  /** Metrics hooks (prom-client counters in the standalone server). */
  readonly hooks?: GatewayHooks
  /**
   * OpenTelemetry tracer (`trace.getTracer('c7auth-gateway')` once your SDK is registered): a
   * server span per request, child spans for JWKS fetches, bridge provisioning and the upstream
   * call, W3C `traceparent` to the engine and into the process (`c7authTraceParent`) for workers.
   * Off when absent: no span code runs.
   */
  readonly tracer?: Tracer
  /** Default: `createAuthenticator(authenticatorOptionsFromConfig(config))`. */
  readonly authenticator?: Authenticator
  /**
   * The policy (`createPolicy(…)`, or one of your own): its options, `adminBypassesTenantScope`
   * among them, hold for every check of a request. Default: `createPolicy` from `config`.
   */
  readonly policy?: Policy
  /**
   * Group authorizations the bootstrap makes sure exist (engines with authorization checks).
   * Default: what `config.engine.authorizations` (`C7AUTH_ENGINE_AUTHORIZATIONS`) stands for, see
   * `configuredAuthorizations`.
   */
  readonly authorizations?: readonly AuthorizationGrant[]
  /**
   * The on-behalf-of vault that tenants with `C7AUTH_TENANT_<ENVID>_ON_BEHALF_OF` store grants in
   * (the workers must read the same one). Default: opened on the store `C7AUTH_TOKEN_STORE` names
   * on first use, closed with the gateway.
   */
  readonly vault?: OnBehalfOfVault
  /**
   * How often the running gateway sweeps the vault for grants of ended instances (ms; 0: never,
   * call {@link Gateway.sweepDelegations} yourself). Default 10 minutes. Only with opted-in tenants.
   */
  readonly delegationSweepMs?: number
  /** Streamed request bodies (deployments) above this many bytes get 413. Default 64 MiB. */
  readonly maxStreamBytes?: number
  /** Max keep-alive connections to the engine. Default: `config.engine.connections` (64). */
  readonly connections?: number
  /** Bridge tuning. */
  readonly bridge?: {
    readonly cacheTtlSeconds?: number
    readonly canaryUserId?: string
    readonly repairIntervalMs?: number
    readonly maxRepairsPerMinute?: number
    /** Group marking the users the bridge created (the only ones it manages). Default `c7authbridged`. */
    readonly markerGroupId?: string
    /** One-time migration: adopt existing engine users outside the marker group. Default false. */
    readonly adoptExistingUsers?: boolean
  }
}

/** What {@link Gateway.start} did and found. */
export interface BootstrapReport {
  readonly engineAuth: EngineAuthMode
  /** Undefined when no admin account is configured (tenants then must exist already). */
  readonly bootstrap: TenantBootstrapReport | undefined
  readonly canary: CanaryReport | undefined
  /** Operator-facing notes (enforcement model, history level, …). */
  readonly warnings: readonly string[]
}

/** Readiness of the gateway's dependencies. */
export interface ReadyReport {
  readonly ready: boolean
  /** engine-rest answered `GET /version` with 200 (as the canary in bridge mode). */
  readonly engine: boolean
  /** Every issuer's JWKS is loaded. */
  readonly idp: boolean
}

/** The composed gateway: authenticate elsewhere, then {@link Gateway.handle} proxies to the engine. */
export interface Gateway {
  readonly config: C7AuthConfig
  readonly authenticator: Authenticator
  readonly bridge: IdentityBridge | undefined
  readonly endpoint: EngineEndpoint
  readonly logger: Logger
  /**
   * `assertion` mode: the public keys the engine plugin trusts (serve them unauthenticated, see
   * `engineJwks` in `@c7auth/gateway/express` or `/koa`); undefined in every other mode.
   */
  readonly assertionJwks: AssertionJwks | undefined
  /** Proxies one authenticated request (Express/Koa adapters call this). */
  handle: EngineProxy['handle']
  /** Tenant bootstrap, bridge canary, read-only identity detection. Call once before serving. */
  start(): Promise<BootstrapReport>
  checkReady(): Promise<ReadyReport>
  /**
   * Deletes on-behalf-of grants whose process instance ended, asking the engine's history (as the
   * admin account, else with the readiness probe's identity). Returns how many; 0 when no tenant
   * opted in.
   */
  sweepDelegations(): Promise<number>
  close(): Promise<void>
}

/** Metrics hooks run inside response events: one that throws must not take the process down. */
function safeHooks(hooks: GatewayHooks, logger: Logger): GatewayHooks {
  const out: Record<string, (event: never) => void> = {}
  for (const [name, fn] of Object.entries(hooks) as [
    string,
    ((event: never) => void) | undefined,
  ][]) {
    if (typeof fn !== 'function') continue
    out[name] = (event) => {
      try {
        fn.call(hooks, event)
      } catch (err) {
        logger.warn(
          { hook: name, err: err instanceof Error ? err.message : String(err) },
          'metrics hook failed',
        )
      }
    }
  }
  return out as GatewayHooks
}

/** Extra engine groups per tenant (`C7AUTH_TENANT_<ENVID>_DEFAULT_GROUPS`). */
function tenantDefaultGroupsOf(config: C7AuthConfig): Record<string, readonly string[]> {
  const out: Record<string, readonly string[]> = {}
  for (const t of config.tenants) {
    const groups = (t as { defaultGroups?: readonly string[] }).defaultGroups
    if (groups && groups.length > 0) out[t.id] = groups
  }
  return out
}

/**
 * Composes authenticator, policy, upstream identity mode, identity bridge, audit log and the
 * undici proxy from one configuration.
 *
 * @example
 * ```ts
 * const gateway = createGateway({ config: loadConfigFromEnv(process.env) })
 * console.log(await gateway.start())
 * app.use('/engine-rest', engineProxy(gateway))
 * ```
 */
export function createGateway(options: CreateGatewayOptions): Gateway {
  const { config } = options
  const engine = config.engine
  const logger = options.logger ?? pino({ level: config.logLevel })
  const ownsAuthenticator = options.authenticator === undefined
  // Fail closed: a plain JWT check maps no tenant, and the proxy scopes every call by tenant.
  if (options.authenticator !== undefined && !options.authenticator.mapsTenants) {
    throw new ConfigError(['authenticator: the gateway needs one configured with tenants'])
  }
  const authenticator =
    (options.authenticator && withLookup(options.authenticator)) ??
    createAuthenticator(
      authenticatorOptionsFromConfig(config, {
        logger,
        ...(options.tracer === undefined ? {} : { tracer: options.tracer }),
      }),
    )
  const connections = options.connections ?? engine.connections
  const endpoint = createEngineEndpoint(engine.url, {
    ...(connections === undefined ? {} : { connections }),
  })
  const hooks = options.hooks ? safeHooks(options.hooks, logger) : undefined
  const adminTimeout = Math.min(engine.timeoutMs, 10_000)
  const admin =
    engine.adminUser !== undefined && engine.adminPassword !== undefined
      ? createAdminClient({
          endpoint,
          user: engine.adminUser,
          password: engine.adminPassword,
          timeoutMs: adminTimeout,
          onCall: hooks?.onAdminCall,
          onRejected: () =>
            logger.error(
              { adminUser: engine.adminUser },
              'engine rejected the admin credentials; admin calls disabled until restart',
            ),
        })
      : undefined

  let bridge: IdentityBridge | undefined
  if (engine.auth === 'bridge') {
    if (!admin || !engine.bridgeSecret) {
      throw new ConfigError([
        'C7AUTH_ENGINE_AUTH=bridge needs C7AUTH_ENGINE_ADMIN_USER, C7AUTH_ENGINE_ADMIN_PASSWORD and C7AUTH_BRIDGE_SECRET',
      ])
    }
    const tenantDefaultGroups = tenantDefaultGroupsOf(config)
    bridge = createIdentityBridge({
      endpoint,
      admin,
      adminUser: engine.adminUser as string,
      adminPassword: engine.adminPassword as string,
      secret: engine.bridgeSecret,
      adminGroup: engine.adminGroup,
      defaultGroups: config.gateway.defaultGroups,
      tenantDefaultGroups,
      groupAllowlist: config.gateway.groupAllowlist,
      idPattern: engine.idPattern,
      timeoutMs: adminTimeout,
      tracer: options.tracer,
      logger,
      ...(hooks ? { hooks } : {}),
      ...(options.bridge ?? {}),
    })
  }

  let assertion: AssertionSigner | undefined
  if (engine.auth === 'assertion') {
    if (!engine.assertion) {
      throw new ConfigError([
        'C7AUTH_ENGINE_AUTH=assertion needs C7AUTH_ENGINE_ASSERTION_ISSUER, C7AUTH_ENGINE_ASSERTION_AUDIENCE and C7AUTH_ENGINE_ASSERTION_KEY',
      ])
    }
    const validId = engineIdCheck(engine.idPattern)
    const rules: EngineGroupRules = {
      adminGroup: engine.adminGroup,
      defaultGroups: config.gateway.defaultGroups,
      tenantDefaultGroups: tenantDefaultGroupsOf(config),
      groupAllowlist: config.gateway.groupAllowlist,
    }
    assertion = createAssertionSigner({
      ...engine.assertion,
      groupsOf: (p) => engineGroupsOf(p, rules, validId),
    })
  }

  const credentials = createUpstreamCredentials({
    mode: engine.auth,
    assertion,
    bridge,
    serviceUser: engine.serviceUser,
    servicePassword: engine.servicePassword,
    userHeader: engine.userHeader,
  })
  const policy =
    options.policy ??
    createPolicy({
      actingUserVariable: config.gateway.actingUserVariable,
      ...(options.tracer === undefined ? {} : { traceVariable: DEFAULT_TRACE_VARIABLE }),
      tenantSettings: tenantSafetySettingsOf(config),
      ...(config.gateway.queryMaxResults === undefined
        ? {}
        : { queryMaxResults: config.gateway.queryMaxResults }),
    })
  const sharedSignalSubscriptions = createSharedSignalProbe({
    endpoint,
    admin,
    mode: engine.auth,
    probeHeaders: () => credentials.probeHeaders(),
    timeoutMs: adminTimeout,
  })
  const proxy = createEngineProxy({
    endpoint,
    credentials,
    policy,
    timeoutMs: engine.timeoutMs,
    maxLongPollMs: engine.maxLongPollMs,
    maxJsonBytes: config.gateway.maxBodyBytes,
    maxStreamBytes: options.maxStreamBytes ?? Math.max(config.gateway.maxBodyBytes, 64 << 20),
    sharedSignalSubscriptions,
    publicUrl: config.gateway.publicUrl,
    audit: createAuditLog(logger),
    logger,
    hooks,
    tracer: options.tracer,
  })

  let ownVault: Promise<OnBehalfOfVault> | undefined
  const vault = (): Promise<OnBehalfOfVault> =>
    options.vault !== undefined
      ? Promise.resolve(options.vault)
      : (ownVault ??= createOnBehalfOfVaultFromConfig(config.tokenStore))
  // The after-response seam of on-behalf-of calls; undefined (no per-request cost) unless a
  // tenant opted in.
  const delegation = createDelegationCapture({
    tenants: config.tenants,
    vault,
    lookupAs: async (principal, path) =>
      engineJson(endpoint, 'GET', path, {
        headers: await credentials.headersFor(principal),
        timeoutMs: adminTimeout,
      }),
    logger,
    onEvent: hooks?.onDelegation,
  })

  async function sweep(): Promise<number> {
    if (delegation === undefined) return 0
    return sweepDelegations({
      vault: await vault(),
      tenantIds: config.tenants.filter((t) => t.onBehalfOf).map((t) => t.id),
      instanceEnded: async (_tenant, id) => {
        const path = `/history/process-instance/${encodeURIComponent(id)}`
        const res = admin
          ? await admin.call('GET', path)
          : await engineJson(endpoint, 'GET', path, {
              headers: await credentials.probeHeaders(),
              timeoutMs: adminTimeout,
            })
        return endedFromHistory(res.status, res.body)
      },
    })
  }
  const sweepEvery = options.delegationSweepMs ?? 10 * 60_000
  let sweepTimer: NodeJS.Timeout | undefined

  // Without opted-in tenants the proxy's own handle serves: no wrapper frame per request.
  const handle: EngineProxy['handle'] =
    delegation === undefined
      ? proxy.handle
      : async (req, res, principal, opts) => {
          const path = (opts.url ?? stripMount(req.url ?? '/', opts.mountPath)).split('?')[0]!
          const pending = delegation.match(req, res, principal, path)
          if (pending === undefined) return proxy.handle(req, res, principal, opts)
          // A capture problem never fails the caller's request (it is logged and reported instead).
          const captureFailed = (err: unknown) =>
            logger.warn({ err: (err as Error).name }, 'on-behalf-of capture failed')
          await pending.before().catch(captureFailed)
          await proxy.handle(req, res, principal, opts)
          // The answer is sent: what is left runs off the response path.
          void pending.after(res).catch(captureFailed)
        }

  /**
   * Warns only when the engine shows a level other than FULL: then its user operation log does not
   * record who did what through the gateway. Needs the admin account; silent when the level cannot
   * be told yet (the doctor says so) or there is no user to record (service, none).
   */
  async function historyLevelWarning(): Promise<string | undefined> {
    if (admin === undefined || (engine.auth !== 'bridge' && engine.auth !== 'assertion')) return
    try {
      const { level, detail } = await probeHistoryLevel(async (path) => {
        const res = await admin.call('GET', path)
        const body = res.body as { count?: unknown } | undefined
        if (res.status !== 200 || typeof body?.count !== 'number') {
          throw new UpstreamError('C7AUTH_UPSTREAM_UNAVAILABLE', {
            message: `${path.split('?')[0]} answered HTTP ${res.status ?? 'no response'}`,
          })
        }
        return body.count
      })
      if (level !== 'audit' && level !== 'none') return
      return (
        `The engine's history level is ${level.toUpperCase()} (${detail}), not FULL: its user operation log ` +
        `does not record the ${engine.auth === 'bridge' ? 'bridged' : 'asserted'} users. Set camunda.bpm.history-level=full.`
      )
    } catch (err) {
      logger.debug({ err: String(err) }, 'history level not probed')
      return
    }
  }

  async function start(): Promise<BootstrapReport> {
    const warnings: string[] = []
    let canary: CanaryReport | undefined
    if (bridge) canary = await bridge.checkCanary()
    if (canary?.status === 'rotated') {
      warnings.push(
        'The bridge secret does not match the canary user: it changed, or replicas use different ' +
          'secrets. Users are repaired (credentials reset and unlocked) on their next request.',
      )
    }
    if (engine.auth === 'service' || engine.auth === 'none') {
      warnings.push(
        `C7AUTH_ENGINE_AUTH=${engine.auth}: the engine sees ${engine.auth === 'none' ? 'no user' : 'one technical user'}; ` +
          "the gateway's policy is the only tenant enforcement.",
      )
    }
    if (engine.auth === 'assertion') {
      warnings.push(
        "C7AUTH_ENGINE_AUTH=assertion: the engine must run the c7auth engine plugin with this gateway's issuer, audience and JWKS.",
      )
    }
    const history = await historyLevelWarning()
    if (history !== undefined) warnings.push(history)
    let bootstrap: TenantBootstrapReport | undefined
    const authorizations =
      options.authorizations ??
      configuredAuthorizations(engine.authorizations, config.gateway.defaultGroups)
    if (admin) {
      const groups = [
        ...config.gateway.defaultGroups.app,
        ...config.gateway.defaultGroups.user,
        ...config.tenants.flatMap((t) => (t as { defaultGroups?: string[] }).defaultGroups ?? []),
        ...authorizations.map((a) => a.groupId),
      ]
      bootstrap = await bootstrapTenants({
        admin,
        bridge,
        tenants: config.tenants.map((t) => ({ id: t.id, name: t.name })),
        groups,
        authorizations,
      })
    } else {
      warnings.push('No engine admin account configured: tenants are not bootstrapped.')
      if (authorizations.length > 0) {
        warnings.push('No engine admin account configured: engine authorizations are not granted.')
      }
    }
    if (
      options.authorizations === undefined &&
      engine.authorizations !== undefined &&
      engine.authorizations !== 'none' &&
      authorizations.length === 0
    ) {
      warnings.push(
        `C7AUTH_ENGINE_AUTHORIZATIONS=${engine.authorizations} grants nothing: no default groups are configured.`,
      )
    }
    if (delegation !== undefined && sweepEvery > 0 && sweepTimer === undefined) {
      sweepTimer = setInterval(() => {
        sweep().then(
          (deleted) => deleted > 0 && logger.info({ deleted }, 'on-behalf-of sweep'),
          (err: unknown) => logger.warn({ err: (err as Error).name }, 'on-behalf-of sweep failed'),
        )
      }, sweepEvery).unref()
    }
    const report: BootstrapReport = { engineAuth: engine.auth, bootstrap, canary, warnings }
    logger.info({ bootstrap, canary, engineAuth: engine.auth }, 'c7auth gateway started')
    for (const w of warnings) logger.warn(w)
    return report
  }

  async function checkReady(): Promise<ReadyReport> {
    const engineOk = await engineJson(endpoint, 'GET', '/version', {
      headers: await credentials.probeHeaders(),
      timeoutMs: Math.min(engine.timeoutMs, 5_000),
    }).then(
      (r) => r.status === 200,
      () => false,
    )
    const idp = await authenticator.warmUp().then(
      () => true,
      () => false,
    )
    return { ready: engineOk && idp, engine: engineOk, idp }
  }

  return {
    config,
    authenticator,
    bridge,
    endpoint,
    logger,
    assertionJwks: assertion?.jwks(),
    handle,
    start,
    checkReady,
    sweepDelegations: sweep,
    async close() {
      clearInterval(sweepTimer)
      bridge?.close()
      delegation?.close()
      if (ownVault !== undefined) await (await ownVault.catch(() => undefined))?.close()
      if (ownsAuthenticator) authenticator.close()
      await endpoint.dispatcher.close()
    },
  }
}
