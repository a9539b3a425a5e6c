/**
 * The demo story (`pnpm demo`, `examples/demo/demo.ts`) as users run it: a separate process whose
 * exit code says whether every step of the story held. On each selected engine (the simulator and
 * the real Camunda 7.24 and Operaton, `C7AUTH_TEST_ENGINES`) through `DEMO_ENGINE_*`; on the
 * simulator also the default, self-contained `pnpm demo`. Afterwards the engine itself (read as its
 * admin, not through the demo) shows the story's end state.
 */
import { fileURLToPath } from 'node:url'
import { expect, it } from 'vitest'
import { describeEngines, engineAdmin } from './engines.js'
import { spawnTsx } from './tsx-process.js'

const DEMO = fileURLToPath(new URL('../../examples/demo/demo.ts', import.meta.url))

/** Runs the demo to its end; the test's timeout bounds a demo that hangs. */
async function runDemo(
  env: Record<string, string>,
): Promise<{ code: number | null; output: string }> {
  const proc = spawnTsx(DEMO, env)
  try {
    const [code] = await proc.exited
    return { code, output: proc.output() }
  } finally {
    proc.kill()
  }
}

/** What every successful run prints, whatever the engine. */
function expectStory(run: { code: number | null; output: string }): void {
  expect(run.output).not.toContain('DEMO FAILED')
  expect(run.code, run.output).toBe(0)
  expect(run.output).toContain('Basic-authenticated users "acme", "globex"')
  expect(run.output).toMatch(/404 "No matching task with id [\w-]+" — refused/)
  expect(run.output).toContain('403 C7AUTH_ADMIN_ONLY')
  expect(run.output).toMatch(/tenant "acme", acting user "alice[a-z2-7]{33}"/)
  expect(run.output).toContain('Demo finished')
  // never a token in what the demo prints
  expect(run.output).not.toMatch(/eyJ[\w-]+\.[\w-]+\./)
}

const RUN_TIMEOUT_MS = 180_000

describeEngines('demo story (pnpm demo)', (ctx) => {
  it(
    'runs the whole story against the engine named by DEMO_ENGINE_*',
    async () => {
      const { engine } = ctx
      const run = await runDemo({
        DEMO_ENGINE_URL: engine.url,
        DEMO_ENGINE_ADMIN_USER: engine.admin.id,
        DEMO_ENGINE_ADMIN_PASSWORD: engine.admin.password,
        DEMO_ENGINE_ADMIN_GROUP: engine.adminGroup,
      })
      expectStory(run)
      expect(run.output).toContain(`engine (${new URL(engine.url).host})`)

      // The engine's own record: acme's order went through, globex's waits for approval.
      type Instance = { state: string; tenantId: string; startUserId: string }
      const [acme] = await engineAdmin<Instance[]>(
        engine,
        'GET',
        '/history/process-instance?processInstanceBusinessKey=acme-order-1',
      )
      const [globex] = await engineAdmin<Instance[]>(
        engine,
        'GET',
        '/history/process-instance?processInstanceBusinessKey=globex-order-1',
      )
      expect(acme).toMatchObject({ state: 'COMPLETED', tenantId: 'acme', startUserId: 'acme' })
      expect(globex).toMatchObject({ state: 'ACTIVE', tenantId: 'globex', startUserId: 'globex' })
      const open = await engineAdmin<{ tenantId: string; name: string }[]>(
        engine,
        'GET',
        '/task?processDefinitionKey=orderApproval',
      )
      expect(open.map((t) => [t.tenantId, t.name])).toEqual([['globex', 'Approve order']])
    },
    RUN_TIMEOUT_MS,
  )

  if (ctx.name === 'simulator') {
    it(
      'runs self-contained by default (its own simulator)',
      async () => {
        const run = await runDemo({})
        expectStory(run)
        expect(run.output).toContain('engine (simulator)')
      },
      RUN_TIMEOUT_MS,
    )
  }
})
