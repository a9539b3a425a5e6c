/**
 * Unit-test support only (end-to-end tests use the testkit's engine simulator and IdP): a minimal
 * engine-rest over a real socket that serves external tasks, and a counting token source.
 */
import { createServer } from 'node:http'
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { TokenRequestParams, TokenSource } from '@c7auth/core'

export interface FakeTask {
  id: string
  topicName: string
  tenantId: string | null
  processInstanceId?: string
  variables?: Record<string, { value: unknown; type: string; valueInfo?: object }>
  /** Set when locked. */
  workerId?: string
}

export interface RecordedRequest {
  method: string
  path: string
  authorization: string | undefined
  body: Record<string, unknown> | undefined
}

export interface FakeEngineOptions {
  /** Decides whether a bearer token is accepted (default: any `Bearer …`). */
  authorize?: (authorization: string | undefined, path: string) => boolean
  /** `Content-Type` of JSON answers. Default `application/json`. */
  contentType?: string
  /** Overrides the tasks a fetchAndLock returns (to simulate a misbehaving gateway). */
  route?: (body: Record<string, unknown>, matching: FakeTask[], all: FakeTask[]) => FakeTask[]
}

export interface FakeEngine {
  /** engine-rest base URL. */
  url: string
  requests: RecordedRequest[]
  tasks: FakeTask[]
  completed: Array<{ id: string; workerId: unknown }>
  failures: Array<{ id: string; body: Record<string, unknown> }>
  unlocked: string[]
  /** Long polls whose client went away before the answer. */
  abortedPolls: number
  /** Long polls currently held open. */
  pendingPolls(): number
  addTask(task: FakeTask): void
  close(): Promise<void>
}

export async function startFakeEngine(options: FakeEngineOptions = {}): Promise<FakeEngine> {
  const contentType = options.contentType ?? 'application/json'
  const authorize =
    options.authorize ?? ((authorization) => authorization?.startsWith('Bearer ') === true)
  const waiting = new Set<() => void>()
  const engine: FakeEngine = {
    url: '',
    requests: [],
    tasks: [],
    completed: [],
    failures: [],
    unlocked: [],
    abortedPolls: 0,
    pendingPolls: () => waiting.size,
    addTask(task) {
      engine.tasks.push(task)
      for (const wake of [...waiting]) wake()
    },
    close: async () => {
      for (const wake of [...waiting]) wake()
      server.closeAllConnections()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }

  const json = (res: ServerResponse, status: number, body: unknown): void => {
    res.writeHead(status, { 'content-type': contentType })
    res.end(JSON.stringify(body))
  }

  const lockable = (body: Record<string, unknown>): FakeTask[] => {
    const topics = (body.topics as Array<{ topicName: string; tenantIdIn?: string[] }>) ?? []
    const matching = engine.tasks.filter(
      (task) =>
        task.workerId === undefined &&
        topics.some(
          (topic) =>
            topic.topicName === task.topicName &&
            // Engine semantics: absent or empty tenantIdIn filters nothing.
            (!topic.tenantIdIn?.length ||
              (task.tenantId !== null && topic.tenantIdIn.includes(task.tenantId))),
        ),
    )
    const routed = options.route ? options.route(body, matching, engine.tasks) : matching
    return routed
      .filter((task) => task.workerId === undefined)
      .slice(0, Number(body.maxTasks ?? 10))
  }

  const fetchAndLock = (
    req: IncomingMessage,
    res: ServerResponse,
    body: Record<string, unknown>,
  ) => {
    const answer = (): boolean => {
      const tasks = lockable(body)
      if (tasks.length === 0) return false
      for (const task of tasks) task.workerId = String(body.workerId)
      json(
        res,
        200,
        tasks.map((task) => ({
          id: task.id,
          topicName: task.topicName,
          workerId: task.workerId,
          tenantId: task.tenantId,
          processInstanceId: task.processInstanceId ?? `pi-${task.id}`,
          executionId: `ex-${task.id}`,
          activityId: 'act',
          variables: task.variables ?? {},
          retries: null,
          priority: 0,
        })),
      )
      return true
    }
    if (answer()) return
    const timeout = Number(body.asyncResponseTimeout ?? 0)
    if (timeout <= 0) return json(res, 200, [])
    let done = false
    const finish = (tasksFound: boolean): void => {
      if (done) return
      done = true
      waiting.delete(wake)
      clearTimeout(timer)
      if (!tasksFound && !res.writableEnded) json(res, 200, [])
    }
    const wake = (): void => {
      if (!done && answer()) finish(true)
      else if (!done && !server.listening) finish(false)
    }
    const timer = setTimeout(() => finish(false), timeout)
    waiting.add(wake)
    req.socket.once('close', () => {
      if (!done && !res.writableEnded) {
        engine.abortedPolls++
        done = true
        waiting.delete(wake)
        clearTimeout(timer)
      }
    })
  }

  const server = createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      const path = new URL(req.url ?? '/', 'http://x').pathname
      const raw = Buffer.concat(chunks).toString('utf8')
      const body = raw ? (JSON.parse(raw) as Record<string, unknown>) : undefined
      engine.requests.push({
        method: req.method ?? '',
        path,
        authorization: req.headers.authorization,
        body,
      })
      if (!authorize(req.headers.authorization, path)) {
        return json(res, 401, { type: 'AuthenticationException', message: 'Unauthorized' })
      }
      if (path === '/engine-rest/external-task/fetchAndLock') {
        return fetchAndLock(req, res, body ?? {})
      }
      const match = /^\/engine-rest\/external-task\/([^/]+)\/(complete|failure|unlock)$/.exec(path)
      if (match) {
        const [, id, op] = match as unknown as [string, string, string]
        const task = engine.tasks.find((t) => t.id === id)
        if (!task) return json(res, 404, { type: 'RestException', message: 'not found' })
        if (op === 'complete') engine.completed.push({ id, workerId: body?.workerId })
        if (op === 'failure') engine.failures.push({ id, body: body ?? {} })
        if (op === 'unlock') {
          engine.unlocked.push(id)
          delete task.workerId
          for (const wake of [...waiting]) wake()
        }
        res.writeHead(204).end()
        return
      }
      json(res, 404, { type: 'RestException', message: 'no route' })
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  engine.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/engine-rest`
  return engine
}

/** A token source issuing `<prefix>-1`, `<prefix>-2`, … and recording every call. */
export class CountingTokenSource implements TokenSource {
  readonly requests: Array<TokenRequestParams | undefined> = []
  readonly invalidated: string[] = []
  issued = 0
  closed = 0
  /** When set, `getToken` rejects with it. */
  failWith: Error | undefined
  readonly #current = new Map<string, string>()

  constructor(readonly prefix = 'tok') {}

  async getToken(params?: TokenRequestParams): Promise<string> {
    this.requests.push(params)
    if (this.failWith) throw this.failWith
    const key = JSON.stringify(params ?? {})
    let token = this.#current.get(key)
    if (token === undefined) {
      this.issued++
      token = `${this.prefix}-${this.issued}`
      this.#current.set(key, token)
    }
    return token
  }

  invalidate(token: string): void {
    this.invalidated.push(token)
    for (const [key, value] of this.#current) if (value === token) this.#current.delete(key)
  }

  close(): void {
    this.closed++
  }
}

/** Resolves when `predicate` holds, polling every 5 ms (fails the test by timeout otherwise). */
export async function until(predicate: () => boolean, what = 'condition'): Promise<void> {
  const started = Date.now()
  while (!predicate()) {
    if (Date.now() - started > 10_000) throw new Error(`timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 5))
  }
}
