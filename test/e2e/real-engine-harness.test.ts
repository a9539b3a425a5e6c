/**
 * The engines every e2e suite runs against: each answers a Basic-authenticated
 * `GET /engine-rest/version`, refuses anonymous calls on every path, and (real engines) runs on its
 * own PostgreSQL database that is gone after close, with no JVM left behind.
 */
import { describe, expect, it } from 'vitest'
import pg from 'pg'
import { startCamundaEngine } from '@c7auth/testkit'
import { describeEngines, ENGINE_ADMIN, engineFetch, selectedEngines } from './engines.js'

describeEngines('engine harness', (ctx) => {
  it('admin Basic works on /version; anonymous and wrong passwords get 401 on every path', async () => {
    const { engine } = ctx
    const version = await engineFetch(engine, 'GET', '/version')
    expect(version.status).toBe(200)
    expect((version.json as { version: string }).version).toMatch(/^\d+\.\d+\.\d+/)
    for (const path of ['/version', '/task', '/engine/default/task', '/user']) {
      const anonymous = await fetch(`${engine.url}${path}`)
      await anonymous.arrayBuffer()
      expect(anonymous.status, path).toBe(401)
      const wrong = await engineFetch(engine, 'GET', path, undefined, {
        // not the admin: failed logins throttle the account (ENGINE-03xxx back-off)
        id: 'nobody',
        password: 'not-the-password',
      })
      expect(wrong.status, path).toBe(401)
    }
    const groups = await engineFetch(engine, 'GET', `/group?member=${engine.admin.id}`)
    expect((groups.json as { id: string }[]).map((g) => g.id)).toContain(engine.adminGroup)
  })
})

// PostgreSQL lifecycle; skipped when the real engines run on H2 (C7AUTH_TEST_ENGINE_DATABASE=h2)
describe.runIf(
  selectedEngines().includes('camunda7') && process.env.C7AUTH_TEST_ENGINE_DATABASE !== 'h2',
)('real engine lifecycle [camunda7]', () => {
  it('close() stops the JVM and drops its database', async () => {
    const postgresUrl =
      process.env.C7AUTH_TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test'
    const engine = await startCamundaEngine({
      flavor: 'camunda7',
      adminUser: { ...ENGINE_ADMIN },
      postgresUrl,
    })
    const dbName = engine.databaseName
    expect(dbName).not.toBeNull()
    const exists = async (): Promise<boolean> => {
      const client = new pg.Client({ connectionString: postgresUrl })
      await client.connect()
      try {
        const r = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [dbName])
        return r.rowCount === 1
      } finally {
        await client.end()
      }
    }
    expect(await exists()).toBe(true)
    await engine.close()
    expect(await exists()).toBe(false)
    await expect(fetch(`${engine.url}/version`)).rejects.toThrow()
  }, 240_000)
})
