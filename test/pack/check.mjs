#!/usr/bin/env node
// The packages as a user gets them: pack every workspace package (prepack builds it), install the
// tarballs with npm into an empty project outside the workspace, and check what a user does first:
// plain Node ESM imports of every export, `tsc` over a consumer file with `skipLibCheck: false`,
// the testkit's IdP and engine simulator started from node_modules, and `npx c7auth-gateway`
// serving a request against them. Run: `pnpm test:pack` (also a step of `.ci/run`).
import { execFileSync, spawn } from 'node:child_process'
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'

const ROOT = fileURLToPath(new URL('../..', import.meta.url))
const PACKAGES = ['core', 'gateway', 'worker', 'testkit']
const KEEP = process.argv.includes('--keep')
const started = Date.now()
const work = mkdtempSync(join(tmpdir(), 'c7auth-pack-'))
const tarballs = join(work, 'tarballs')
const project = join(work, 'consumer')
const koaProject = join(work, 'consumer-koa')
let failures = 0

const json = (path) => JSON.parse(readFileSync(path, 'utf8'))
const step = (title) =>
  console.log(`\n== ${title} (${((Date.now() - started) / 1000).toFixed(1)} s)`)
const ok = (what) => console.log(`ok   ${what}`)
const fail = (what) => {
  failures++
  console.log(`FAIL ${what}`)
}
const run = (cmd, args, cwd, extra = {}) =>
  execFileSync(cmd, args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], ...extra })

try {
  step('pack (prepack builds each package)')
  const manifests = {}
  const specs = {}
  for (const name of PACKAGES) {
    const dir = join(ROOT, 'packages', name)
    const manifest = json(join(dir, 'package.json'))
    manifests[manifest.name] = manifest
    const out = run('pnpm', ['pack', '--pack-destination', tarballs], dir).trim().split('\n')
    const file = out[out.length - 1].trim()
    specs[manifest.name] = `file:${file}`
    const entries = run('tar', ['tzf', file], work).trim().split('\n')
    const bad = entries.filter((e) =>
      /\.tsbuildinfo$|\.map$|\.test\.|__tests__|\/src\/.*\.ts$/.test(e),
    )
    // The worker ships one hand-written declaration file from src/ (the client's types).
    const unexpected = bad.filter((e) => e !== 'package/src/external-task-client.d.ts')
    for (const needed of ['package/LICENSE', 'package/README.md', 'package/dist/index.js']) {
      if (!entries.includes(needed)) fail(`${manifest.name}: tarball lacks ${needed.slice(8)}`)
    }
    if (unexpected.length > 0) fail(`${manifest.name}: tarball ships ${unexpected.join(', ')}`)
    else ok(`${manifest.name}: ${entries.length} files, no maps, build info or tests`)
  }

  step('npm install of the tarballs into empty projects outside the workspace')
  const rootManifest = json(join(ROOT, 'package.json'))
  const gatewayDev = manifests['@c7auth/gateway'].devDependencies
  const devVersion = (name) => rootManifest.devDependencies[name] ?? gatewayDev[name]
  const tooling = {
    typescript: devVersion('typescript'),
    '@types/node': devVersion('@types/node'),
  }
  install(project, {
    ...specs,
    express: gatewayDev.express,
    '@types/express': gatewayDev['@types/express'],
    'camunda-external-task-client-js':
      manifests['@c7auth/worker'].peerDependencies['camunda-external-task-client-js'],
    ...tooling,
  })
  install(koaProject, {
    '@c7auth/core': specs['@c7auth/core'],
    '@c7auth/gateway': specs['@c7auth/gateway'],
    koa: gatewayDev.koa,
    '@types/koa': gatewayDev['@types/koa'],
    ...tooling,
  })
  if (/node_modules[/\\](tsx|esbuild)$/m.test(run('npm', ['ls', '--all', '--parseable'], project)))
    fail('tsx or esbuild installed by the packages (not a runtime dependency)')
  else ok('installed; no tsx or esbuild among the dependencies')
  if (/node_modules[/\\]express$/m.test(run('npm', ['ls', '--all', '--parseable'], koaProject)))
    fail('express installed in a Koa-only project (must be an optional peer)')
  else ok('a Koa-only project installs no Express')

  step('plain Node ESM import of every export')
  for (const [name, manifest] of Object.entries(manifests)) {
    for (const sub of Object.keys(manifest.exports)) {
      if (sub.endsWith('package.json')) continue
      const specifier = sub === '.' ? name : `${name}${sub.slice(1)}`
      try {
        const out = run(
          process.execPath,
          [
            '--input-type=module',
            '-e',
            `const m = await import(${JSON.stringify(specifier)}); console.log(Object.keys(m).length)`,
          ],
          project,
        )
        const count = Number(out.trim())
        if (count > 0) ok(`import '${specifier}': ${count} exports`)
        else fail(`import '${specifier}': no exports`)
      } catch (err) {
        fail(`import '${specifier}': ${err.stderr || err.message}`)
      }
    }
  }

  step('tsc --noEmit over a consumer file (strict, skipLibCheck: false)')
  typecheck(project, 'consumer.ts')
  typecheck(koaProject, 'consumer-koa.ts')

  step('testkit IdP and simulator from node_modules; npx c7auth-gateway serves a request')
  await gatewayAgainstTestkit()
} catch (err) {
  fail(err instanceof Error ? (err.stack ?? err.message) : String(err))
} finally {
  if (KEEP) console.log(`\nkept ${work}`)
  else rmSync(work, { recursive: true, force: true })
}
console.log(
  `\npack check: ${failures === 0 ? 'passed' : `${failures} failed`} in ${((Date.now() - started) / 1000).toFixed(1)} s`,
)
process.exitCode = failures === 0 ? 0 : 1

