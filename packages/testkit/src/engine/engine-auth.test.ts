import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import type { EngineSimulator } from './engine-simulator.js'
import { startEngineSimulator } from './engine-simulator.js'
import { basic, client } from './test-support.js'

describe('engine simulator: Basic authentication and login throttling', () => {
  let engine: EngineSimulator
  beforeEach(async () => {
    engine = await startEngineSimulator({ adminUser: { id: 'admin', password: 'adminPw' } })
    engine.seed.user({ id: 'alice', password: 'alicePw' })
  })
  afterEach(async () => {
    engine.assertNoValidationErrors()
    await engine.close()
  })

  it('answers 401 with the Basic challenge and no body without or with wrong credentials', async () => {
    const anonymous = await client(engine.url).get('/task')
    expect(anonymous.status).toBe(401)
    expect(anonymous.headers.get('www-authenticate')).toBe('Basic realm="default"')
    expect(anonymous.body).toBeUndefined()
    const wrong = await client(engine.url, { user: 'alice', password: 'nope' }).get('/task')
    expect(wrong.status).toBe(401)
    const unknownUser = await client(engine.url, { user: 'mallory', password: 'x' }).get('/task')
    expect(unknownUser.status).toBe(401)
    const bearer = await client(engine.url).get('/task', {
      headers: { authorization: 'Bearer abc' },
    })
    expect(bearer.status).toBe(401)
    expect(engine.stats.authFailures).toBe(4)
    expect(engine.requests.every((r) => r.user === null)).toBe(true)
  })

  it('authenticates per request, records the user and answers exactly application/json', async () => {
    const res = await client(engine.url, { user: 'alice', password: 'alicePw' }).get('/task')
    expect(res.status).toBe(200)
    expect(res.contentType).toBe('application/json')
    expect(res.body).toEqual([])
    expect(engine.requests.at(-1)).toMatchObject({
      method: 'GET',
      path: '/task',
      user: 'alice',
      status: 200,
      operationId: 'getTasks',
    })
    expect(engine.stats.callsPerUser).toEqual({ alice: 1 })
    expect(engine.stats.adminCalls).toBe(0)
    await client(engine.url, { user: 'admin', password: 'adminPw' }).get('/task')
    expect(engine.stats.adminCalls).toBe(1)
  })

  it('splits the credentials at the first colon (passwords may contain colons)', async () => {
    engine.seed.user({ id: 'bob', password: 'a:b:c' })
    const res = await fetch(`${engine.url}/version`, {
      headers: { authorization: basic('bob', 'a:b:c') },
    })
    expect(res.status).toBe(200)
    expect(await res.json()).toEqual({ version: '7.23.0' })
  })

  it('lists engines without authentication and serves the /engine/default prefix', async () => {
    const engines = await client(engine.url).get('/engine')
    expect(engines).toMatchObject({
      status: 200,
      body: [{ name: 'default' }],
      contentType: 'application/json',
    })
    const prefixed = await client(engine.url, { user: 'alice', password: 'alicePw' }).get(
      '/engine/default/task/count',
    )
    expect(prefixed).toMatchObject({ status: 200, body: { count: 0 } })
    const other = await client(engine.url, { user: 'alice', password: 'alicePw' }).get(
      '/engine/other/task',
    )
    expect(other).toMatchObject({
      status: 404,
      body: { type: 'InvalidRequestException', message: 'Process engine other not available' },
    })
  })

  it('answers unknown routes with a JSON 404 and records an OpenAPI violation', async () => {
    const res = await client(engine.url, { user: 'alice', password: 'alicePw' }).get(
      '/no-such-resource',
    )
    expect(res).toMatchObject({
      status: 404,
      contentType: 'application/json',
      body: { type: 'NotFoundException' },
    })
    expect(engine.validationErrors).toHaveLength(1)
    expect(() => engine.assertNoValidationErrors()).toThrow(/no-such-resource/)
    engine.validationErrors.length = 0
  })

  it('locks a user with growing delays, then permanently after 10 failures; only unlock clears it', async () => {
    const good = client(engine.url, { user: 'alice', password: 'alicePw' })
    const bad = client(engine.url, { user: 'alice', password: 'wrong' })
    engine.clock.freeze()
    const delays = [3, 6, 12, 24, 48, 60, 60, 60, 60]
    for (const [i, seconds] of delays.entries()) {
      expect((await bad.get('/version')).status).toBe(401)
      expect(engine.inspect.user('alice')).toEqual({ attempts: i + 1, locked: true })
      // while locked even the right password fails and is not counted
      expect((await good.get('/version')).status).toBe(401)
      expect(engine.inspect.user('alice')?.attempts).toBe(i + 1)
      engine.clock.advance(seconds * 1000 - 1)
      expect((await good.get('/version')).status).toBe(401)
      engine.clock.advance(1)
    }
    expect((await bad.get('/version')).status).toBe(401)
    expect(engine.inspect.user('alice')).toEqual({ attempts: 10, locked: true })
    engine.clock.advance(24 * 3600 * 1000)
    expect((await good.get('/version')).status).toBe(401)
    // changing the password does not unlock
    const admin = client(engine.url, { user: 'admin', password: 'adminPw' })
    expect(
      (
        await admin.put('/user/alice/credentials', {
          password: 'newPw',
          authenticatedUserPassword: 'adminPw',
        })
      ).status,
    ).toBe(204)
    expect(
      (await client(engine.url, { user: 'alice', password: 'newPw' }).get('/version')).status,
    ).toBe(401)
    expect((await admin.post('/user/alice/unlock')).status).toBe(204)
    expect(
      (await client(engine.url, { user: 'alice', password: 'newPw' }).get('/version')).status,
    ).toBe(200)
    expect(engine.inspect.user('alice')).toEqual({ attempts: 0, locked: false })
  })

  it('resets the failure counter after a successful login', async () => {
    const bad = client(engine.url, { user: 'alice', password: 'wrong' })
    expect((await bad.get('/version')).status).toBe(401)
    engine.clock.advance(3000)
    expect(
      (await client(engine.url, { user: 'alice', password: 'alicePw' }).get('/version')).status,
    ).toBe(200)
    expect(engine.inspect.user('alice')).toEqual({ attempts: 0, locked: false })
  })

  it('counts POST /identity/verify failures toward the lock', async () => {
    const admin = client(engine.url, { user: 'admin', password: 'adminPw' })
    const res = await admin.post('/identity/verify', { username: 'alice', password: 'guess' })
    expect(res).toMatchObject({
      status: 200,
      body: { authenticatedUser: 'alice', authenticated: false },
    })
    expect(engine.inspect.user('alice')?.attempts).toBe(1)
    engine.clock.advance(3000)
    const ok = await admin.post('/identity/verify', { username: 'alice', password: 'alicePw' })
    expect(ok.body).toMatchObject({ authenticated: true })
  })

  it('requires admin for unlock only when authorization checks are on', async () => {
    await engine.close()
    engine = await startEngineSimulator({
      adminUser: { id: 'admin', password: 'adminPw' },
      authorizationChecks: true,
    })
    engine.seed.user({ id: 'alice', password: 'alicePw' })
    const res = await client(engine.url, { user: 'alice', password: 'alicePw' }).post(
      '/user/admin/unlock',
    )
    expect(res).toMatchObject({ status: 403, body: { type: 'AuthorizationException' } })
    const create = await client(engine.url, { user: 'alice', password: 'alicePw' }).post(
      '/tenant/create',
      { id: 'tX' },
    )
    expect(create.status).toBe(403)
    const asAdmin = await client(engine.url, { user: 'admin', password: 'adminPw' }).post(
      '/user/alice/unlock',
    )
    expect(asAdmin.status).toBe(204)
  })

  it('runs without authentication: no user, no tenant check, no operation log', async () => {
    await engine.close()
    engine = await startEngineSimulator({ authentication: false })
    const res = await client(engine.url).get('/task')
    expect(res.status).toBe(200)
    expect(engine.requests.at(-1)?.user).toBeNull()
    expect(engine.stats.anonymousCalls).toBe(1)
  })
})

