import { createConnection, createServer } from 'node:net'
import type { AddressInfo, Server, Socket } from 'node:net'

/** A TCP proxy a test can take down and bring back, to make a server look dead without killing it. */
export interface TcpProxy {
  /** Loopback port clients connect to; the same after {@link TcpProxy.start}. */
  readonly port: number
  /** Connections accepted since start. */
  readonly connections: number
  /** Stops listening and cuts every open connection (both directions). */
  stop(): Promise<void>
  /** Listens again on the same port. */
  start(): Promise<void>
  /** Stops for good. */
  close(): Promise<void>
}

/**
 * Forwards `127.0.0.1:<port>` to `target`. A stopped proxy refuses connections (the port is
 * closed), like a database that went away; started again, clients reconnect on their own.
 *
 * @example
 * ```ts
 * const proxy = await startTcpProxy({ host: '127.0.0.1', port: 6379 })
 * const url = `redis://127.0.0.1:${proxy.port}`
 * await proxy.stop() // Redis "down"
 * await proxy.start() // back
 * ```
 */
export async function startTcpProxy(target: { host: string; port: number }): Promise<TcpProxy> {
  const sockets = new Set<Socket>()
  let connections = 0
  let server: Server | undefined
  let port = 0

  const listen = async (): Promise<void> => {
    const s = createServer((client) => {
      connections += 1
      const upstream = createConnection(target)
      sockets.add(client)
      sockets.add(upstream)
      const drop = () => {
        client.destroy()
        upstream.destroy()
        sockets.delete(client)
        sockets.delete(upstream)
      }
      client.on('error', drop).on('close', drop)
      upstream.on('error', drop).on('close', drop)
      client.pipe(upstream)
      upstream.pipe(client)
    })
    await new Promise<void>((resolve, reject) => {
      s.once('error', reject)
      s.listen(port, '127.0.0.1', () => {
        s.off('error', reject)
        resolve()
      })
    })
    port = (s.address() as AddressInfo).port
    server = s
  }

  const stop = async (): Promise<void> => {
    const s = server
    server = undefined
    for (const socket of sockets) socket.destroy()
    sockets.clear()
    if (s) await new Promise<void>((resolve) => s.close(() => resolve()))
  }

  await listen()
  return {
    get port() {
      return port
    },
    get connections() {
      return connections
    },
    stop,
    async start() {
      await stop()
      await listen()
    },
    close: stop,
  }
}