/** An empty ESM project with `deps` installed by npm (packages among each other → the tarballs). */
function install(dir, deps) {
  run('mkdir', ['-p', dir], work)
  const manifest = {
    name: 'c7auth-pack-consumer',
    private: true,
    type: 'module',
    dependencies: deps,
    // The packages depend on each other by version; resolve those to the tarballs too.
    overrides: Object.fromEntries(
      Object.keys(deps)
        .filter((n) => n.startsWith('@c7auth/'))
        .map((n) => [n, `$${n}`]),
    ),
  }
  writeFileSync(join(dir, 'package.json'), `${JSON.stringify(manifest, null, 2)}\n`)
  run('npm', ['install', '--no-audit', '--no-fund', '--no-package-lock', '--loglevel=error'], dir)
}

/** `tsc --noEmit` over one consumer file: strict, `skipLibCheck: false`. */
function typecheck(dir, file) {
  copyFileSync(join(ROOT, 'test/pack', file), join(dir, file))
  writeFileSync(
    join(dir, 'tsconfig.json'),
    JSON.stringify({
      compilerOptions: {
        target: 'ES2022',
        module: 'NodeNext',
        moduleResolution: 'NodeNext',
        strict: true,
        exactOptionalPropertyTypes: true,
        skipLibCheck: false,
        noEmit: true,
        types: ['node'],
      },
      files: [file],
    }),
  )
  try {
    run(process.execPath, [join(dir, 'node_modules/typescript/bin/tsc'), '-p', '.'], dir)
    ok(`${file} compiles against the shipped declarations`)
  } catch (err) {
    fail(`tsc ${file}:\n${err.stdout}${err.stderr}`)
  }
}

