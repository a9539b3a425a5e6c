import { linearProcessXml } from '@c7auth/testkit'
import { startHarness } from '../e2e/gateway-engine-harness.ts'
const h = await startHarness({ mode: 'service', framework: 'express' })
try {
  const a = await h.appToken('appA'); const b = await h.appToken('appB')
  const xml = linearProcessXml({ key: 'order', steps: [{ type: 'userTask', id: 'approve' }] })
  console.log('deployA', (await h.deploy(a, xml, 'order')).status, 'deployB', (await h.deploy(b, xml, 'order')).status)
  const piB = (await h.call(b, 'POST', '/process-definition/key/order/start', { variables: { s: { value: 'secret-of-b', type: 'String' } } })).json as any
  console.log('piB', piB?.id, piB?.tenantId)
  const show = async (label: string, p: Promise<any>) => { const r = await p; console.log(label.padEnd(40), r.status, r.text.slice(0, 160).replace(/\n/g,' ')) }
  await show('GET /task tenantIdIn=B', h.call(a, 'GET', '/task?tenantIdIn=tenantB'))
  await show('GET /task dup', h.call(a, 'GET', '/task?tenantIdIn=tenantB&tenantIdIn=tenantA'))
  await show('GET /process-instance/{B}', h.call(a, 'GET', `/process-instance/${piB.id}`))
  await show('HEAD /process-instance/{B}', h.call(a, 'HEAD', `/process-instance/${piB.id}`))
  await show('GET /engine/default/process-instance/{B}', h.call(a, 'GET', `/engine/default/process-instance/${piB.id}`))
  await show('GET /process-instance/{B}/variables', h.call(a, 'GET', `/process-instance/${piB.id}/variables`))
  await show('POST /process-instance text/plain', h.call(a, 'POST', '/process-instance', '{"tenantIdIn":["tenantB"]}', { 'content-type': 'text/plain' }))
  await show('POST /process-instance dupkeys', h.call(a, 'POST', '/process-instance', '{"tenantIdIn":["tenantA"],"tenantIdIn":["tenantB"]}', { 'content-type': 'application/json' }))
  await show('POST /process-instance orQueries', h.call(a, 'POST', '/process-instance', { orQueries: [{ tenantIdIn: ['tenantB'] }] }))
  await show('POST /message tenantB', h.call(a, 'POST', '/message', { messageName: 'x', tenantId: 'tenantB' }))
  await show('POST /message pid B', h.call(a, 'POST', '/message', { messageName: 'x', processInstanceId: piB.id }))
  await show('GET /variable-instance?processInstanceIdIn', h.call(a, 'GET', `/variable-instance?processInstanceIdIn=${piB.id}`))
  await show('GET /history/variable-instance', h.call(a, 'GET', `/history/variable-instance?processInstanceId=${piB.id}`))
  await show('GET override', h.call(a, 'GET', `/process-instance?maxResults=1`, undefined, { 'x-http-method-override': 'DELETE' }))
  await show('GET /process-definition/key/order (A)', h.call(a, 'GET', `/process-definition/key/order`))
  await show('GET /process-definition/key/order/tenant-id/tenantB', h.call(a, 'GET', `/process-definition/key/order/tenant-id/tenantB`))
  await show('x-request-id injection', h.call(a, 'GET', `/version`, undefined, { 'x-request-id': 'a\tb' }))
  const bnd = 'AAA'
  const inner = `\r\n--BBB\r\nContent-Disposition: form-data; name="tenant-id"\r\n\r\ntenantB\r\n--BBB\r\nContent-Disposition: form-data; name="evil.bpmn"; filename="evil.bpmn"\r\n\r\n${xml}\r\n--BBB--\r\n`
  const body = `--AAA\r\nContent-Disposition: form-data; name="deployment-name"\r\n\r\nevil${inner}\r\n--AAA--\r\n`
  await show('multipart boundary confusion', h.call(a, 'POST', '/deployment/create', body, { 'content-type': 'multipart/form-data; boundary=AAA; boundary=BBB' }))
  const reqs = (h.engine as any).requests ?? (h.engine as any).requestLog
  console.log('engine keys', Object.keys(h.engine))
} finally { await h.close() }
