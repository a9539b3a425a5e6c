import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createAuthenticator } from './authenticator.js'
import type { Authenticator } from './authenticator.js'
import { toEngineId, userEngineId } from './engine-id.js'
import type { AuthenticatorOptions, IssuerOptions } from './options.js'
import { startLocalIssuer } from './__tests__/local-issuer.js'
import type { LocalIssuer } from './__tests__/local-issuer.js'
import { rejection } from './__tests__/rejection.js'

let idp: LocalIssuer
const open: Authenticator[] = []

beforeAll(async () => {
  idp = await startLocalIssuer()
})
afterAll(async () => {
  for (const a of open) a.close()
  await idp.close()
})

function make(issuer: Omit<IssuerOptions, 'jwksUri'>, over: Partial<AuthenticatorOptions> = {}) {
  const a = createAuthenticator({
    issuers: [{ jwksUri: idp.jwksUri, ...issuer }],
    tenants: ['acme', 'globex', 'initech'],
    ...over,
  })
  open.push(a)
  return a
}

const KC = 'https://kc.example.com/realms/acme'
const AUTH0 = 'https://acme.eu.auth0.com/'
const ENTRA_V2 = 'https://login.microsoftonline.com/{tenantid}/v2.0'
const ENTRA_V1 = 'https://sts.windows.net/{tenantid}/'
const OKTA = 'https://acme.okta.com/oauth2/default'
const TID = '72f988bf-86f1-41af-91ab-2d7cd011db47'
const USER_UUID = 'f47ac10b-58cc-4372-a567-0e02b2c3d479'

describe('keycloak preset', () => {
  const kc = () =>
    make(
      { issuer: KC, audience: 'engine-rest', preset: 'keycloak' },
      { adminGroups: ['camundaadmin'] },
    )

  it('maps a client-credentials (service account) token to an app acting in its tenant', async () => {
    const token = await idp.sign({
      iss: KC,
      aud: ['engine-rest', 'account'],
      sub: '2b5a4c1e-8d7f-4a52-9c1e-6b0f3e2d1a90',
      typ: 'Bearer',
      azp: 'acme',
      client_id: 'acme',
      preferred_username: 'service-account-acme',
      clientHost: '10.0.0.7',
      realm_access: { roles: ['offline_access', 'default-roles-acme'] },
      resource_access: { acme: { roles: ['uma_protection', 'worker'] } },
      scope: 'profile email',
    })
    const p = await kc().verify(token)
    expect(p).toMatchObject({ kind: 'app', userId: 'acme', clientId: 'acme', tenantIds: ['acme'] })
    expect(p.groupIds).toEqual([
      toEngineId('offline_access'),
      toEngineId('default-roles-acme'),
      toEngineId('uma_protection'),
      'worker',
    ])
    expect(p.scopes).toEqual(['profile', 'email'])
  })

  it('maps a user token: preferred_username as id, realm and client roles and groups as groups', async () => {
    const token = await idp.sign({
      iss: KC,
      aud: 'engine-rest',
      sub: USER_UUID,
      azp: 'globex',
      preferred_username: 'alice',
      email: 'alice@example.com',
      groups: ['/camundaadmin', '/teams/ops'],
      realm_access: { roles: ['clerk'] },
      resource_access: { globex: { roles: ['approver'] }, other: { roles: ['ignored'] } },
      scope: 'openid profile',
    })
    const p = await kc().verify(token)
    expect(p).toMatchObject({
      kind: 'user',
      userId: userEngineId(p.issuer, 'alice'),
      subject: USER_UUID,
      tenantIds: ['globex'],
    })
    expect(p.groupIds).toEqual(['camundaadmin', toEngineId('teams/ops'), 'clerk', 'approver'])
    expect(p.admin).toBe(true)
  })

  it('falls back to sub (a UUID) mapped into the engine pattern', async () => {
    const token = await idp.sign({ iss: KC, aud: 'engine-rest', sub: USER_UUID, azp: 'acme' })
    const p = await kc().verify(token)
    expect(p.userId).toBe(userEngineId(p.issuer, USER_UUID))
    expect(p.userId).toMatch(/^[a-zA-Z0-9]+$/)
  })

  it('reads Keycloak 26 organization claims (array or object keyed by alias) in claim mode', async () => {
    const a = make({
      issuer: KC,
      audience: 'engine-rest',
      preset: 'keycloak',
      tenantMode: 'claim',
      tenantClaim: 'organization',
    })
    const base = {
      iss: KC,
      aud: 'engine-rest',
      sub: USER_UUID,
      azp: 'web',
      preferred_username: 'olga',
    }
    const list = await a.verify(await idp.sign({ ...base, organization: ['acme', 'evil'] }))
    expect(list.tenantIds).toEqual(['acme'])
    const obj = await a.verify(
      await idp.sign({ ...base, organization: { globex: { id: '42' }, initech: {} } }),
    )
    expect(obj.tenantIds).toEqual(['globex', 'initech'])
  })
})

