// Renders docs/dashboard/c7auth-dashboard.png from a real run: the testkit IdP and engine
// simulator behind a real gateway, a short mixed load (valid calls, missing and forged tokens),
// /metrics scraped every 2 s, and the gateway panels drawn as SVG, rasterised with Debian's
// rsvg-convert (apt-get install librsvg2-bin). Run: pnpm exec tsx test/dashboard/render-dashboard.ts
import { execFileSync } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { pino } from 'pino'
import { loadConfigFromEnv } from '@c7auth/core'
import { createGatewayServer } from '@c7auth/gateway'
import { startEngineSimulator, startTestIdp } from '@c7auth/testkit'

const OUT = fileURLToPath(new URL('../../docs/dashboard/c7auth-dashboard.png', import.meta.url))
const SCRAPES = 12
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

type Sample = Map<string, number>

function parse(text: string): Sample {
  const s: Sample = new Map()
  for (const line of text.split('\n')) {
    if (line.startsWith('#') || line.trim() === '') continue
    const at = line.lastIndexOf(' ')
    s.set(line.slice(0, at), Number(line.slice(at + 1)))
  }
  return s
}

const idp = await startTestIdp({
  clients: [
    { clientId: 'acme', clientSecret: 'acme-secret', tenant: 'acme' },
    { clientId: 'globex', clientSecret: 'globex-secret', tenant: 'globex' },
  ],
})
const engine = await startEngineSimulator()
const config = loadConfigFromEnv({
  C7AUTH_TENANTS: 'acme,globex',
  C7AUTH_ENGINE_URL: engine.url,
  C7AUTH_ENGINE_AUTH: 'bridge',
  C7AUTH_ENGINE_ADMIN_USER: 'admin',
  C7AUTH_ENGINE_ADMIN_PASSWORD: 'admin',
  C7AUTH_BRIDGE_SECRET: 'dashboard-render-bridge-secret-0123456789',
  C7AUTH_GATEWAY_HOST: '127.0.0.1',
  C7AUTH_GATEWAY_PORT: '0',
  C7AUTH_TENANT_ACME_ISSUER: idp.issuer,
  C7AUTH_TENANT_ACME_AUDIENCE: idp.defaultAudience,
  C7AUTH_TENANT_ACME_ALLOWED_CLIENTS: 'acme',
  C7AUTH_TENANT_GLOBEX_ISSUER: idp.issuer,
  C7AUTH_TENANT_GLOBEX_AUDIENCE: idp.defaultAudience,
  C7AUTH_TENANT_GLOBEX_ALLOWED_CLIENTS: 'globex',
})
const gateway = await createGatewayServer({ config, logger: pino({ level: 'silent' }) })

async function token(id: string): Promise<string> {
  const res = await fetch(idp.tokenEndpoint, {
    method: 'POST',
    headers: {
      authorization: `Basic ${Buffer.from(`${id}:${id}-secret`).toString('base64')}`,
      'content-type': 'application/x-www-form-urlencoded',
    },
    body: new URLSearchParams({ grant_type: 'client_credentials', scope: 'engine:read' }),
  })
  return ((await res.json()) as { access_token: string }).access_token
}

const tokens = { acme: await token('acme'), globex: await token('globex') }
const paths = ['/process-definition', '/task', '/external-task', '/process-instance', '/job']
const scrapes: Sample[] = []
for (let i = 0; i < SCRAPES; i++) {
  const calls: Promise<unknown>[] = []
  const n = 20 + 15 * Math.sin(i / 2)
  for (let k = 0; k < n; k++) {
    const t = k % 3 === 0 ? tokens.globex : tokens.acme
    calls.push(
      fetch(`${gateway.url}/engine-rest${paths[k % paths.length]}`, {
        headers: { authorization: `Bearer ${t}` },
      }).then((r) => r.arrayBuffer()),
    )
  }
  for (let k = 0; k < (i % 4) + 1; k++) {
    calls.push(fetch(`${gateway.url}/engine-rest/task`).then((r) => r.arrayBuffer()))
    calls.push(
      fetch(`${gateway.url}/engine-rest/task`, {
        headers: { authorization: `Bearer ${tokens.acme.slice(0, -4)}AAAA` },
      }).then((r) => r.arrayBuffer()),
    )
  }
  await Promise.all(calls)
  scrapes.push(parse(await (await fetch(`${gateway.url}/metrics`)).text()))
  await sleep(2000)
}
await gateway.close()
await engine.close()
await idp.close()

// ---- series: per-interval rates (counters) and p95 (histograms) between consecutive scrapes
type Series = Map<string, number[]>
function rates(prefix: string, label: (key: string) => string): Series {
  const out: Series = new Map()
  for (let i = 1; i < scrapes.length; i++) {
    const sums = new Map<string, number>()
    for (const [k, v] of scrapes[i]!) {
      if (!k.startsWith(`${prefix}{`)) continue
      const l = label(k)
      sums.set(l, (sums.get(l) ?? 0) + (v - (scrapes[i - 1]!.get(k) ?? 0)) / 2)
    }
    for (const [l, v] of sums) {
      const arr = out.get(l) ?? new Array<number>(i - 1).fill(0)
      arr.push(v)
      out.set(l, arr)
    }
  }
  return out
}
const lbl = (k: string, names: string[]) =>
  names.map((n) => new RegExp(`${n}="([^"]*)"`).exec(k)?.[1] ?? '').join(' ')
