import { execFile } from 'node:child_process'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'

const run = promisify(execFile)

/** A throw-away certificate authority for mTLS tests. */
export interface TestCa {
  caPem: string
  /** Issues a P-256 leaf certificate `CN=<commonName>`; `server` adds SAN `IP:127.0.0.1`. */
  issue(commonName: string, kind: 'server' | 'client'): Promise<{ certPem: string; keyPem: string }>
}

/**
 * Creates a CA with the `openssl` CLI (node:crypto can verify but not create X.509 certificates).
 * Files live in a temp dir that is removed after each step.
 *
 * @example
 * ```ts
 * const ca = await createTestCa()
 * const server = await ca.issue('localhost', 'server') // for an https gateway
 * const client = await ca.issue('worker-a', 'client') // for tls_client_auth
 * ```
 */
export async function createTestCa(): Promise<TestCa> {
  const dir = await mkdtemp(join(tmpdir(), 'c7auth-ca-'))
  try {
    await run('openssl', [
      'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes',
      '-keyout', join(dir, 'ca.key'), '-out', join(dir, 'ca.crt'), '-days', '2',
      '-subj', '/CN=c7auth test CA',
      '-addext', 'basicConstraints=critical,CA:TRUE',
      '-addext', 'keyUsage=critical,keyCertSign,cRLSign',
    ]) // prettier-ignore
    const caPem = await readFile(join(dir, 'ca.crt'), 'utf8')
    const caKeyPem = await readFile(join(dir, 'ca.key'), 'utf8')
    let serial = 1
    return {
      caPem,
      async issue(commonName, kind) {
        if (!/^[\w.@-]+$/.test(commonName)) throw new Error('commonName: use [A-Za-z0-9_.@-]')
        const work = await mkdtemp(join(tmpdir(), 'c7auth-leaf-'))
        try {
          const f = (name: string): string => join(work, name)
          await writeFile(f('ca.crt'), caPem)
          await writeFile(f('ca.key'), caKeyPem, { mode: 0o600 })
          await writeFile(
            f('ext.cnf'),
            kind === 'server'
              ? 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n'
              : 'extendedKeyUsage=clientAuth\n',
          )
          await run('openssl', [
            'req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes',
            '-keyout', f('leaf.key'), '-out', f('leaf.csr'), '-subj', `/CN=${commonName}`,
          ]) // prettier-ignore
          serial += 1
          await run('openssl', [
            'x509', '-req', '-in', f('leaf.csr'), '-CA', f('ca.crt'), '-CAkey', f('ca.key'),
            '-set_serial', String(serial), '-days', '2', '-out', f('leaf.crt'),
            '-extfile', f('ext.cnf'),
          ]) // prettier-ignore
          return {
            certPem: await readFile(f('leaf.crt'), 'utf8'),
            keyPem: await readFile(f('leaf.key'), 'utf8'),
          }
        } finally {
          await rm(work, { recursive: true, force: true })
        }
      },
    }
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
}