describe('gateway admin detection', () => {
  const ADMIN_ID = toEngineId('camunda-admin')
  const user = {
    iss: KC,
    aud: 'engine-rest',
    sub: USER_UUID,
    preferred_username: 'mallory',
  }
  const kcAdmin = (
    claims: IssuerOptions['claims'] = {},
    over: Partial<AuthenticatorOptions> = {},
  ) =>
    make(
      { issuer: KC, audience: 'engine-rest', preset: 'keycloak', claims },
      { adminGroups: [ADMIN_ID], ...over },
    )

  it('never makes an admin from client roles (resource_access.{clientId}.roles), which a tenant controls', async () => {
    const a = kcAdmin()
    const inTenant = await a.verify(
      await idp.sign({
        ...user,
        azp: 'acme',
        resource_access: { acme: { roles: ['camunda-admin'] } },
      }),
    )
    // Still a group for engine authorizations, but no gateway admin.
    expect(inTenant.groupIds).toEqual([ADMIN_ID])
    expect(inTenant.admin).toBe(false)
    // A client outside every tenant gets no admin bypass either.
    const err = await rejection(
      a.verify(
        await idp.sign({
          ...user,
          azp: 'rogue',
          resource_access: { rogue: { roles: ['camunda-admin'] } },
        }),
      ),
    )
    expect(err).toMatchObject({ code: 'C7AUTH_TENANT_UNKNOWN', status: 403 })
  })

  it('never makes an admin from {audience} roles either', async () => {
    const a = kcAdmin({ groupClaims: ['groups', 'resource_access.{audience}.roles'] })
    const p = await a.verify(
      await idp.sign({
        ...user,
        azp: 'acme',
        resource_access: { 'engine-rest': { roles: ['camunda-admin'] } },
      }),
    )
    expect(p).toMatchObject({ groupIds: [ADMIN_ID], admin: false })
  })

  it('makes an admin from realm roles and groups, matching raw names or engine ids', async () => {
    const realm = await kcAdmin().verify(
      await idp.sign({ ...user, azp: 'rogue', realm_access: { roles: ['camunda-admin'] } }),
    )
    expect(realm).toMatchObject({ admin: true, tenantIds: [], groupIds: [ADMIN_ID] })
    const raw = kcAdmin({}, { adminGroups: ['camunda-admin'] })
    const group = await raw.verify(
      await idp.sign({ ...user, azp: 'acme', groups: ['/camunda-admin'] }),
    )
    expect(group.admin).toBe(true)
    const lookalike = await raw.verify(
      await idp.sign({ ...user, azp: 'acme', groups: ['camundaadmin'] }),
    )
    expect(lookalike.admin).toBe(false)
  })

  it('reads admin groups only from claims.adminGroupClaims when set', async () => {
    const onlyGroups = kcAdmin({ adminGroupClaims: ['groups'] })
    const viaRealm = await onlyGroups.verify(
      await idp.sign({ ...user, azp: 'acme', realm_access: { roles: ['camunda-admin'] } }),
    )
    expect(viaRealm).toMatchObject({ groupIds: [ADMIN_ID], admin: false })
    const viaGroups = await onlyGroups.verify(
      await idp.sign({ ...user, azp: 'acme', groups: ['camunda-admin'] }),
    )
    expect(viaGroups.admin).toBe(true)
    // A literal client path the operator owns is allowed.
    const literal = kcAdmin({ adminGroupClaims: ['resource_access.engine-rest.roles'] })
    const viaLiteral = await literal.verify(
      await idp.sign({
        ...user,
        azp: 'acme',
        resource_access: { 'engine-rest': { roles: ['camunda-admin'] } },
      }),
    )
    expect(viaLiteral.admin).toBe(true)
    const never = kcAdmin({ adminGroupClaims: [] })
    const none = await never.verify(
      await idp.sign({ ...user, azp: 'acme', groups: ['camunda-admin'] }),
    )
    expect(none).toMatchObject({ groupIds: [ADMIN_ID], admin: false })
  })

  it('refuses adminGroupClaims with {clientId} or {audience} at startup', () => {
    for (const path of ['resource_access.{clientId}.roles', 'resource_access.{audience}.roles']) {
      expect(() =>
        createAuthenticator({
          issuers: [
            {
              issuer: KC,
              audience: 'engine-rest',
              jwksUri: idp.jwksUri,
              claims: { adminGroupClaims: ['groups', path] },
            },
          ],
          tenants: ['acme'],
        }),
      ).toThrow(/issuers\[0\]\.claims\.adminGroupClaims may not contain/)
    }
  })

  it('does not make an admin from default groups', async () => {
    const a = make(
      { issuer: KC, audience: 'engine-rest', preset: 'keycloak' },
      {
        adminGroups: ['ops'],
        defaultGroups: { user: ['ops'] },
        tenants: [{ id: 'acme', defaultGroups: ['ops'] }],
      },
    )
    const p = await a.verify(await idp.sign({ ...user, azp: 'acme' }))
    expect(p).toMatchObject({ groupIds: ['ops'], admin: false })
  })
})

