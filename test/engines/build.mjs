// Builds the test engine jars (`pnpm engines:build`, also the first step of `pnpm test`).
// Skips Maven when every jar is newer than the sources. Without Java or Maven it says so and
// exits 0 (the simulator suites still run), unless C7AUTH_REQUIRE_ENGINES=1 (CI): then it fails.
import { spawnSync } from 'node:child_process'
import { existsSync, readdirSync, statSync, utimesSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const here = dirname(fileURLToPath(import.meta.url))
const flavors = ['camunda7', 'operaton']
const required = process.env.C7AUTH_REQUIRE_ENGINES === '1'

function works(command, args) {
  const r = spawnSync(command, args, { stdio: 'ignore', timeout: 60_000 })
  return r.status === 0
}

const missing = []
if (!works('java', ['-version'])) missing.push('java')
if (!works('mvn', ['-v'])) missing.push('mvn')
if (missing.length > 0) {
  const message = `[c7auth] engines:build: no ${missing.join(' or ')} on the PATH`
  if (required) {
    console.error(
      `${message}; C7AUTH_REQUIRE_ENGINES=1 needs the real engines. Install JDK 17+ and Maven.`,
    )
    process.exit(1)
  }
  console.warn(`${message}: the Camunda 7 and Operaton suites will be skipped (simulator only).`)
  process.exit(0)
}

function newest(path) {
  const stat = statSync(path)
  if (!stat.isDirectory()) return stat.mtimeMs
  let max = 0
  for (const entry of readdirSync(path)) {
    if (entry === 'target') continue
    max = Math.max(max, newest(join(path, entry)))
  }
  return max
}

// Two Maven builds: the test engines, and the engine plugin they load in the assertion suites.
const pluginDir = join(here, '..', '..', 'packages', 'engine-plugin')
const builds = [
  {
    name: 'test engines (Camunda 7.24.0, Operaton 1.0.3)',
    pom: join(here, 'pom.xml'),
    jars: flavors.map((f) => [
      join(here, f),
      join(here, f, 'target', `c7auth-test-engine-${f}.jar`),
    ]),
    args: ['-DskipTests'],
  },
  {
    name: 'engine plugin (with its JUnit tests)',
    pom: join(pluginDir, 'pom.xml'),
    jars: flavors.map((f) => [
      join(pluginDir, f),
      join(pluginDir, f, 'target', `c7auth-engine-plugin-${f}-0.1.0.jar`),
    ]),
    sources: [join(pluginDir, 'core')],
    args: [],
  },
]

for (const build of builds) {
  const inputs = Math.max(
    statSync(build.pom).mtimeMs,
    ...(build.sources ?? []).map(newest),
    ...build.jars.map(([dir]) => newest(dir)),
  )
  const upToDate = build.jars.every(([, jar]) => existsSync(jar) && statSync(jar).mtimeMs > inputs)
  if (upToDate) {
    console.log(`[c7auth] engines:build: ${build.name}: jars up to date`)
    continue
  }
  const started = Date.now()
  console.log(`[c7auth] engines:build: mvn package, ${build.name}`)
  const r = spawnSync('mvn', ['-q', '-B', '-f', build.pom, 'package', ...build.args], {
    stdio: 'inherit',
  })
  if (r.status !== 0) {
    console.error(`[c7auth] engines:build: Maven failed for ${build.name} (exit ${r.status})`)
    process.exit(1)
  }
  // Maven leaves a jar untouched when its module did not change; mark them as built now.
  const now = new Date()
  for (const [, jar] of build.jars) utimesSync(jar, now, now)
  console.log(
    `[c7auth] engines:build: ${build.name} done in ${Math.round((Date.now() - started) / 1000)} s`,
  )
}