describe('engine simulator: password policy', () => {
  let engine: EngineSimulator
  beforeEach(async () => {
    engine = await startEngineSimulator({
      adminUser: { id: 'admin', password: 'Sup3r-Secret!' },
      passwordPolicy: true,
    })
  })
  afterEach(async () => {
    engine.assertNoValidationErrors()
    await engine.close()
  })

  const create = (id: string, password: string, profile: Record<string, string> = {}) =>
    client(engine.url, { user: 'admin', password: 'Sup3r-Secret!' }).post('/user/create', {
      profile: { id, ...profile },
      credentials: { password },
    })

  it.each([
    ['too short', 'Ab1!xyz'],
    ['no upper case', 'abcdefgh1!'],
    ['no lower case', 'ABCDEFGH1!'],
    ['no digit', 'Abcdefghi!'],
    ['no special character', 'Abcdefghi1'],
    ['contains the user id (any case)', 'xxCAROLxx1!A'],
  ])('rejects a password that is %s with the engine 500', async (_why, password) => {
    const res = await create('carol', password)
    expect(res).toMatchObject({
      status: 500,
      body: { type: 'ProcessEngineException', message: 'Password does not match policy' },
    })
    expect(engine.inspect.user('carol')).toBeUndefined()
  })

  it('rejects a password containing the first name, last name or e-mail', async () => {
    expect((await create('carol', 'Xsmith-9AAa', { lastName: 'Smith' })).status).toBe(500)
    expect((await create('carol', 'Xjane-9AAaa', { firstName: 'Jane' })).status).toBe(500)
    expect((await create('carol', 'c@x.io-9AAa', { email: 'C@X.IO' })).status).toBe(500)
  })

  it('accepts a compliant password and evaluates candidates via /identity/password-policy', async () => {
    expect((await create('carol', 'Str0ng-Passw0rd')).status).toBe(204)
    const admin = client(engine.url, { user: 'admin', password: 'Sup3r-Secret!' })
    const check = await admin.post('/identity/password-policy', {
      password: 'weak',
      profile: { id: 'x' },
    })
    expect(check.status).toBe(200)
    expect(check.body).toMatchObject({ valid: false })
    const good = await admin.post('/identity/password-policy', {
      password: 'Str0ng-Passw0rd',
      profile: { id: 'x' },
    })
    expect(good.body).toMatchObject({ valid: true })
    const rules = await admin.get('/identity/password-policy')
    expect((rules.body as { rules: unknown[] }).rules).toHaveLength(6)
  })

  it('applies the policy to PUT /user/{id}/credentials too', async () => {
    expect((await create('carol', 'Str0ng-Passw0rd')).status).toBe(204)
    const admin = client(engine.url, { user: 'admin', password: 'Sup3r-Secret!' })
    const weak = await admin.put('/user/carol/credentials', {
      password: 'weak',
      authenticatedUserPassword: 'Sup3r-Secret!',
    })
    expect(weak.status).toBe(500)
    const wrongCaller = await admin.put('/user/carol/credentials', {
      password: 'An0ther-Passw0rd',
      authenticatedUserPassword: 'bad',
    })
    expect(wrongCaller).toMatchObject({
      status: 400,
      body: { message: 'The given authenticated user password is not valid.' },
    })
  })
})
