// The bare proxy's one forwarding step (no authentication, headers passed through), shared by the
// bare proxy and its Express and Koa mounts so the three differ only in what they are mounted in.
import { Pool } from 'undici'

/** A `(req, res, path) => void` that forwards to `upstream` through a keep-alive undici Pool. */
export function bareForward(upstream) {
  const pool = new Pool(new URL(upstream).origin, { connections: 128, pipelining: 1 })
  return (req, res, path) => {
    const headers = { ...req.headers }
    delete headers.host
    delete headers.connection
    delete headers.authorization
    pool.request({ path, method: req.method, headers }).then(
      (r) => {
        const out = {}
        for (const k in r.headers)
          if (k !== 'connection' && k !== 'keep-alive') out[k] = r.headers[k]
        res.writeHead(r.statusCode, out)
        r.body.pipe(res)
      },
      () => {
        res.writeHead(502)
        res.end()
      },
    )
  }
}
