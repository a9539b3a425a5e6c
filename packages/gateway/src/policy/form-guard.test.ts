import { describe, expect, it } from 'vitest'
import { formReferenceVerdict } from './form-guard.js'

const ref = (binding: string, version: number | null = null) => ({
  key: null,
  camundaFormRef: { key: 'invoice', binding, version },
  contextPath: null,
})

describe('formReferenceVerdict (T29)', () => {
  it('forwards form keys and references bound to the deployment or a version', () => {
    expect(
      formReferenceVerdict({ key: 'embedded:deployment:a.html', contextPath: null }, false),
    ).toEqual({ kind: 'forward' })
    expect(formReferenceVerdict({ key: null, camundaFormRef: null }, false)).toEqual({
      kind: 'forward',
    })
    expect(formReferenceVerdict(ref('deployment'), false)).toEqual({ kind: 'forward' })
    expect(formReferenceVerdict(ref('version', 3), false)).toEqual({ kind: 'forward' })
  })

  it('refuses `latest` with the engine’s own "no form definition" 404 unless the engine checks tenants', () => {
    expect(formReferenceVerdict(ref('latest'), false)).toEqual({
      kind: 'refuse',
      answer: {
        status: 404,
        body: {
          type: 'InvalidRequestException',
          message:
            'No Camunda Form Definition was found for Camunda Form Ref: CamundaFormRefImpl [key=invoice, binding=latest, version=null]',
          code: null,
        },
      },
    })
    expect(formReferenceVerdict(ref('latest'), true)).toEqual({ kind: 'forward' })
  })

  it('names the form like the engine does (Operaton: operatonFormRef)', () => {
    const verdict = formReferenceVerdict(
      { key: null, operatonFormRef: { key: 'k', binding: 'latest', version: null } },
      false,
    )
    expect(verdict.kind === 'refuse' && (verdict.answer.body as { message: string }).message).toBe(
      'No Operaton Form Definition was found for Operaton Form Ref: OperatonFormRefImpl [key=k, binding=latest, version=null]',
    )
  })

  it('fails closed on unknown bindings and unreadable form data', () => {
    expect(formReferenceVerdict(ref('newest'), true).kind).toBe('refuse')
    expect(formReferenceVerdict('<html>', false).kind).toBe('refuse')
    expect(formReferenceVerdict({ key: null, camundaFormRef: 'latest' }, false).kind).toBe('refuse')
  })
})