describe('auth0 preset', () => {
  const a0 = () => make({ issuer: AUTH0, audience: 'https://engine.acme.com', preset: 'auth0' })

  it('maps an @clients client-credentials token (gty) to an app', async () => {
    const token = await idp.sign({
      iss: AUTH0,
      aud: 'https://engine.acme.com',
      sub: 'Xq3Pk9acme@clients',
      azp: 'initech',
      gty: 'client-credentials',
      scope: 'engine:read',
    })
    const p = await a0().verify(token)
    expect(p).toMatchObject({
      kind: 'app',
      userId: 'initech',
      tenantIds: ['initech'],
      subject: 'Xq3Pk9acme@clients',
    })
  })

  it('maps a user with a pipe in sub deterministically into the pattern', async () => {
    const token = await idp.sign({
      iss: AUTH0,
      aud: ['https://engine.acme.com', 'https://acme.eu.auth0.com/userinfo'],
      sub: 'auth0|5f7c8ec7c33c6c004bbafe82',
      azp: 'acme',
      scope: 'openid engine:read',
      permissions: ['engine:read'],
    })
    const p = await a0().verify(token)
    expect(p.kind).toBe('user')
    expect(p.userId).toBe(userEngineId(p.issuer, 'auth0|5f7c8ec7c33c6c004bbafe82'))
    expect(p.userId.startsWith('auth05f7c8ec7c33c6c004bb')).toBe(true)
    expect(p.groupIds).toEqual([toEngineId('engine:read')])
  })

  it('uses org_id in claim mode, filtered by the tenant list', async () => {
    const a = make(
      {
        issuer: AUTH0,
        audience: 'https://engine.acme.com',
        preset: 'auth0',
        tenantMode: 'claim',
        tenantClaim: 'org_id',
      },
      {},
    )
    const ok = await a.verify(
      await idp.sign({
        iss: AUTH0,
        aud: 'https://engine.acme.com',
        sub: 'auth0|1',
        azp: 'x',
        org_id: 'globex',
      }),
    )
    expect(ok.tenantIds).toEqual(['globex'])
    const err = await rejection(
      a.verify(
        await idp.sign({
          iss: AUTH0,
          aud: 'https://engine.acme.com',
          sub: 'auth0|1',
          azp: 'x',
          org_id: 'org_Evil',
        }),
      ),
    )
    expect(err).toMatchObject({ code: 'C7AUTH_TENANT_UNKNOWN', status: 403 })
  })
})

