// The "engine": answers every GET with a small Camunda-shaped task list, keep-alive.
import { createServer } from 'node:http'

const task = Buffer.from(
  JSON.stringify([{ id: 't1', name: 'Approve invoice', tenantId: 'acme', assignee: null }]),
)
const empty = Buffer.from('{}')
const server = createServer((req, res) => {
  req.resume()
  const body = req.url?.startsWith('/engine-rest/task') ? task : empty
  res.writeHead(200, { 'content-type': 'application/json', 'content-length': body.length })
  res.end(body)
})
server.keepAliveTimeout = 65_000
server.listen(0, '127.0.0.1', () => {
  process.stdout.write(`LISTENING http://127.0.0.1:${server.address().port}\n`)
})