function p95(prefix: string, group: string[]): Series {
  const out: Series = new Map()
  for (let i = 1; i < scrapes.length; i++) {
    const buckets = new Map<string, [number, number][]>()
    for (const [k, v] of scrapes[i]!) {
      if (!k.startsWith(`${prefix}_bucket{`)) continue
      const le = Number(/le="([^"]*)"/.exec(k)![1]!.replace('+Inf', 'Infinity'))
      const g = lbl(k, group)
      const list = buckets.get(g) ?? []
      list.push([le, v - (scrapes[i - 1]!.get(k) ?? 0)])
      buckets.set(g, list)
    }
    for (const [g, list] of buckets) {
      list.sort((a, b) => a[0] - b[0])
      const total = list[list.length - 1]![1]
      const hit = list.find(([, c]) => c >= 0.95 * total)
      const v = total === 0 || hit === undefined || !Number.isFinite(hit[0]) ? 0 : hit[0]
      const arr = out.get(g) ?? new Array<number>(i - 1).fill(0)
      arr.push(v * 1000)
      out.set(g, arr)
    }
  }
  return out
}

const panels: { title: string; unit: string; series: Series }[] = [
  {
    title: 'Requests by tenant and outcome (req/s)',
    unit: '/s',
    series: rates('c7auth_requests_total', (k) => lbl(k, ['tenant', 'outcome'])),
  },
  {
    title: 'Token verification p95 by result (ms, bucket bound)',
    unit: 'ms',
    series: p95('c7auth_token_verification_seconds', ['result']),
  },
  {
    title: 'Upstream latency p95 by operation and status (ms, bucket bound)',
    unit: 'ms',
    series: p95('c7auth_upstream_seconds', ['operation', 'status']),
  },
  {
    title: 'JWKS refreshes by result (/s)',
    unit: '/s',
    series: rates('c7auth_jwks_refreshes_total', (k) => lbl(k, ['result'])),
  },
  {
    title: 'Bridge provisioning calls by kind (/s)',
    unit: '/s',
    series: rates('c7auth_bridge_provisioning_calls_total', (k) => lbl(k, ['kind'])),
  },
]

// ---- SVG
const W = 560
const H = 260
const COLORS = [
  '#7eb26d',
  '#eab839',
  '#6ed0e0',
  '#ef843c',
  '#e24d42',
  '#1f78c1',
  '#ba43a9',
  '#705da0',
]
const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;')
function panel(p: (typeof panels)[number], x: number, y: number): string {
  const entries = [...p.series].slice(0, 8)
  const max = Math.max(1e-9, ...entries.flatMap(([, v]) => v))
  const n = SCRAPES - 1
  const px = (i: number) => x + 50 + (i * (W - 70)) / Math.max(1, n - 1)
  const py = (v: number) => y + 190 - (v / max) * 150
  let s = `<rect x="${x}" y="${y}" width="${W}" height="${H}" fill="#181b1f" stroke="#2c3235"/>`
  s += `<text x="${x + 10}" y="${y + 22}" fill="#d8d9da" font-size="14" font-family="sans-serif">${esc(p.title)}</text>`
  s += `<text x="${x + 8}" y="${y + 44}" fill="#8e8e8e" font-size="10" font-family="sans-serif">${max.toPrecision(3)}</text>`
  s += `<text x="${x + 8}" y="${y + 193}" fill="#8e8e8e" font-size="10" font-family="sans-serif">0</text>`
  s += `<line x1="${x + 50}" y1="${y + 190}" x2="${x + W - 20}" y2="${y + 190}" stroke="#2c3235"/>`
  entries.forEach(([name, values], j) => {
    const c = COLORS[j % COLORS.length]!
    const pts = values.map((v, i) => `${px(i).toFixed(1)},${py(v).toFixed(1)}`).join(' ')
    s += `<polyline points="${pts}" fill="none" stroke="${c}" stroke-width="2"/>`
    const lx = x + 12 + (j % 2) * 270
    const ly = y + 210 + Math.floor(j / 2) * 13
    s += `<rect x="${lx}" y="${ly - 8}" width="10" height="4" fill="${c}"/>`
    s += `<text x="${lx + 14}" y="${ly}" fill="#c7d0d9" font-size="10" font-family="sans-serif">${esc(name || '(none)')}</text>`
  })
  if (entries.length === 0)
    s += `<text x="${x + W / 2 - 30}" y="${y + 120}" fill="#8e8e8e" font-size="12" font-family="sans-serif">no data</text>`
  return s
}
const rows = Math.ceil(panels.length / 2)
const width = 2 * W + 30
const height = rows * (H + 10) + 50
let svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}"><rect width="100%" height="100%" fill="#111217"/>`
svg += `<text x="12" y="28" fill="#d8d9da" font-size="18" font-family="sans-serif">c7auth gateway — ${SCRAPES} scrapes, 2 s apart, testkit IdP + engine simulator</text>`
panels.forEach((p, i) => {
  svg += panel(p, 10 + (i % 2) * (W + 10), 40 + Math.floor(i / 2) * (H + 10))
})
svg += '</svg>'
const dir = mkdtempSync(join(tmpdir(), 'c7auth-dashboard-'))
const svgPath = join(dir, 'dashboard.svg')
writeFileSync(svgPath, svg)
execFileSync('rsvg-convert', ['-o', OUT, svgPath])
rmSync(dir, { recursive: true })
process.stdout.write(`wrote ${OUT}\n`)