describe('entra preset', () => {
  /** The claims every v2 token of the acme directory carries. */
  const V2_TOKEN = {
    iss: `https://login.microsoftonline.com/${TID}/v2.0`,
    aud: 'api://engine',
    tid: TID,
  }
  const entra = (extra: Partial<IssuerOptions> = {}) =>
    make({
      issuer: ENTRA_V2,
      audience: 'api://engine',
      preset: 'entra',
      tenantMode: 'claim',
      tenantClaim: 'tid',
      tenantClaimMap: { [TID]: 'acme' },
      allowedTenantIds: [TID],
      ...extra,
    })

  it('maps a v2 app-only token (idtyp=app, azp, roles) with a templated multi-tenant issuer', async () => {
    const token = await idp.sign({
      ...V2_TOKEN,
      azp: '1b7c6a4e-0000-4000-8000-00000000aaaa',
      azpacr: '1',
      oid: '9d2e0c4e-1111-4111-8111-111111111111',
      sub: '9d2e0c4e-1111-4111-8111-111111111111',
      idtyp: 'app',
      roles: ['Engine.Write'],
      ver: '2.0',
    })
    const p = await entra().verify(token)
    expect(p).toMatchObject({
      kind: 'app',
      tenantIds: ['acme'],
      clientId: '1b7c6a4e-0000-4000-8000-00000000aaaa',
    })
    expect(p.userId).toBe(toEngineId('1b7c6a4e-0000-4000-8000-00000000aaaa'))
    expect(p.groupIds).toEqual([toEngineId('Engine.Write')])
  })

  it('maps a v2 user token by oid, with scp scopes', async () => {
    const token = await idp.sign({
      ...V2_TOKEN,
      azp: 'spa-client',
      oid: '0f0e0d0c-2222-4222-8222-222222222222',
      sub: 'AAAAAAAAAAAAAAAAAAAAAIkzqFVrSaSaFHy782bbtaQ',
      preferred_username: 'alice@acme.onmicrosoft.com',
      scp: 'Engine.Read Engine.Write',
      groups: ['a1b2c3d4-3333-4333-8333-333333333333'],
      ver: '2.0',
    })
    const p = await entra().verify(token)
    expect(p).toMatchObject({
      kind: 'user',
      tenantIds: ['acme'],
      scopes: ['Engine.Read', 'Engine.Write'],
    })
    expect(p.userId).toBe(userEngineId(p.issuer, '0f0e0d0c-2222-4222-8222-222222222222'))
  })

  it('maps a v1 app token (appid, no scp, sub = oid) from sts.windows.net', async () => {
    const a = make({
      issuer: ENTRA_V1,
      audience: 'api://engine',
      preset: 'entra',
      tenantMode: 'claim',
      tenantClaim: 'tid',
      tenantClaimMap: { [TID]: 'globex' },
      allowedTenantIds: [TID],
    })
    const token = await idp.sign({
      iss: `https://sts.windows.net/${TID}/`,
      aud: 'api://engine',
      tid: TID,
      appid: 'legacy-daemon',
      appidacr: '1',
      oid: '77777777-7777-4777-8777-777777777777',
      sub: '77777777-7777-4777-8777-777777777777',
      roles: ['Engine.Read'],
      ver: '1.0',
    })
    const p = await a.verify(token)
    expect(p).toMatchObject({
      kind: 'app',
      userId: toEngineId('legacy-daemon'),
      clientId: 'legacy-daemon',
      tenantIds: ['globex'],
    })
  })

  it('refuses a templated iss whose tenant differs from the tid claim', async () => {
    const token = await idp.sign({
      iss: `https://login.microsoftonline.com/${TID}/v2.0`,
      aud: 'api://engine',
      tid: '00000000-0000-4000-8000-000000000000',
      azp: 'x',
      idtyp: 'app',
    })
    expect(await rejection(entra().verify(token))).toMatchObject({ code: 'C7AUTH_ISSUER_UNKNOWN' })
  })

  it('honours allowedTenantIds for templated issuers', async () => {
    const token = await idp.sign({
      ...V2_TOKEN,
      azp: 'x',
      idtyp: 'app',
    })
    const a = entra({ allowedTenantIds: ['11111111-1111-4111-8111-111111111111'] })
    expect(await rejection(a.verify(token))).toMatchObject({ code: 'C7AUTH_ISSUER_UNKNOWN' })
  })

  it('accepts only the allowed directories of a templated issuer', async () => {
    const OTHER = '33333333-3333-4333-8333-333333333333'
    const a = entra({ tenantClaimMap: { [TID]: 'acme', [OTHER]: 'globex' } })
    const signed = (tid: string) =>
      idp.sign({
        iss: `https://login.microsoftonline.com/${tid}/v2.0`,
        aud: 'api://engine',
        tid,
        azp: 'x',
        idtyp: 'app',
      })
    await expect(a.verify(await signed(TID))).resolves.toMatchObject({ tenantIds: ['acme'] })
    // A correctly signed token of another directory, even one the tenant map knows, is refused.
    expect(await rejection(a.verify(await signed(OTHER)))).toMatchObject({
      code: 'C7AUTH_ISSUER_UNKNOWN',
      status: 401,
    })
  })

  it('refuses a templated issuer without allowedTenantIds at startup (fail closed)', () => {
    for (const allowed of [undefined, [], ['']]) {
      try {
        createAuthenticator({
          issuers: [
            {
              issuer: ENTRA_V2,
              audience: 'api://engine',
              jwksUri: idp.jwksUri,
              ...(allowed === undefined ? {} : { allowedTenantIds: allowed }),
            },
          ],
          tenants: ['acme'],
        })
        expect.unreachable()
      } catch (err) {
        expect(err).toMatchObject({
          code: 'C7AUTH_CONFIG_INVALID',
          issues: [
            'issuers[0].allowedTenantIds is required for a templated issuer (non-empty list of directory ids)',
          ],
        })
      }
    }
  })
})

