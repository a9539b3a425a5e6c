/**
 * Token verification cost: µs per `verify()` — cold (new authenticator: discovery + JWKS fetch +
 * key import + verify), warm (keys cached, full signature and claims check and mapping), and a
 * verified-token cache hit. Tokens and keys come from the real testkit IdP.
 * Run: `pnpm exec tsx test/bench/verify.bench.ts` (or import `benchVerify` from a bench runner).
 */
import { createPublicKey, verify as cryptoVerify } from 'node:crypto'
import { pathToFileURL } from 'node:url'
import { jwtVerify } from 'jose'
import { createAuthenticator } from '@c7auth/gateway'
import type { AuthenticatorOptions } from '@c7auth/gateway'
import { startTestIdp } from '@c7auth/testkit'
import type { TestIdpSigningAlg } from '@c7auth/testkit'

/** One measured case. */
export interface BenchResult {
  readonly name: string
  readonly iterations: number
  readonly microsPerOp: number
}

/**
 * Runs the cases interleaved in rounds and reports each one's median round, so that load from
 * other processes hits every case alike (the machines these run on are shared and noisy).
 */
async function compare(
  cases: readonly (readonly [string, () => Promise<unknown>, number])[],
  rounds = 9,
): Promise<BenchResult[]> {
  const samples = cases.map(() => [] as number[])
  for (const [, fn, n] of cases) for (let i = 0; i < Math.min(n, 1_000); i++) await fn()
  for (let r = 0; r < rounds; r++) {
    for (const [i, [, fn, n]] of cases.entries()) {
      const start = process.hrtime.bigint()
      for (let k = 0; k < n; k++) await fn()
      samples[i]!.push(Number(process.hrtime.bigint() - start) / n / 1000)
    }
  }
  return cases.map(([name, , n], i) => {
    const sorted = samples[i]!.sort((a, b) => a - b)
    return { name, iterations: n * rounds, microsPerOp: sorted[Math.floor(sorted.length / 2)]! }
  })
}

/** Measures verification for RS256 and ES256 tokens from the testkit IdP. */
export async function benchVerify(): Promise<BenchResult[]> {
  const results: BenchResult[] = []
  for (const alg of ['RS256', 'ES256'] as TestIdpSigningAlg[]) {
    const idp = await startTestIdp({ signingAlg: alg })
    try {
      const options = (cache: boolean): AuthenticatorOptions => ({
        issuers: [{ issuer: idp.issuer, audience: idp.defaultAudience, preset: 'keycloak' }],
        tenants: ['acme'],
        cache: cache ? {} : false,
      })
      const token = await idp.issueUserToken({
        sub: 'f47ac10b-58cc-4372-a567-0e02b2c3d479',
        clientId: 'acme',
        claims: {
          preferred_username: 'alice',
          realm_access: { roles: ['clerk', 'offline_access'] },
          groups: ['/teams/ops'],
        },
      })

      const fresh = async () => {
        const a = createAuthenticator(options(false))
        await a.verify(token)
        a.close()
      }
      // Baselines on the same machine and moment, to read the rows as ratios.
      const key = createPublicKey({ key: idp.publicJwks().keys[0] as never, format: 'jwk' })
      const dot = token.lastIndexOf('.')
      const input = Buffer.from(token.slice(0, dot))
      const sig = Buffer.from(token.slice(dot + 1), 'base64url')
      const sigOpts = alg === 'ES256' ? { key, dsaEncoding: 'ieee-p1363' as const } : key
      const warm = createAuthenticator(options(false))
      const cached = createAuthenticator(options(true))
      await warm.verify(token)
      await cached.verify(token)
      results.push(
        ...(await compare([
          [`${alg} cold (discovery + JWKS over HTTP + import + verify)`, fresh, 10],
          [
            `${alg} warm (cached keys: full verify + claims + map)`,
            () => warm.verify(token),
            2_000,
          ],
          [`${alg} verified-token cache hit`, () => cached.verify(token), 20_000],
          [
            `${alg} baseline: node:crypto.verify only (KeyObject)`,
            async () => cryptoVerify('sha256', input, sigOpts, sig),
            2_000,
          ],
          [
            `${alg} baseline: jose jwtVerify (KeyObject)`,
            () => jwtVerify(token, key, { issuer: idp.issuer, audience: idp.defaultAudience }),
            2_000,
          ],
        ])),
      )
      warm.close()
      cached.close()
    } finally {
      await idp.close()
    }
  }
  return results
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const rows = await benchVerify()
  console.log('| case | iterations | µs/op |\n|---|---:|---:|')
  for (const r of rows) console.log(`| ${r.name} | ${r.iterations} | ${r.microsPerOp.toFixed(2)} |`)
}
