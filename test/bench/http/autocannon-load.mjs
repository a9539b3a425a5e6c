// Fallback load generator when wrk is missing: autocannon, rotating the Authorization header over
// a file of tokens. argv: url, tokens file, connections, seconds. Prints the figures as JSON.
import { readFileSync } from 'node:fs'
import autocannon from 'autocannon'

const [url, file, connections, seconds] = process.argv.slice(2)
const tokens = readFileSync(file, 'utf8').split('\n').filter(Boolean)
let i = 0
const result = await autocannon({
  url,
  connections: Number(connections),
  duration: Number(seconds),
  requests: [
    {
      setupRequest: (req) => {
        i = (i + 1) % tokens.length
        return { ...req, headers: { ...req.headers, authorization: `Bearer ${tokens[i]}` } }
      },
    },
  ],
})
process.stdout.write(
  JSON.stringify({
    rps: result.requests.average,
    p50: result.latency.p50,
    p99: result.latency.p99,
    requests: result.requests.total,
    errors: result.errors + result.non2xx + result.timeouts,
  }),
)