describe('okta preset', () => {
  const okta = () => make({ issuer: OKTA, audience: 'api://default', preset: 'okta' })

  it('maps a client-credentials token (cid = sub, scp array) to an app', async () => {
    const token = await idp.sign({
      iss: OKTA,
      aud: 'api://default',
      ver: 1,
      jti: 'AT.x',
      cid: 'acme',
      sub: 'acme',
      scp: ['engine:read', 'engine:write'],
    })
    const p = await okta().verify(token)
    expect(p).toMatchObject({
      kind: 'app',
      userId: 'acme',
      tenantIds: ['acme'],
      scopes: ['engine:read', 'engine:write'],
    })
  })

  it('maps a user token (uid, e-mail sub, groups) to a user', async () => {
    const token = await idp.sign({
      iss: OKTA,
      aud: 'api://default',
      cid: 'globex',
      uid: '00u1abcdEFGH2ijk3',
      sub: 'bob@example.com',
      scp: ['openid', 'engine:read'],
      groups: ['Everyone', 'camunda-ops'],
    })
    const p = await okta().verify(token)
    expect(p).toMatchObject({ kind: 'user', tenantIds: ['globex'], clientId: 'globex' })
    expect(p.userId).toBe(userEngineId(p.issuer, 'bob@example.com'))
    expect(p.groupIds).toEqual(['Everyone', toEngineId('camunda-ops')])
  })
})

