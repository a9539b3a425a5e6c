package dev.c7auth.engine.core;

/**
 * Why an assertion was refused. Each reason maps to one stable {@code C7AUTH_*} code and a fixed
 * public message; the message never contains token content, claims or key material.
 */
public enum Refusal {
  /** No {@code Authorization: Bearer} header (or more than one Authorization header). */
  MISSING("C7AUTH_TOKEN_MISSING", "A bearer assertion from the c7auth gateway is required."),
  /** The header or token is larger than the configured limit; refused before parsing. */
  OVERSIZED("C7AUTH_TOKEN_INVALID", "The assertion is too large."),
  /** Not a compact JWS, or its header is unusable. */
  MALFORMED("C7AUTH_TOKEN_INVALID", "The assertion is malformed."),
  /** {@code alg} is none, HMAC or any algorithm outside the configured asymmetric list. */
  ALGORITHM("C7AUTH_TOKEN_INVALID", "The assertion's signature algorithm is not accepted."),
  /** The {@code typ} header is not the c7auth assertion type. */
  TYPE("C7AUTH_TOKEN_INVALID", "The token is not a c7auth assertion."),
  /** No trusted key matches the token's key id and algorithm. */
  UNKNOWN_KEY("C7AUTH_TOKEN_INVALID", "The assertion was signed with an unknown key."),
  /** A trusted key was found but the signature does not verify. */
  BAD_SIGNATURE("C7AUTH_TOKEN_INVALID", "The assertion's signature is invalid."),
  /** {@code exp} is in the past (beyond the clock skew). */
  EXPIRED("C7AUTH_TOKEN_EXPIRED", "The assertion has expired."),
  /** {@code iat}/{@code nbf} in the future, or {@code exp - iat} above the maximum lifetime. */
  LIFETIME("C7AUTH_TOKEN_INVALID", "The assertion's lifetime is not accepted."),
  /** {@code aud} is not exactly this engine. */
  AUDIENCE("C7AUTH_TOKEN_INVALID", "The assertion is not meant for this engine."),
  /** {@code iss} is not the configured gateway. */
  ISSUER("C7AUTH_TOKEN_INVALID", "The assertion was not issued by the trusted gateway."),
  /** A required claim is missing or has the wrong shape (user id, groups, tenants, jti, iat, exp). */
  CLAIMS("C7AUTH_TOKEN_INVALID", "The assertion's claims are invalid."),
  /** The JWKS could not be fetched; fail closed. */
  KEYS_UNAVAILABLE("C7AUTH_JWKS_UNAVAILABLE", "The gateway's signing keys are unavailable."),
  /** Basic fallback is on and the engine's HTTP Basic provider refused the credentials. */
  BASIC_REFUSED("C7AUTH_BASIC_INVALID", "The user name or password is invalid."),
  /** The plugin has no (valid) configuration; every request is refused. */
  NOT_CONFIGURED("C7AUTH_PLUGIN_NOT_CONFIGURED", "The c7auth engine plugin is not configured.");

  private final String code;
  private final String message;

  Refusal(String code, String message) {
    this.code = code;
    this.message = message;
  }

  /** The stable {@code C7AUTH_*} code for the response body. */
  public String code() {
    return code;
  }

  /** The fixed public message for the response body. */
  public String message() {
    return message;
  }
}
