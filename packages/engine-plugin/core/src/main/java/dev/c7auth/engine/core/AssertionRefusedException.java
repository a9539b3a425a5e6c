package dev.c7auth.engine.core;

/** Thrown by {@link AssertionVerifier#verify(String)}; carries only the {@link Refusal} reason. */
public final class AssertionRefusedException extends Exception {
  private static final long serialVersionUID = 1L;

  private final Refusal refusal;

  /**
   * @param refusal why
   * @param cause the library exception, for debug logs only (never rendered to the client)
   */
  public AssertionRefusedException(Refusal refusal, Throwable cause) {
    super(refusal.name(), cause, false, false);
    this.refusal = refusal;
  }

  public AssertionRefusedException(Refusal refusal) {
    this(refusal, null);
  }

  public Refusal refusal() {
    return refusal;
  }
}
