/**
 * Token client cost against the real test IdP: token requests caused by N concurrent cold calls
 * (single-flight) and µs per warm `getToken()` (cache hit).
 * Run: `pnpm exec tsx test/bench/token-client.bench.ts` (or import `benchTokenClient`).
 */
import { pathToFileURL } from 'node:url'
import { createTokenClient } from '@c7auth/core'
import { startTestIdp } from '@c7auth/testkit'

/** One measured case. */
export interface BenchResult {
  readonly name: string
  readonly iterations: number
  readonly microsPerOp: number
  /** Token requests the case caused at the IdP (single-flight cases). */
  readonly tokenRequests?: number
}

export async function benchTokenClient(): Promise<BenchResult[]> {
  const idp = await startTestIdp({ clients: [{ clientId: 'bench', clientSecret: 'bench-secret' }] })
  const results: BenchResult[] = []
  try {
    for (const n of [1_000, 10_000]) {
      const client = createTokenClient({
        issuer: idp.issuer,
        clientId: 'bench',
        clientSecret: 'bench-secret',
      })
      idp.resetCounts()
      const start = process.hrtime.bigint()
      await Promise.all(Array.from({ length: n }, () => client.getToken()))
      const ns = Number(process.hrtime.bigint() - start)
      results.push({
        name: `${n} concurrent cold getToken()`,
        iterations: n,
        microsPerOp: ns / n / 1000,
        tokenRequests: idp.counts.token,
      })
      client.close()
    }
    const client = createTokenClient({
      issuer: idp.issuer,
      clientId: 'bench',
      clientSecret: 'bench-secret',
      onEvent: () => undefined,
    })
    for (const [name, params] of [
      ['warm getToken()', undefined],
      ['warm getToken({ audience })', { audience: idp.defaultAudience }],
    ] as const) {
      const iterations = 200_000
      for (let i = 0; i < 20_000; i++) await client.getToken(params)
      const start = process.hrtime.bigint()
      for (let i = 0; i < iterations; i++) await client.getToken(params)
      const ns = Number(process.hrtime.bigint() - start)
      results.push({ name, iterations, microsPerOp: ns / iterations / 1000 })
    }
    client.close()
  } finally {
    await idp.close()
  }
  return results
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  for (const r of await benchTokenClient()) {
    const extra = r.tokenRequests !== undefined ? `, ${r.tokenRequests} token request(s)` : ''
    console.log(`${r.name}: ${r.microsPerOp.toFixed(2)} µs/op${extra}`)
  }
}
