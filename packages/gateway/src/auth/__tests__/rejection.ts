/** What an authentication refusal carries (a `C7AuthError` as the tests read it). */
export interface Rejection {
  readonly code: string
  readonly status: number
  readonly message: string
  readonly headers: Record<string, string>
}

/** The error `p` rejects with; fails the test when `p` resolves. */
export async function rejection(p: Promise<unknown>): Promise<Rejection> {
  try {
    await p
  } catch (err) {
    return err as Rejection
  }
  throw new Error('expected a rejection')
}
