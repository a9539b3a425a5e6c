import { readFileSync, writeFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import * as promClient from 'prom-client'
import { describe, expect, it } from 'vitest'
import { createGatewayMetrics } from '@c7auth/gateway'
import { WORKER_METRICS } from '@c7auth/worker'

const DOC = fileURLToPath(new URL('../../docs/operations.md', import.meta.url))
const DASHBOARD = fileURLToPath(
  new URL('../../docs/dashboard/c7auth-dashboard.json', import.meta.url),
)
const START =
  '<!-- metrics-reference:start (generated from the code by test/e2e/operations-docs.test.ts) -->'
const END = '<!-- metrics-reference:end -->'

interface Row {
  name: string
  type: string
  labels: string
  help: string
}

// Gateway metrics read from a real registry; Node process defaults (c7auth_process_*, c7auth_nodejs_*) are left out.
async function exportedMetrics(): Promise<Row[]> {
  const gateway = createGatewayMetrics()
  const rows: Row[] = []
  for (const m of await gateway.registry.getMetricsAsJSON()) {
    if (/^c7auth_(process|nodejs)_/.test(m.name)) continue
    const metric = gateway.registry.getSingleMetric(m.name) as unknown as { labelNames?: string[] }
    rows.push({
      name: m.name,
      type: String(m.type),
      labels: (metric.labelNames ?? []).join(', '),
      help: m.help,
    })
  }
  for (const m of Object.values(WORKER_METRICS))
    rows.push({ name: m.name, type: m.type, labels: m.labelNames.join(', '), help: m.help })
  return rows
}

function render(rows: Row[]): string {
  const lines = ['| Metric | Type | Labels | Meaning |', '| --- | --- | --- | --- |']
  for (const r of rows) lines.push(`| \`${r.name}\` | ${r.type} | ${r.labels} | ${r.help} |`)
  return `${START}\n\n${lines.join('\n')}\n\n${END}`
}

describe('operations docs and dashboard', () => {
  it('docs/operations.md carries the metrics reference the code exports', async () => {
    const expected = render(await exportedMetrics())
    const doc = readFileSync(DOC, 'utf8')
    const at = doc.indexOf(START)
    const end = doc.indexOf(END)
    expect(at).toBeGreaterThan(-1)
    expect(end).toBeGreaterThan(at)
    const actual = doc.slice(at, end + END.length)
    // Prettier pads the table columns: compare cell contents, not padding.
    const norm = (s: string) => s.replace(/ *\| */g, '|').replace(/-{3,}/g, '---')
    // C7AUTH_UPDATE_DOCS=1 rewrites the block (run Prettier on the doc after); else drift fails.
    if (norm(actual) !== norm(expected) && process.env.C7AUTH_UPDATE_DOCS === '1')
      writeFileSync(DOC, doc.replace(actual, expected))
    else expect(norm(actual)).toBe(norm(expected))
  })

  it('every dashboard expression names only metrics the code exports', async () => {
    const names = new Set((await exportedMetrics()).map((r) => r.name))
    // worker metrics come from prom-client too: check they register under the declared names
    const registry = new promClient.Registry()
    const { createWorkerMetrics } = await import('@c7auth/worker')
    createWorkerMetrics(promClient, registry)
    const workerMetrics = await registry.getMetricsAsJSON()
    expect(workerMetrics.length).toBeGreaterThan(0) // the loop below checks something
    for (const m of workerMetrics) expect(names.has(m.name)).toBe(true)

    const dashboard = JSON.parse(readFileSync(DASHBOARD, 'utf8')) as {
      panels: { title: string; targets: { expr: string }[] }[]
    }
    const exprs = dashboard.panels.flatMap((p) => p.targets.map((t) => t.expr))
    expect(exprs.length).toBeGreaterThanOrEqual(10)
    const used = new Set<string>()
    for (const expr of exprs) {
      const refs = expr.match(/\bc7auth_[a-z0-9_]+/g) ?? []
      expect(refs.length, expr).toBeGreaterThan(0)
      for (const ref of refs) {
        const base = ref.replace(/_(bucket|sum|count)$/, '')
        const known = names.has(ref) || names.has(base)
        expect(known, `${ref} in ${expr}`).toBe(true)
        used.add(names.has(ref) ? ref : base)
      }
    }
    // the dashboard covers every c7auth metric the brief names
    for (const name of names) expect(used.has(name), name).toBe(true)
  })
})