/** Starts the installed testkit's IdP and simulator in a child process, then the installed bin. */
async function gatewayAgainstTestkit() {
  const stackScript = join(project, 'stack.mjs')
  writeFileSync(
    stackScript,
    `import { startEngineSimulator, startTestIdp } from '@c7auth/testkit'
const idp = await startTestIdp({ clients: [{ clientId: 'acme', clientSecret: 'acme-secret', tenant: 'acme' }] })
const engine = await startEngineSimulator({ adminUser: { id: 'admin', password: 'admin-secret' } })
console.log(JSON.stringify({ issuer: idp.issuer, audience: idp.defaultAudience, tokenEndpoint: idp.tokenEndpoint, engine: engine.url }))
process.stdin.resume()
process.stdin.on('end', () => Promise.all([idp.close(), engine.close()]).then(() => process.exit(0)))
`,
  )
  const stack = spawn(process.execPath, [stackScript], { cwd: project, stdio: 'pipe' })
  let gateway
  try {
    const first = await firstLine(stack, () => true, 'testkit stack')
    const urls = JSON.parse(first)
    ok(`testkit IdP (${urls.issuer}) and engine simulator started from node_modules`)
    const sim = await fetch(`${urls.engine}/version`, {
      headers: { authorization: `Basic ${Buffer.from('admin:admin-secret').toString('base64')}` },
    })
    if (sim.status === 200) ok(`simulator answers /version: ${JSON.stringify(await sim.json())}`)
    else fail(`simulator /version: ${sim.status}`)

    const port = await freePort()
    // Its own process group: npx runs the bin in a child of its own, and both must stop.
    gateway = spawn('npx', ['--no-install', 'c7auth-gateway'], {
      cwd: project,
      stdio: 'pipe',
      detached: true,
      env: {
        PATH: process.env.PATH ?? '',
        HOME: process.env.HOME ?? work,
        C7AUTH_TENANTS: 'acme',
        C7AUTH_LOG_LEVEL: 'info',
        C7AUTH_ENGINE_URL: urls.engine,
        C7AUTH_ENGINE_AUTH: 'bridge',
        C7AUTH_ENGINE_ADMIN_USER: 'admin',
        C7AUTH_ENGINE_ADMIN_PASSWORD: 'admin-secret',
        C7AUTH_BRIDGE_SECRET: 'pack-check-bridge-secret-0123456789abcdef',
        C7AUTH_GATEWAY_HOST: '127.0.0.1',
        C7AUTH_GATEWAY_PORT: String(port),
        C7AUTH_TENANT_ACME_ISSUER: urls.issuer,
        C7AUTH_TENANT_ACME_AUDIENCE: urls.audience,
        C7AUTH_TENANT_ACME_ALLOWED_CLIENTS: 'acme',
      },
    })
    await firstLine(gateway, (l) => l.includes('c7auth gateway listening'), 'c7auth-gateway')
    const base = `http://127.0.0.1:${port}/engine-rest`
    const anonymous = await fetch(`${base}/process-definition`)
    if (anonymous.status === 401) ok('npx c7auth-gateway: no token → 401')
    else fail(`npx c7auth-gateway: no token → ${anonymous.status}`)
    const tokenRes = await fetch(urls.tokenEndpoint, {
      method: 'POST',
      headers: {
        authorization: `Basic ${Buffer.from('acme:acme-secret').toString('base64')}`,
        'content-type': 'application/x-www-form-urlencoded',
      },
      body: new URLSearchParams({ grant_type: 'client_credentials', scope: 'engine:read' }),
    })
    const { access_token: token } = await tokenRes.json()
    const res = await fetch(`${base}/process-definition`, {
      headers: { authorization: `Bearer ${token}` },
    })
    const body = await res.json()
    if (res.status === 200 && Array.isArray(body))
      ok(
        `npx c7auth-gateway: the testkit IdP's token → 200 from the simulator (${body.length} definitions)`,
      )
    else fail(`npx c7auth-gateway: with a token → ${res.status} ${JSON.stringify(body)}`)
  } finally {
    if (gateway?.pid !== undefined && gateway.exitCode === null)
      process.kill(-gateway.pid, 'SIGTERM')
    stack.stdin.end()
    await new Promise((resolve) =>
      stack.exitCode === null && stack.signalCode === null
        ? stack.once('exit', resolve)
        : resolve(),
    )
  }
}

/** The first output line of `child` matching `match`; fails when the process exits first. */
function firstLine(child, match, what) {
  return new Promise((resolve, reject) => {
    const seen = []
    const timer = setTimeout(
      () => reject(new Error(`${what} did not start within 60 s:\n${seen.join('\n')}`)),
      60_000,
    )
    const onLine = (line) => {
      seen.push(line)
      if (match(line)) {
        clearTimeout(timer)
        resolve(line)
      }
    }
    createInterface({ input: child.stdout }).on('line', onLine)
    createInterface({ input: child.stderr }).on('line', (l) => seen.push(l))
    child.once('exit', (code) => {
      clearTimeout(timer)
      reject(new Error(`${what} exited (${code}):\n${seen.join('\n')}`))
    })
  })
}

/** A port free on loopback now (the gateway binds it next). */
function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address()
      server.close(() => resolve(port))
    })
  })
}
