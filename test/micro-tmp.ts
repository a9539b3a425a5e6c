import { startTestIdp } from '@c7auth/testkit'
import { decodeJws } from '../packages/gateway/src/auth/jws.js'
import { mapClaims } from '../packages/gateway/src/auth/identity-mapper.js'
import { resolveClaimMapping } from '../packages/gateway/src/auth/presets.js'
import { createEngineIdMapper } from '../packages/gateway/src/auth/engine-id.js'
import { TokenCache } from '../packages/gateway/src/auth/token-cache.js'
const idp = await startTestIdp()
const token = await idp.issueUserToken({ sub: 'f47ac10b-58cc-4372-a567-0e02b2c3d479', clientId: 'acme', claims: { preferred_username: 'alice', realm_access: { roles: ['clerk', 'offline_access'] }, groups: ['/teams/ops'] } })
const jws = decodeJws(token)!
const issuer = { issuer: idp.issuer, audience: [idp.defaultAudience], claims: resolveClaimMapping('keycloak'), tenantMode: 'app' as const, tenantClaim: ['tenant'], tenantClaimMap: undefined, fixedTenant: undefined }
const ctx = { tenants: [{ id: 'acme' }], toEngineId: createEngineIdMapper(), adminGroups: new Set<string>(), defaultGroups: { app: [], user: [] }, realm: 'x' }
const time = (name: string, fn: () => unknown, n = 20000) => { for (let i = 0; i < 2000; i++) fn(); const t = process.hrtime.bigint(); for (let i = 0; i < n; i++) fn(); console.log(name, (Number(process.hrtime.bigint() - t) / n / 1000).toFixed(2)) }
for (let r = 0; r < 3; r++) {
  time('decodeJws', () => decodeJws(token))
  time('mapClaims', () => mapClaims(jws.payload, issuer, ctx, idp.issuer))
  time('keyOf', () => TokenCache.keyOf(token))
  time('await', async () => { await Promise.resolve(1) })
}
await idp.close()