describe('generic preset and overrides', () => {
  const ISS = 'https://idp.example.com'

  it('filters groups by prefix and strips it, and adds default groups per kind', async () => {
    const a = make(
      {
        issuer: ISS,
        audience: 'engine',
        claims: { groupPrefix: 'camunda-', stripGroupPrefix: true },
      },
      { defaultGroups: { user: ['users'], app: ['apps'] } },
    )
    const p = await a.verify(
      await idp.sign({
        iss: ISS,
        aud: 'engine',
        sub: 'carol',
        azp: 'acme',
        groups: ['camunda-ops', 'hr', 'camunda-audit'],
      }),
    )
    expect(p.groupIds).toEqual(['users', 'ops', 'audit'])
  })

  it('filters groups by pattern', async () => {
    const a = make({ issuer: ISS, audience: 'engine', claims: { groupPattern: '^team-[a-z]+$' } })
    const p = await a.verify(
      await idp.sign({
        iss: ISS,
        aud: 'engine',
        sub: 'c',
        azp: 'acme',
        roles: ['team-a', 'admin', 'team-B'],
      }),
    )
    expect(p.groupIds).toEqual([toEngineId('team-a')])
  })

  it('resolves {audience} and {clientId} placeholders in group paths', async () => {
    const a = make({
      issuer: ISS,
      audience: ['engine', 'engine-v2'],
      claims: { groupClaims: ['resource_access.{audience}.roles', 'apps.{clientId}'] },
    })
    const p = await a.verify(
      await idp.sign({
        iss: ISS,
        aud: 'engine',
        sub: 'ida',
        azp: 'acme',
        resource_access: {
          engine: { roles: ['r1'] },
          'engine-v2': { roles: ['r2'] },
          x: { roles: ['no'] },
        },
        apps: { acme: ['a1'], other: ['no'] },
      }),
    )
    expect(p.groupIds).toEqual(['r1', 'r2', 'a1'])
  })

  it('reads overridden claim paths (user id from a nested claim)', async () => {
    const a = make({ issuer: ISS, audience: 'engine', claims: { userIdClaims: ['ext.login'] } })
    const p = await a.verify(
      await idp.sign({ iss: ISS, aud: 'engine', sub: 'u-1', azp: 'acme', ext: { login: 'dave' } }),
    )
    expect(p.userId).toBe(userEngineId(ISS, 'dave'))
  })

  it('lets a user belong to several tenants in claim mode', async () => {
    const a = make({ issuer: ISS, audience: 'engine', tenantMode: 'claim', tenantClaim: 'tenants' })
    const p = await a.verify(
      await idp.sign({
        iss: ISS,
        aud: 'engine',
        sub: 'eve',
        azp: 'x',
        tenants: ['acme', 'nope', 'initech', 'acme'],
      }),
    )
    expect(p.tenantIds).toEqual(['acme', 'initech'])
  })

  it('maps app mode through configured client ids, bound to issuer and audience', async () => {
    const a = make(
      { issuer: ISS, audience: ['engine', 'other'] },
      {
        tenants: [
          { id: 'acme', clientIds: ['acme-web', 'acme-worker'], issuer: ISS },
          { id: 'globex', clientIds: ['acme-worker'], issuer: 'https://elsewhere.example.com' },
          { id: 'initech', clientIds: ['acme-worker'], audience: ['other'] },
        ],
      },
    )
    const p = await a.verify(
      await idp.sign({ iss: ISS, aud: 'engine', sub: 'acme-worker', azp: 'acme-worker' }),
    )
    expect(p.tenantIds).toEqual(['acme'])
    // A client whose id equals a tenant id with an explicit client list does not get that tenant.
    const err = await rejection(
      a.verify(await idp.sign({ iss: ISS, aud: 'engine', sub: 'acme', azp: 'acme' })),
    )
    expect(err).toMatchObject({ code: 'C7AUTH_TENANT_UNKNOWN', status: 403 })
  })

  it('puts every token of an issuer into its fixed tenant', async () => {
    const a = make({ issuer: ISS, audience: 'engine', tenantMode: 'fixed', fixedTenant: 'initech' })
    const p = await a.verify(
      await idp.sign({ iss: ISS, aud: 'engine', sub: 'frank', azp: 'whatever' }),
    )
    expect(p.tenantIds).toEqual(['initech'])
  })

  it('refuses (403) a token that maps to no configured tenant, unless admin', async () => {
    const a = make({ issuer: ISS, audience: 'engine' }, { adminGroups: ['ops'] })
    const err = await rejection(
      a.verify(await idp.sign({ iss: ISS, aud: 'engine', sub: 'g', azp: 'unknown-app' })),
    )
    expect(err).toMatchObject({ code: 'C7AUTH_TENANT_UNKNOWN', status: 403 })
    const admin = await a.verify(
      await idp.sign({ iss: ISS, aud: 'engine', sub: 'g', azp: 'unknown-app', groups: ['ops'] }),
    )
    expect(admin).toMatchObject({ admin: true, tenantIds: [] })
  })

  it('adds per-tenant default groups', async () => {
    const a = make(
      { issuer: ISS, audience: 'engine' },
      { tenants: [{ id: 'acme', defaultGroups: ['acmeStaff'] }] },
    )
    const p = await a.verify(await idp.sign({ iss: ISS, aud: 'engine', sub: 'h', azp: 'acme' }))
    expect(p.groupIds).toEqual(['acmeStaff'])
  })
})
